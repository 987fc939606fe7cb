//! Direct mode's scrape loops: one per target, each fetching with the
//! shared [`crate::scrape`] fetcher and storing the result with `up` and the
//! `scrape_*` series. Queries and health checks never scrape themselves:
//! they read what the loops have stored, so no request waits on a target.
//!
//! A target that breaks a limit is marked down for that scrape with a
//! [`ScrapeError`] naming the target, the limit and the setting to raise; the
//! other targets are unaffected.

use super::settings::DirectSettings;
use crate::catalog::sniff;
use crate::exposition;
use crate::scrape::{self, Fetcher, Limits, ScrapeError, ScrapeFailure, ScrapeReport};
use crate::store::{Store, TargetKey};
use serde_json::json;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The `job` label of every scraped series, as in Prometheus configs.
pub const JOB: &str = "vllm";

/// How far a target's first scrape may be stamped before it ran (see
/// [`Scraper::note_query_time`]).
const MAX_BACKDATE_MS: i64 = 60_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What a target's scrapes say it is (sniffed when its shape changes).
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub vllm: bool,
    /// An NVIDIA DCGM exporter (GPU metrics beside vLLM), not a broken vLLM.
    pub gpus: bool,
    /// The vLLM release range, when it is vLLM.
    pub release: Option<String>,
    pub models: Vec<String>,
}

/// The last scrape of one target.
#[derive(Clone, Debug, Default)]
pub struct Status {
    pub up: Option<bool>,
    pub last_scrape_ms: Option<i64>,
    pub duration_seconds: f64,
    pub samples: usize,
    /// Samples of the last scrape repeating a series already in it (dropped).
    pub duplicates: usize,
    pub last_error: Option<String>,
    /// When the scrape now under way started, if one is.
    pub scraping_since: Option<Instant>,
    pub identity: Option<Identity>,
    /// The sample count `identity` was sniffed at.
    identified_at: usize,
}

/// One scrape target.
pub struct Target {
    pub url: String,
    pub key: TargetKey,
    status: Mutex<Status>,
}

