//! One query: DataQuery JSON, time range and interval, then its plan.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vllm_grafana::fuzzing::query(data);
});
