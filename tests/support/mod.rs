//! Real parts for integration tests and benchmarks: a Prometheus server, the
//! vLLM simulator, the plugin executable driven like Grafana drives it, an
//! independent Arrow frame reader, and loopback servers that misbehave on
//! purpose. Include with `mod support;` (tests) or
//! `#[path = "../tests/support/mod.rs"] mod support;` (benches).
#![allow(dead_code)]

pub mod answers;
pub mod frames;
pub mod grafana;
pub mod hostile;
pub mod procfs;
pub mod prometheus;
/// The blocking Prometheus helper that [`prometheus`] wraps.
#[path = "../common/prometheus.rs"]
pub mod server;
pub mod stubs;
pub mod tls;
pub mod victoria;
pub mod vllm;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A benchmark's `main`: runs `run` on a multi-threaded runtime and exits
/// with status 1, naming the bench, when it fails.
pub fn bench_main<F>(name: &str, run: F)
where
    F: std::future::Future<Output = Result<(), String>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run) {
        eprintln!("{name} bench failed: {e}");
        std::process::exit(1);
    }
}

/// Sends `signal` (e.g. "INT", "TERM") to `child` and waits at most `limit`
/// for it to exit; its status, or an error naming what was ignored (the
/// child is then killed).
pub fn signal_and_wait(
    child: &mut std::process::Child,
    signal: &str,
    limit: Duration,
) -> Result<std::process::ExitStatus, String> {
    let sent = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .map_err(|e| format!("kill: {e}"))?;
    if !sent.success() {
        return Err(format!("kill -{signal} failed: {sent}"));
    }
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            return Err(format!("SIG{signal} ignored for {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

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
