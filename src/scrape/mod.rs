//! Scraping a vLLM `/metrics` endpoint, for `check` and direct mode alike:
//! the target ([`ScrapeTarget`]: parsed and normalised once), the fetch with
//! its limits, redirect policy and content checks ([`Fetcher`]), the
//! classification of failures ([`ScrapeFailure`]), and turning one scrape
//! into stored samples plus Prometheus's `up`, `scrape_duration_seconds`
//! and `scrape_samples_scraped`, with staleness ([`record`]).

mod failure;
mod fetch;
mod samples;
mod target;

pub use failure::{NotText, ScrapeError, ScrapeFailure};
pub use fetch::{
    check_text, classify, escape, page_summary, Checked, Fetcher, Limits, MAX_REDIRECTS,
};
pub use samples::{is_created_series, ScrapeSamples};
pub use target::{
    without_credentials, Scheme, ScrapeTarget, TargetCase, TargetError, DEFAULT_PATH,
    VLLM_DEFAULT_PORT,
};

use crate::catalog::names;
use crate::store::{IngestStats, Store, StoreError, TargetKey};

/// The outcome of one scrape, stored as Prometheus's synthetic series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScrapeReport {
    pub up: bool,
    pub duration_seconds: f64,
    pub samples_scraped: usize,
}

/// Stores one scrape of `target` taken at `ts_ms` the way Prometheus's
/// scrape loop does: a successful scrape's samples (`_created` dropped;
/// series missing since the last scrape go stale), or for a failed one a
/// staleness marker on every series; then `up` and the `scrape_*` series.
pub fn record(
    store: &Store,
    target: &TargetKey,
    ts_ms: i64,
    text: Option<&str>,
    report: &ScrapeReport,
) -> Result<IngestStats, StoreError> {
    let stats = match text {
        Some(text) => store.ingest(target, ts_ms, ScrapeSamples::new(text))?,
        None => IngestStats {
            stale_markers: store.mark_down(target, ts_ms)?,
            ..IngestStats::default()
        },
    };
    record_report(store, target, ts_ms, report)?;
    Ok(stats)
}

/// Appends `up`, `scrape_duration_seconds` and `scrape_samples_scraped`
/// for the scrape at `ts_ms` (after its samples or its staleness markers).
pub fn record_report(
    store: &Store,
    target: &TargetKey,
    ts_ms: i64,
    report: &ScrapeReport,
) -> Result<(), StoreError> {
    let up = if report.up { 1.0 } else { 0.0 };
    store.append(
        target,
        ts_ms,
        &[
            (names::UP, up),
            (names::SCRAPE_DURATION_SECONDS, report.duration_seconds),
            (names::SCRAPE_SAMPLES_SCRAPED, report.samples_scraped as f64),
        ],
    )
}
