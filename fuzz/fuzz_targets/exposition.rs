//! The exposition parser (pull parser, strict and lenient family grouping)
//! and the store's ingestion of what it yields.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vllm_grafana::fuzzing::exposition(data);
});
