//! Datasource settings: jsonData plus URL, basic auth and secure fields.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vllm_grafana::fuzzing::settings(data);
});
