//! Real parts for integration tests and benchmarks: a Prometheus server, the
//! vLLM simulator, the plugin executable driven like Grafana drives it, an
//! independent Arrow frame reader, and loopback servers that misbehave on
//! purpose. Include with `mod support;` (tests) or
//! `#[path = "../tests/support/mod.rs"] mod support;` (benches).
#![allow(dead_code)]

pub mod frames;
pub mod grafana;
pub mod hostile;
pub mod prometheus;
/// The blocking Prometheus helper that [`prometheus`] wraps.
#[path = "../common/prometheus.rs"]
pub mod server;
pub mod stubs;
pub mod vllm;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Polls `check` every 100 ms until it returns `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
