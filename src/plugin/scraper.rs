//! Direct mode's scraper: fetches each target's metrics page, enforces the
//! per-target limits (time, body bytes, samples, label value bytes, redirect
//! policy), and stores the samples with Prometheus' `up`,
//! `scrape_duration_seconds` and `scrape_samples_scraped`.
//!
//! A target that breaks a limit is marked down for that scrape with a
//! [`ScrapeError`] naming the target, the limit and the setting to raise; the
//! other targets are unaffected.

use super::settings::DirectSettings;
use crate::store::{ScrapeReport, ScrapeSamples, Store, TargetKey};
use serde_json::json;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The `job` label of every scraped series, as in Prometheus configs.
pub const JOB: &str = "vllm";

/// How far [`Scraper::scrape`] may stamp samples before the scrape.
const MAX_BACKDATE_MS: i64 = 60_000;

/// Most redirects followed within one scrape (same host and port only).
pub const MAX_REDIRECTS: usize = 3;

/// Most bytes of an error page kept for the error message.
const ERROR_PAGE_BYTES: usize = 4096;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Why one scrape of one target failed; shown as `<url>: <reason>`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{url}: {kind}")]
pub struct ScrapeError {
    pub url: String,
    pub kind: ScrapeFailure,
}

/// What went wrong, with the limit and the setting that governs it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ScrapeFailure {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("{0}")]
    Transport(String),
    #[error("no complete answer within {secs} s: the scrape was abandoned (raise `timeout`, now {secs} s, if the target is just slow)")]
    Timeout { secs: f64 },
    #[error("refused a redirect: {0}")]
    Redirect(String),
    #[error("HTTP {status}{}", page.as_deref().map(|p| format!(": {p}")).unwrap_or_default())]
    Status {
        status: String,
        page: Option<String>,
    },
    #[error("the answer has Content-Encoding {0:?}, which the scraper does not decode (it asks for identity): serve the metrics uncompressed")]
    Encoding(String),
    #[error("the metrics page is larger than maxBodyBytes ({limit} bytes){}: raise maxBodyBytes or reduce the target's series", declared.map(|n| format!("; Content-Length says {n}")).unwrap_or_default())]
    BodyTooLarge { limit: usize, declared: Option<u64> },
    #[error("the metrics page is not UTF-8 text")]
    NotUtf8,
    #[error("the scrape has more than seriesLimit ({limit}) samples: raise seriesLimit or reduce the target's series")]
    TooManySamples { limit: usize },
    #[error("series {series:?} has a value of {bytes} bytes for label {label:?}, more than maxLabelValueBytes ({limit}): raise maxLabelValueBytes or fix the exporter")]
    LabelValueTooLong {
        series: String,
        label: String,
        bytes: usize,
        limit: usize,
    },
    #[error("cannot store the scrape: {0}")]
    Store(String),
    #[error("the scrape was interrupted: {0}")]
    Interrupted(String),
}

/// The last scrape of one target.
#[derive(Clone, Debug, Default)]
struct Status {
    up: Option<bool>,
    last_scrape_ms: Option<i64>,
    duration_seconds: f64,
    samples: usize,
    /// Samples of the last scrape repeating a series already in it (dropped).
    duplicates: usize,
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
pub type Outcome = Result<Arc<String>, ScrapeError>;

/// Per-target limits, from [`DirectSettings`] and the datasource `timeout`.
#[derive(Clone, Copy, Debug)]
struct Limits {
    timeout: Duration,
    max_body_bytes: usize,
    series_limit: usize,
    max_label_value_bytes: usize,
}

/// Everything the scrape loop and the queries share.
pub struct Scraper {
    pub store: Arc<Store>,
    pub targets: Vec<Target>,
    client: reqwest::Client,
    limits: Limits,
}

/// `host:port` of a URL, as Prometheus' `instance` label.
pub fn instance_of(url: &str) -> String {
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
    let mut out = e.to_string();
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

/// A transport error as a [`ScrapeFailure`].
fn failure_of(e: &reqwest::Error) -> ScrapeFailure {
    if e.is_redirect() {
        // The policy's own message is the innermost cause.
        let mut inner: &dyn std::error::Error = e;
        while let Some(next) = inner.source() {
            inner = next;
        }
        return ScrapeFailure::Redirect(inner.to_string());
    }
    if e.is_connect() {
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            causes.push(cause.to_string());
            source = cause.source();
        }
        return ScrapeFailure::Connect(causes.join(": "));
    }
    ScrapeFailure::Transport(describe(e))
}

/// Why the redirect policy refused a hop.
#[derive(Debug, thiserror::Error)]
enum RedirectRefusal {
    #[error("it points to {to}, another host or port: redirects are followed only within the target's own scheme, host and port; set the target to the final URL if it is trusted")]
    CrossHost { to: String },
    #[error(
        "more than {MAX_REDIRECTS} in a row (the last to {to}): set the target to the final URL"
    )]
    TooMany { to: String },
}

