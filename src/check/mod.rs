//! `vllm-grafana check`: fetch and parse targets, then say what each one is
//! and what is wrong with it: a vLLM server, or the NVIDIA DCGM exporter
//! that reports its GPUs.

mod fetch;
mod gpu;
mod render;
mod report;

pub use fetch::{fetch, fetcher, Fetched, Source};
pub use gpu::{DcgmReport, GpuReport};
pub use render::render_text;
pub use report::{Endpoint, FamilySummary, KeyValues, TargetReport};

use crate::catalog::sniff::sniff;
use crate::exposition::{parse, Mode};
use crate::scrape::{check_text, Fetcher, Limits, ScrapeFailure};
use std::time::{Duration, Instant};

/// Check every target concurrently; reports come back in argument order.
pub async fn check_all(targets: &[String], timeout: Duration) -> Vec<TargetReport> {
    let fetcher = match fetcher(timeout) {
        Ok(f) => std::sync::Arc::new(f),
        Err(e) => {
            return targets
                .iter()
                .map(|t| {
                    TargetReport::failed(
                        Source::parse(t).display(),
                        ScrapeFailure::Connect(e.clone()),
                        0.0,
                    )
                })
                .collect();
        }
    };
    let tasks = targets.iter().map(|arg| {
        let fetcher = std::sync::Arc::clone(&fetcher);
        let source = Source::parse(arg);
        async move { check_one(&fetcher, &source).await }
    });
    futures_join_all(tasks).await
}

/// Check one source.
pub async fn check_one(fetcher: &Fetcher, source: &Source) -> TargetReport {
    let start = Instant::now();
    let fetched = fetch(fetcher, source).await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    match fetched {
        Err(e) => TargetReport::failed(source.display(), e, ms),
        Ok(f) => report_for_text(source.display(), &f.body, ms),
    }
}

/// Build a report from exposition text already in hand. Text in which no
/// line is a sample is refused with the same words as a live scrape.
pub fn report_for_text(target: String, body: &str, fetch_ms: f64) -> TargetReport {
    let limits = Limits::for_check(Duration::ZERO);
    if let Err(e) = check_text(body, &limits) {
        return TargetReport::failed(target, e, fetch_ms);
    }
    match parse(body, Mode::Lenient) {
        Ok(exp) => {
            let sniffed = sniff(&exp);
            TargetReport::from_scrape(target, &exp, sniffed, body.len(), fetch_ms)
        }
        Err(e) => TargetReport::failed(target, ScrapeFailure::Transport(e.to_string()), fetch_ms),
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
