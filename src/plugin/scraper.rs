//! Direct mode's scraper: fetches each target's metrics page, enforces the
//! body and series limits, and stores the samples with Prometheus' `up`,
//! `scrape_duration_seconds` and `scrape_samples_scraped`.

use super::settings::DirectSettings;
use crate::store::{ScrapeReport, ScrapeSamples, Store, TargetKey};
use serde_json::json;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The `job` label of every scraped series, as in Prometheus configs.
pub const JOB: &str = "vllm";

/// How far [`Scraper::scrape`] may stamp samples before the scrape.
const MAX_BACKDATE_MS: i64 = 60_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The last scrape of one target.
#[derive(Clone, Debug, Default)]
struct Status {
    up: Option<bool>,
    last_scrape_ms: Option<i64>,
    duration_seconds: f64,
    samples: usize,
    last_error: Option<String>,
}

/// One scrape target.
pub struct Target {
    pub url: String,
    pub key: TargetKey,
    status: Mutex<Status>,
    /// Serialises scrapes of this target (the store wants increasing times).
    scraping: tokio::sync::Mutex<()>,
}

/// What one scrape gave: the body on success, or why it failed.
pub type Outcome = Result<Arc<String>, String>;

/// Everything the scrape loop and the queries share.
pub struct Scraper {
    pub store: Arc<Store>,
    pub targets: Vec<Target>,
    client: reqwest::Client,
    timeout: Duration,
    max_body_bytes: usize,
    series_limit: usize,
}

/// `host:port` of a URL, as Prometheus' `instance` label.
fn instance_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port_or_known_default() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            }
        }
        Err(_) => url.to_string(),
    }
}

/// An error with its causes ("... : connection refused").
fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_connect() {
        "cannot connect".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

impl Scraper {
    pub fn new(
        store: Arc<Store>,
        settings: &DirectSettings,
        timeout: Duration,
    ) -> Result<Scraper, String> {
        let client = settings
            .tls
            .apply(reqwest::Client::builder())
            .map_err(|e| e.to_string())?
            .timeout(timeout)
            .user_agent(concat!("vllm-grafana/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let targets = settings
            .targets
            .iter()
            .map(|url| Target {
                url: url.clone(),
                key: TargetKey::new(JOB, instance_of(url)),
                status: Mutex::new(Status::default()),
                scraping: tokio::sync::Mutex::new(()),
            })
            .collect();
        Ok(Scraper {
            store,
            targets,
            client,
            timeout,
            max_body_bytes: settings.max_body_bytes,
            series_limit: settings.series_limit,
        })
    }

    /// Scrapes every target concurrently; outcomes in target order.
    /// `as_of` stamps the samples earlier than now (see [`Scraper::scrape`]).
    pub async fn scrape_all(&self, as_of: Option<i64>) -> Vec<Outcome> {
        futures_util::future::join_all(self.targets.iter().map(|t| self.scrape(t, as_of))).await
    }

    /// The metrics page, within the body limit.
    async fn fetch(&self, url: &str) -> Result<String, String> {
        let mut resp = self
            .client
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "text/plain;version=0.0.4;q=1,*/*;q=0.1",
            )
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let too_large = || {
            format!(
                "the metrics page is larger than maxBodyBytes ({} bytes)",
                self.max_body_bytes
            )
        };
        if resp
            .content_length()
            .is_some_and(|n| n > self.max_body_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| "the metrics page is not UTF-8 text".to_string())
    }

    /// Scrapes one target and stores the result. The samples are stamped
    /// with the scrape's start, or with `as_of` when that is at most a minute
    /// earlier and after the target's previous scrape: a query for "now"
    /// that triggers the first scrape then sees its values.
    pub async fn scrape(&self, target: &Target, as_of: Option<i64>) -> Outcome {
        let _one_at_a_time = target.scraping.lock().await;
        let now = now_ms();
        let previous = target
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_scrape_ms;
        let ts = match as_of {
            Some(t) if t <= now && now - t <= MAX_BACKDATE_MS => {
                previous.map_or(t, |p| t.max(p + 1).min(now))
            }
            _ => now,
        };
        let started = Instant::now();
        let fetched = match tokio::time::timeout(self.timeout, self.fetch(&target.url)).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no answer within {} s (the datasource timeout)",
                self.timeout.as_secs_f64()
            )),
        };
        let store = Arc::clone(&self.store);
        let key = target.key.clone();
        let limit = self.series_limit;
        let duration = started.elapsed().as_secs_f64();
        let stored = tokio::task::spawn_blocking(move || -> (Outcome, usize) {
            let result = fetched.and_then(|text| {
                let samples = ScrapeSamples::new(&text).count();
                if samples > limit {
                    return Err(format!(
                        "the scrape has {samples} samples, more than seriesLimit ({limit}): raise seriesLimit or reduce the target's series"
                    ));
                }
                store
                    .ingest(&key, ts, ScrapeSamples::new(&text))
                    .map_err(|e| format!("cannot store the scrape: {e}"))?;
                Ok((Arc::new(text), samples))
            });
            let (outcome, samples) = match result {
                Ok((text, samples)) => (Ok(text), samples),
                Err(e) => {
                    let _ = store.mark_down(&key, ts);
                    (Err(e), 0)
                }
            };
            let report = ScrapeReport {
                up: outcome.is_ok(),
                duration_seconds: duration,
                samples_scraped: samples,
            };
            let _ = store.record_scrape(&key, ts, &report);
            (outcome, samples)
        })
        .await;
        let (outcome, samples) =
            stored.unwrap_or_else(|e| (Err(format!("the scrape was interrupted: {e}")), 0));
        let mut status = target.status.lock().unwrap_or_else(PoisonError::into_inner);
        status.up = Some(outcome.is_ok());
        status.last_scrape_ms = Some(ts);
        status.duration_seconds = duration;
        status.samples = samples;
        if let Err(e) = &outcome {
            tracing::debug!(target = %target.url, error = %e, "scrape failed");
            status.last_error = Some(e.clone());
        } else {
            status.last_error = None;
        }
        outcome
    }

    /// Every target's last scrape, for the `targets` resource.
    pub fn status_json(&self) -> serde_json::Value {
        let list: Vec<serde_json::Value> = self
            .targets
            .iter()
            .map(|t| {
                let s = t
                    .status
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
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
                    "lastError": s.last_error,
                })
            })
            .collect();
        json!(list)
    }
}