/// Follows at most [`MAX_REDIRECTS`] redirects, and only to the same scheme,
/// host and port as the configured URL: a target must not be able to send
/// the plugin's requests elsewhere (server-side request forgery).
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        let next = attempt.url();
        let same_origin = next.scheme() == first.scheme()
            && next.host_str() == first.host_str()
            && next.port_or_known_default() == first.port_or_known_default();
        if !same_origin {
            let refusal = RedirectRefusal::CrossHost {
                to: next.to_string(),
            };
            return attempt.error(refusal);
        }
        if attempt.previous().len() > MAX_REDIRECTS {
            let refusal = RedirectRefusal::TooMany {
                to: next.to_string(),
            };
            return attempt.error(refusal);
        }
        attempt.follow()
    })
}

/// A short, single-line account of an error page: its HTML `<title>`, or
/// the start of its text.
fn page_summary(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let lower = text.to_ascii_lowercase();
    let title = lower.find("<title>").and_then(|start| {
        let from = start + "<title>".len();
        let len = lower[from..].find("</title>")?;
        text.get(from..from + len)
    });
    let raw = title.unwrap_or(&text);
    let mut out = String::new();
    for word in raw.split_whitespace() {
        if out.len() + word.len() > 200 {
            out.push_str(" ...");
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().filter(|c| !c.is_control()));
    }
    (!out.is_empty()).then_some(out)
}

/// What one scrape's text holds, checked against the limits.
struct Checked {
    samples: usize,
}

/// Counts the samples (stopping as soon as the series limit is passed) and
/// checks every label value's length.
fn check_text(text: &str, limits: &Limits) -> Result<Checked, ScrapeFailure> {
    let mut samples = 0;
    for (name, labels, _) in ScrapeSamples::new(text) {
        samples += 1;
        if samples > limits.series_limit {
            return Err(ScrapeFailure::TooManySamples {
                limit: limits.series_limit,
            });
        }
        for (label, value) in labels.iter() {
            if value.len() > limits.max_label_value_bytes {
                return Err(ScrapeFailure::LabelValueTooLong {
                    series: name.to_string(),
                    label: label.to_string(),
                    bytes: value.len(),
                    limit: limits.max_label_value_bytes,
                });
            }
        }
    }
    Ok(Checked { samples })
}