impl Target {
    pub fn status(&self) -> Status {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// What one scrape gave: the number of samples stored, or why it failed.
pub type Outcome = Result<usize, ScrapeError>;

/// Everything the scrape loops, queries and health checks share.
pub struct Scraper {
    pub store: Arc<Store>,
    pub targets: Vec<Target>,
    fetcher: Fetcher,
    /// The earliest query time seen (Unix ms; `i64::MAX` before any).
    query_time: AtomicI64,
    /// Has any query noted its time?
    queried: tokio::sync::watch::Sender<bool>,
    /// How many targets have finished at least one scrape.
    first_round: tokio::sync::watch::Sender<usize>,
}

/// How long a fresh datasource's loops hold their first scrapes for the
/// query that created it to note its time.
const FIRST_SCRAPE_HOLD: Duration = Duration::from_millis(100);

impl Scraper {
    pub fn new(
        store: Arc<Store>,
        settings: &DirectSettings,
        timeout: Duration,
    ) -> Result<Scraper, String> {
        let builder = settings
            .tls
            .apply(reqwest::Client::builder())
            .map_err(|e| e.to_string())?;
        let fetcher = Fetcher::new(
            builder,
            Limits {
                timeout,
                max_body_bytes: settings.max_body_bytes,
                series_limit: settings.series_limit,
                max_label_value_bytes: settings.max_label_value_bytes,
            },
        )?;
        let targets = settings
            .targets
            .iter()
            .map(|target| Target {
                url: target.url(),
                key: TargetKey::new(JOB, target.instance()),
                status: Mutex::new(Status::default()),
            })
            .collect();
        Ok(Scraper {
            store,
            targets,
            fetcher,
            query_time: AtomicI64::new(i64::MAX),
            queried: tokio::sync::watch::channel(false).0,
            first_round: tokio::sync::watch::channel(0).0,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.fetcher.limits().timeout
    }

    /// A query for time `t_ms` arrived: a target's first scrape that ends
    /// after it is stamped `t_ms` (when at most a minute earlier), so that a
    /// query for "now" on a fresh datasource sees the values it waited for.
    pub fn note_query_time(&self, t_ms: i64) {
        self.query_time.fetch_min(t_ms, Ordering::Relaxed);
        self.queried
            .send_if_modified(|q| !std::mem::replace(q, true));
    }

    /// Before the first scrapes: gives the request that created the
    /// datasource a moment to note its query time.
    pub async fn hold_first_scrape(&self) {
        let mut queried = self.queried.subscribe();
        let _ = tokio::time::timeout(FIRST_SCRAPE_HOLD, queried.wait_for(|q| *q)).await;
    }

    /// Waits until every target has finished one scrape, or until `deadline`.
    /// Returns whether all have.
    pub async fn first_round_done(&self, deadline: tokio::time::Instant) -> bool {
        let all = self.targets.len();
        let mut done = self.first_round.subscribe();
        tokio::time::timeout_at(deadline, done.wait_for(|n| *n >= all))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Scrapes one target and stores the result. Only the target's own loop
    /// calls this, so scrapes of one target never overlap.
    pub async fn scrape(&self, target: &Target) -> Outcome {
        let started = Instant::now();
        let start_ms = now_ms();
        // What this scrape needs of the last one; `None` when it must sniff.
        let (last_scrape_ms, identified_at) = {
            let mut status = target.status.lock().unwrap_or_else(PoisonError::into_inner);
            status.scraping_since = Some(started);
            let identified = status.identity.as_ref().map(|_| status.identified_at);
            (status.last_scrape_ms, identified)
        };
        let fetched = self.fetcher.fetch(&target.url).await;
        let duration = started.elapsed().as_secs_f64();
        let ts = match last_scrape_ms {
            Some(p) => start_ms.max(p + 1),
            None => {
                let q = self.query_time.load(Ordering::Relaxed);
                if q <= start_ms && start_ms - q <= MAX_BACKDATE_MS {
                    q
                } else {
                    start_ms
                }
            }
        };
        let store = Arc::clone(&self.store);
        let key = target.key.clone();
        let limits = *self.fetcher.limits();
        let stored = tokio::task::spawn_blocking(move || {
            let checked = fetched.and_then(|text| {
                let checked = scrape::check_text(&text, &limits)?;
                Ok((text, checked))
            });
            let (text, samples) = match &checked {
                Ok((text, c)) => (Some(text.as_str()), c.samples),
                Err(_) => (None, 0),
            };
            let report = ScrapeReport {
                up: checked.is_ok(),
                duration_seconds: duration,
                samples_scraped: samples,
            };
            let stats = scrape::record(&store, &key, ts, text, &report)
                .map_err(|e| ScrapeFailure::Store(e.to_string()));
            // Sniffing parses the whole page again: only when its shape changed.
            let identity = match &checked {
                Ok((text, c)) if identified_at != Some(c.samples) => Some(identify(text)),
                _ => None,
            };
            let outcome = checked.and(stats).map(|s| (samples, s.duplicates));
            (outcome, identity)
        })
        .await;
        let (outcome, identity) =
            stored.unwrap_or_else(|e| (Err(ScrapeFailure::Interrupted(e.to_string())), None));
        let outcome = outcome.map_err(|kind| ScrapeError {
            url: target.url.clone(),
            kind,
        });
        {
            let mut status = target.status.lock().unwrap_or_else(PoisonError::into_inner);
            let first = status.up.is_none();
            status.up = Some(outcome.is_ok());
            status.last_scrape_ms = Some(ts);
            status.duration_seconds = duration;
            status.scraping_since = None;
            match &outcome {
                Ok((samples, duplicates)) => {
                    status.samples = *samples;
                    status.duplicates = *duplicates;
                    status.last_error = None;
                    if let Some(identity) = identity {
                        status.identity = Some(identity);
                        status.identified_at = *samples;
                    }
                }
                Err(e) => {
                    tracing::debug!(target = %target.url, error = %e, "scrape failed");
                    status.samples = 0;
                    status.duplicates = 0;
                    status.last_error = Some(e.to_string());
                }
            }
            if first {
                self.first_round.send_modify(|n| *n += 1);
            }
        }
        outcome.map(|(samples, _)| samples)
    }

    /// Every target's last scrape, for the `targets` resource.
    pub fn status_json(&self) -> serde_json::Value {
        let list: Vec<serde_json::Value> = self
            .targets
            .iter()
            .map(|t| {
                let s = t.status();
                json!({
                    "url": t.url,
                    "job": t.key.job,
                    "instance": t.key.instance,
                    "state": match s.up {
                        Some(true) => "up",
                        Some(false) => "down",
                        None => "unknown",
                    },
                    "lastScrapeMs": s.last_scrape_ms,
                    "scrapeDurationSeconds": s.duration_seconds,
                    "samples": s.samples,
                    "duplicateSamples": s.duplicates,
                    "lastError": s.last_error,
                })
            })
            .collect();
        json!(list)
    }
}

/// Which vLLM release and models a page shows.
fn identify(text: &str) -> Identity {
    let parsed = exposition::parse(text, exposition::Mode::Lenient);
    let sniffed = parsed.as_ref().map(sniff::sniff).unwrap_or_default();
    let gpus = parsed.as_ref().is_ok_and(|exp| {
        exp.families
            .iter()
            .any(|f| crate::catalog::dcgm::is_dcgm_name(f.name))
    });
    Identity {
        vllm: sniffed.is_vllm,
        gpus,
        release: sniffed.is_vllm.then(|| sniffed.range()),
        models: sniffed.models.into_iter().collect(),
    }
}
