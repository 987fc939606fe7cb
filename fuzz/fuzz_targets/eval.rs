//! PromQL: parse and evaluate (instant and range) over a small store
//! filled from real vLLM captures.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vllm_grafana::store::Store;

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        vllm_grafana::fuzzing::eval_store(&[
            include_str!(
                "../../tests/fixtures/vllm-metrics/01-v1-0.11-full-hardware-aware-router.txt"
            ),
            include_str!("../../tests/fixtures/vllm-metrics/03-v0-0.7-aibrix-runtime-doc.txt"),
        ])
    })
}

fuzz_target!(
    init: {
        // `promql-parser` panics on some inputs; `eval` catches those
        // panics and answers with a parse error. libFuzzer's panic hook
        // aborts before they can be caught, so let panics located in that
        // crate unwind; any other panic still aborts and is reported.
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_parser = info
                .location()
                .is_some_and(|l| l.file().contains("promql-parser"));
            if !in_parser {
                report(info);
            }
        }));
        let _ = store();
    },
    |data: &[u8]| {
        let _ = vllm_grafana::fuzzing::eval(store(), data);
    }
);
