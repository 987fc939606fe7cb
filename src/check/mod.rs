//! `vllm-grafana check`: fetch and parse targets, then say what each one is
//! and what is wrong with it.

mod fetch;
mod render;
mod report;

pub use fetch::{fetch, FetchError, Fetched, Target, MAX_BODY};
pub use render::render_text;
pub use report::{FamilySummary, KeyValues, TargetReport};

use crate::catalog::sniff::sniff;
use crate::exposition::{parse, Mode};
use std::time::{Duration, Instant};

/// Check every target concurrently; reports come back in argument order.
pub async fn check_all(targets: &[String], timeout: Duration) -> Vec<TargetReport> {
    let client = match reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return targets
                .iter()
                .map(|t| {
                    TargetReport::unreachable(t.clone(), FetchError::Other(e.to_string()), 0.0)
                })
                .collect();
        }
    };
    let tasks = targets.iter().map(|arg| {
        let client = client.clone();
        let target = Target::parse(arg);
        async move { check_one(&client, &target, timeout).await }
    });
    futures_join_all(tasks).await
}

/// Check one target.
pub async fn check_one(
    client: &reqwest::Client,
    target: &Target,
    timeout: Duration,
) -> TargetReport {
    let start = Instant::now();
    let fetched = fetch(client, target, timeout).await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    match fetched {
        Err(FetchError::Timeout(_)) => {
            TargetReport::unreachable(target.display(), FetchError::Timeout(timeout), ms)
        }
        Err(e) => TargetReport::unreachable(target.display(), e, ms),
        Ok(f) => report_for_text(target.display(), &f.body, ms),
    }
}

/// Build a report from exposition text already in hand.
pub fn report_for_text(target: String, body: &str, fetch_ms: f64) -> TargetReport {
    match parse(body, Mode::Lenient) {
        Ok(exp) => {
            if exp.families.is_empty() && !exp.bad_lines.is_empty() {
                let first = &exp.bad_lines[0];
                return TargetReport::unreachable(
                    target,
                    FetchError::NotPrometheus(format!(
                        "no valid line; line {}: {} near `{}`",
                        first.line, first.reason, first.excerpt
                    )),
                    fetch_ms,
                );
            }
            let sniffed = sniff(&exp);
            TargetReport::from_scrape(target, &exp, sniffed, body.len(), fetch_ms)
        }
        Err(e) => {
            TargetReport::unreachable(target, FetchError::NotPrometheus(e.to_string()), fetch_ms)
        }
    }
}

/// Await futures concurrently, keeping their order (small, dependency-free join).
async fn futures_join_all<F, T>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        match h.await {
            Ok(v) => out.push(v),
            // A panicking task is a bug; re-raise it rather than lose the target.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    out
}