impl Scraper {
    pub fn new(
        store: Arc<Store>,
        settings: &DirectSettings,
        timeout: Duration,
    ) -> Result<Scraper, String> {
        // The whole scrape (connect, headers, body) runs under one deadline
        // in `scrape`; the connect timeout only keeps a dead address from
        // holding a connection attempt open past it.
        let client = settings
            .tls
            .apply(reqwest::Client::builder())
            .map_err(|e| e.to_string())?
            .connect_timeout(timeout)
            .redirect(redirect_policy())
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
            limits: Limits {
                timeout,
                max_body_bytes: settings.max_body_bytes,
                series_limit: settings.series_limit,
                max_label_value_bytes: settings.max_label_value_bytes,
            },
        })
    }

    /// Scrapes every target concurrently; outcomes in target order.
    /// `as_of` stamps the samples earlier than now (see [`Scraper::scrape`]).
    pub async fn scrape_all(&self, as_of: Option<i64>) -> Vec<Outcome> {
        futures_util::future::join_all(self.targets.iter().map(|t| self.scrape(t, as_of))).await
    }

    /// The metrics page, within the body limit. Never buffers more than
    /// `maxBodyBytes` (plus one network chunk) of anything.
    async fn fetch(&self, url: &str) -> Result<String, ScrapeFailure> {
        let mut resp = self
            .client
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "text/plain;version=0.0.4;q=1,*/*;q=0.1",
            )
            // Nothing compressed: a small gzip body can inflate without bound.
            .header(reqwest::header::ACCEPT_ENCODING, "identity")
            .send()
            .await
            .map_err(|e| failure_of(&e))?;
        let status = resp.status();
        if !status.is_success() {
            // A little of the error page says what the server thinks is wrong.
            let mut page = Vec::new();
            while page.len() < ERROR_PAGE_BYTES {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        let room = ERROR_PAGE_BYTES - page.len();
                        page.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                    _ => break,
                }
            }
            return Err(ScrapeFailure::Status {
                status: status.to_string(),
                page: page_summary(&page),
            });
        }
        if let Some(encoding) = resp.headers().get(reqwest::header::CONTENT_ENCODING) {
            let encoding = String::from_utf8_lossy(encoding.as_bytes())
                .trim()
                .to_string();
            if !encoding.is_empty() && !encoding.eq_ignore_ascii_case("identity") {
                return Err(ScrapeFailure::Encoding(encoding));
            }
        }
        let limit = self.limits.max_body_bytes;
        if let Some(n) = resp.content_length().filter(|&n| n > limit as u64) {
            return Err(ScrapeFailure::BodyTooLarge {
                limit,
                declared: Some(n),
            });
        }
        // A declared length (already within the limit) is reserved at once.
        let declared = resp.content_length().map_or(0, |n| n as usize);
        let mut body = Vec::with_capacity(declared);
        while let Some(chunk) = resp.chunk().await.map_err(|e| failure_of(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(ScrapeFailure::BodyTooLarge {
                    limit,
                    declared: None,
                });
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| ScrapeFailure::NotUtf8)
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
        let limits = self.limits;
        let fetched = match tokio::time::timeout(limits.timeout, self.fetch(&target.url)).await {
            Ok(result) => result,
            Err(_) => Err(ScrapeFailure::Timeout {
                secs: limits.timeout.as_secs_f64(),
            }),
        };
        let store = Arc::clone(&self.store);
        let key = target.key.clone();
        let duration = started.elapsed().as_secs_f64();
        let stored = tokio::task::spawn_blocking(move || {
            let result = fetched.and_then(|text| {
                let checked = check_text(&text, &limits)?;
                let stats = store
                    .ingest(&key, ts, ScrapeSamples::new(&text))
                    .map_err(|e| ScrapeFailure::Store(e.to_string()))?;
                Ok((Arc::new(text), checked.samples, stats.duplicates))
            });
            let (outcome, samples, duplicates) = match result {
                Ok((text, samples, duplicates)) => (Ok(text), samples, duplicates),
                Err(e) => {
                    let _ = store.mark_down(&key, ts);
                    (Err(e), 0, 0)
                }
            };
            let report = ScrapeReport {
                up: outcome.is_ok(),
                duration_seconds: duration,
                samples_scraped: samples,
            };
            let _ = store.record_scrape(&key, ts, &report);
            (outcome, samples, duplicates)
        })
        .await;
        let (outcome, samples, duplicates) =
            stored.unwrap_or_else(|e| (Err(ScrapeFailure::Interrupted(e.to_string())), 0, 0));
        let outcome = outcome.map_err(|kind| ScrapeError {
            url: target.url.clone(),
            kind,
        });
        let mut status = target.status.lock().unwrap_or_else(PoisonError::into_inner);
        status.up = Some(outcome.is_ok());
        status.last_scrape_ms = Some(ts);
        status.duration_seconds = duration;
        status.samples = samples;
        status.duplicates = duplicates;
        if let Err(e) = &outcome {
            tracing::debug!(target = %target.url, error = %e, "scrape failed");
            status.last_error = Some(e.to_string());
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
                    "duplicateSamples": s.duplicates,
                    "lastError": s.last_error,
                })
            })
            .collect();
        json!(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(series: usize, label: usize) -> Limits {
        Limits {
            timeout: Duration::from_secs(1),
            max_body_bytes: 1 << 20,
            series_limit: series,
            max_label_value_bytes: label,
        }
    }

    #[test]
    fn text_checks_stop_at_the_series_limit_and_name_long_labels() {
        let text = "a 1\nb 2\n# HELP c x\nc{l=\"v\"} 3\n";
        assert_eq!(check_text(text, &limits(3, 10)).map(|c| c.samples), Ok(3));
        assert_eq!(
            check_text(text, &limits(2, 10)).err(),
            Some(ScrapeFailure::TooManySamples { limit: 2 })
        );
        let long = format!("ok 1\nbig{{x=\"1\",v=\"{}\"}} 1\n", "y".repeat(11));
        assert_eq!(
            check_text(&long, &limits(10, 10)).err(),
            Some(ScrapeFailure::LabelValueTooLong {
                series: "big".into(),
                label: "v".into(),
                bytes: 11,
                limit: 10
            })
        );
        let msg = ScrapeError {
            url: "http://h:1/metrics".into(),
            kind: ScrapeFailure::BodyTooLarge {
                limit: 5,
                declared: Some(9),
            },
        }
        .to_string();
        assert_eq!(msg, "http://h:1/metrics: the metrics page is larger than maxBodyBytes (5 bytes); Content-Length says 9: raise maxBodyBytes or reduce the target's series");
    }

    #[test]
    fn error_pages_are_summarised_on_one_line() {
        let html = b"<html><head><TITLE>502 Bad\n Gateway</TITLE></head><body>x</body></html>";
        assert_eq!(page_summary(html).as_deref(), Some("502 Bad Gateway"));
        assert_eq!(
            page_summary(b"  plain\r\n text\x07 ").as_deref(),
            Some("plain text")
        );
        assert_eq!(page_summary(b"   "), None);
        let long = "w ".repeat(500);
        assert!(page_summary(long.as_bytes()).is_some_and(|s| s.len() < 210));
    }
}
