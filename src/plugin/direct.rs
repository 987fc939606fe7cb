//! Direct mode: the plugin scrapes vLLM endpoints itself ([`super::scraper`])
//! into the embedded [`crate::store`] and answers queries with
//! [`crate::eval`], shaped like Prometheus' answers.
//!
//! The scrape loops (one per target, in one task) start with the backend
//! and run while it lives: replacing the datasource instance (a settings
//! change) drops the backend, which stops them. Requests never scrape: a
//! query on a fresh datasource waits at most [`FIRST_SCRAPE_WAIT`] after its
//! creation for the first scrapes, a health check at most [`HEALTH_WAIT`],
//! and then each answers with what has been stored. For tests and
//! benchmarks only, [`history::ENV`] seeds the store from a file first.

use super::api;
use super::backend::{
    BackendError, HealthReport, InstantRequest, Labels, LiveSource, Point, QueryBackend,
    QueryResult, RangeRequest, ResultData, Series, SeriesFilter,
};
use super::history;
use super::scraper::{Scraper, Target};
use super::settings::{Settings, SettingsError};
use crate::eval::{self, EvalError, Value};
use crate::store::{Store, StoreConfig};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest a query waits, counted from the datasource's creation, for every
/// target's first scrape; then it answers with what is stored. Counting from
/// the creation means a cancelled and retried request never waits again.
pub const FIRST_SCRAPE_WAIT: Duration = Duration::from_millis(1500);
/// Longest a health check waits for targets that have not finished a scrape
/// yet (fewer when the scrape `timeout` is shorter), well within Grafana's
/// 30 s request deadline; targets still silent then are named as such.
pub const HEALTH_WAIT: Duration = Duration::from_secs(8);

pub struct DirectBackend {
    scraper: Arc<Scraper>,
    /// Until when queries wait for the first scrapes.
    first_scrapes_by: tokio::time::Instant,
    /// The scrape loop, stopped on drop.
    task: Option<tokio::task::AbortHandle>,
    /// The end of the last scrape of any target (Unix ms); its sender lives
    /// in the scrape loop, so live streams see it close when the loop stops.
    scrapes: tokio::sync::watch::Receiver<i64>,
    every: std::time::Duration,
    retention_secs: u64,
    /// With [`history::ENV`] set: becomes true once the history is read.
    history: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Drop for DirectBackend {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn eval_error(e: EvalError) -> BackendError {
    let status = match e {
        EvalError::Parse(_) | EvalError::Invalid(_) | EvalError::TooLong { .. } => 400,
        _ => 422,
    };
    BackendError::Eval {
        status,
        message: e.to_string(),
    }
}

fn labels_of(l: &eval::Labels) -> Labels {
    l.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn matrix(m: eval::Matrix) -> Vec<Series> {
    m.into_iter()
        .map(|s| Series {
            labels: labels_of(&s.labels),
            points: s
                .points
                .into_iter()
                .map(|(t_ms, v)| Point { t_ms, v })
                .collect(),
        })
        .collect()
}

fn result(data: ResultData) -> QueryResult {
    QueryResult {
        data,
        warnings: Vec::new(),
        infos: Vec::new(),
    }
}

impl DirectBackend {
    /// Starts scraping `settings.direct.targets` (when a runtime is running).
    pub fn new(settings: &Settings) -> Result<DirectBackend, SettingsError> {
        let direct = &settings.direct;
        let store = Arc::new(Store::new(StoreConfig {
            retention: direct.retention,
            ..StoreConfig::default()
        }));
        let scraper = Scraper::new(store, direct, settings.timeout).map_err(|reason| {
            SettingsError(vec![super::settings::FieldError {
                field: "targets".to_string(),
                reason,
            }])
        })?;
        let scraper = Arc::new(scraper);
        let every = direct.scrape_interval;
        let created = tokio::time::Instant::now();
        let (scraped, scrapes) = tokio::sync::watch::channel(0_i64);
        // Test and benchmark hook only (see `history`): read when set.
        let history_file = std::env::var_os(history::ENV);
        let (history_read, history) = match &history_file {
            Some(_) => {
                let (tx, rx) = tokio::sync::watch::channel(false);
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let task = tokio::runtime::Handle::try_current().ok().map(|rt| {
            let scraper = Arc::clone(&scraper);
            rt.spawn(async move {
                if let (Some(path), Some(read)) = (history_file, history_read) {
                    load_history(&scraper, path.into()).await;
                    read.send_replace(true);
                }
                // One loop per target, as in Prometheus: a target that takes
                // its whole timeout does not delay the others' scrapes. Each
                // scrape tells live streams (which coalesce the targets of a tick).
                let scraped = &scraped;
                scraper.hold_first_scrape().await;
                let loops = scraper.targets.iter().map(|target| {
                    let scraper = &scraper;
                    async move {
                        // The first tick is at once.
                        let mut ticks = tokio::time::interval(every);
                        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        loop {
                            ticks.tick().await;
                            let _ = scraper.scrape(target).await;
                            scraped.send_replace(now_ms());
                        }
                    }
                });
                futures_util::future::join_all(loops).await;
            })
            .abort_handle()
        });
        Ok(DirectBackend {
            scraper,
            first_scrapes_by: created + FIRST_SCRAPE_WAIT,
            task,
            scrapes,
            every,
            retention_secs: direct.retention.as_secs().max(60),
            history,
        })
    }

    /// On a fresh datasource, waits (within [`FIRST_SCRAPE_WAIT`] of its
    /// creation) for every target's first scrape; `as_of` is the query's time.
    async fn prime(&self, as_of: Option<i64>) {
        if let Some(t) = as_of {
            self.scraper.note_query_time(t);
        }
        if let Some(read) = &self.history {
            let mut read = read.clone();
            let _ = tokio::time::timeout(history::WAIT, read.wait_for(|done| *done)).await;
        }
        self.scraper.first_round_done(self.first_scrapes_by).await;
    }

    async fn evaluate<T, F>(&self, as_of: i64, f: F) -> Result<T, BackendError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, EvalError> + Send + 'static,
    {
        self.prime(Some(as_of)).await;
        let store = Arc::clone(&self.scraper.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| BackendError::Eval {
                status: 500,
                message: format!("the query was interrupted: {e}"),
            })?
            .map_err(eval_error)
    }

    /// Label sets of the series matching any of `filter.matchers` with
    /// samples between its `start` and `end` (by default the retained
    /// history up to now).
    async fn matching(&self, filter: &SeriesFilter) -> Result<Vec<Labels>, BackendError> {
        let bad = |message: String| BackendError::Eval {
            status: 400,
            message,
        };
        let time = |value: &Option<String>, name: &str| -> Result<Option<i64>, BackendError> {
            value
                .as_deref()
                .map(|t| {
                    api::parse_time(t).map_err(|e| bad(format!("invalid parameter {name:?}: {e}")))
                })
                .transpose()
        };
        let now = now_ms();
        let retained = self.retention_secs as i64 * 1000;
        let end = time(&filter.end, "end")?.map_or(now, |e| e.min(now));
        let start =
            time(&filter.start, "start")?.map_or(end - retained, |s| s.max(now - 2 * retained));
        if start > end {
            return Ok(Vec::new());
        }
        let window = (end - start).max(1);
        // `match[]` is a series selector: its raw samples over the window.
        let mut exprs = Vec::with_capacity(filter.matchers.len());
        for m in &filter.matchers {
            api::check_selector(m)
                .map_err(|e| bad(format!("invalid parameter \"match[]\": {e}")))?;
            exprs.push(format!("{}[{window}ms]", m.trim()));
        }
        self.evaluate(end, move |store| {
            let mut out = Vec::new();
            for expr in &exprs {
                let value = eval::instant(store, expr, end)?;
                if let Value::Matrix(m) = value {
                    out.extend(m.iter().map(|s| labels_of(&s.labels)));
                }
            }
            Ok(out)
        })
        .await
    }
}

#[tonic::async_trait]
impl QueryBackend for DirectBackend {
    async fn query_range(&self, req: &RangeRequest<'_>) -> Result<QueryResult, BackendError> {
        let expr = req.expr.to_string();
        let start = (req.start_ns / 1_000_000) as i64;
        let end = (req.end_ns / 1_000_000) as i64;
        // No step below the scrape interval: finer steps only repeat samples.
        let step = (req.step.as_millis() as i64).max(1);
        let m = self
            .evaluate(end, move |store| {
                eval::range(store, &expr, start, end, step)
            })
            .await?;
        Ok(result(ResultData::Matrix(matrix(m))))
    }

    async fn query_instant(&self, req: &InstantRequest<'_>) -> Result<QueryResult, BackendError> {
        let expr = req.expr.to_string();
        let t = (req.time_ns / 1_000_000) as i64;
        let value = self
            .evaluate(t, move |store| eval::instant(store, &expr, t))
            .await?;
        Ok(result(match value {
            Value::Scalar { t, v } => ResultData::Scalar(Point { t_ms: t, v }),
            Value::Vector(samples) => ResultData::Vector(
                samples
                    .into_iter()
                    .map(|s| Series {
                        labels: labels_of(&s.labels),
                        points: vec![Point { t_ms: s.t, v: s.v }],
                    })
                    .collect(),
            ),
            Value::Matrix(m) => ResultData::Matrix(matrix(m)),
            Value::String(value) => ResultData::String { t_ms: t, value },
        }))
    }

    async fn labels(&self, filter: &SeriesFilter) -> Result<Vec<String>, BackendError> {
        self.prime(None).await;
        if filter.matchers.is_empty() {
            return Ok(self.scraper.store.label_names());
        }
        let names: BTreeSet<String> = self
            .matching(filter)
            .await?
            .into_iter()
            .flat_map(|l| l.into_keys())
            .collect();
        Ok(names.into_iter().collect())
    }

    async fn label_values(
        &self,
        label: &str,
        filter: &SeriesFilter,
    ) -> Result<Vec<String>, BackendError> {
        self.prime(None).await;
        if filter.matchers.is_empty() {
            return Ok(self.scraper.store.label_values(label, &[]));
        }
        let values: BTreeSet<String> = self
            .matching(filter)
            .await?
            .into_iter()
            .filter_map(|mut l| l.remove(label))
            .collect();
        Ok(values.into_iter().collect())
    }

    async fn metric_names(&self, filter: &SeriesFilter) -> Result<Vec<String>, BackendError> {
        self.prime(None).await;
        if filter.matchers.is_empty() {
            return Ok(self.scraper.store.metric_names());
        }
        self.label_values(crate::store::METRIC_NAME, filter).await
    }

    async fn series(&self, filter: &SeriesFilter) -> Result<Vec<Labels>, BackendError> {
        self.prime(None).await;
        let series: BTreeSet<Labels> = self.matching(filter).await?.into_iter().collect();
        Ok(series.into_iter().collect())
    }

    async fn health(&self) -> HealthReport {
        let wait = HEALTH_WAIT.min(self.scraper.timeout() + Duration::from_millis(500));
        let waited = tokio::time::Instant::now() + wait;
        self.scraper.first_round_done(waited).await;
        health_report(&self.scraper, wait)
    }

    fn targets(&self) -> Option<serde_json::Value> {
        Some(self.scraper.status_json())
    }

    fn live(&self) -> Option<LiveSource> {
        Some(LiveSource {
            store: Arc::clone(&self.scraper.store),
            scrapes: self.scrapes.clone(),
            every: self.every,
        })
    }
}

/// Reads the history file of [`history::ENV`] into the store, for the
/// scraper's targets, before any scrape; logs what it stored or why not.
async fn load_history(scraper: &Arc<Scraper>, path: std::path::PathBuf) {
    let store = Arc::clone(&scraper.store);
    let targets: Vec<_> = scraper.targets.iter().map(|t| t.key.clone()).collect();
    let started = std::time::Instant::now();
    let shown = path.display().to_string();
    let read =
        tokio::task::spawn_blocking(move || history::load_file(&store, &path, &targets)).await;
    match read {
        Ok(Ok(loaded)) => tracing::info!(
            file = %shown,
            samples = loaded.samples,
            scrapes = loaded.scrapes,
            foreign_lines = loaded.foreign,
            seconds = started.elapsed().as_secs_f64(),
            "history loaded"
        ),
        Ok(Err(e)) => tracing::error!(file = %shown, error = %e, "history not loaded"),
        Err(e) => tracing::error!(file = %shown, error = %e, "history loading interrupted"),
    }
}

/// What a health check found at one target.
struct Finding {
    url: String,
    error: Option<String>,
    vllm: bool,
    /// A DCGM exporter: GPU metrics for the GPUs & cost dashboard.
    gpus: bool,
    release: Option<String>,
    models: Vec<String>,
}

/// A target's last scrape as a health finding; one still waiting for its
/// first answer is named as such.
fn finding(target: &Target, waited: Duration, timeout: Duration) -> Finding {
    let status = target.status();
    let identity = status.identity.clone().unwrap_or_default();
    let error = match status.up {
        Some(true) => None,
        Some(false) => status.last_error.clone(),
        None => Some(format!(
            "{}: no answer yet after {:.1} s (the scrape goes on in the background, up to the {} s timeout)",
            target.url,
            waited.as_secs_f64(),
            timeout.as_secs_f64()
        )),
    };
    Finding {
        url: target.url.clone(),
        vllm: error.is_none() && identity.vllm,
        gpus: error.is_none() && identity.gpus,
        release: identity.release.filter(|_| error.is_none()),
        models: if error.is_none() {
            identity.models
        } else {
            Vec::new()
        },
        error,
    }
}

fn health_report(scraper: &Scraper, waited: Duration) -> HealthReport {
    if scraper.targets.is_empty() {
        return HealthReport {
            ok: false,
            message: "direct mode has no targets: add the vLLM metrics URLs to `targets` (e.g. http://10.0.0.5:8000/metrics)".to_string(),
            details: json!({ "mode": "direct", "targets": [] }),
        };
    }
    let findings: Vec<Finding> = scraper
        .targets
        .iter()
        .map(|t| finding(t, waited, scraper.timeout()))
        .collect();
    let vllm = findings.iter().filter(|f| f.vllm).count();
    let mut problems = Vec::new();
    for f in &findings {
        match &f.error {
            // The error names the target itself.
            Some(e) => problems.push(e.clone()),
            None if f.gpus && !f.vllm => {}
            None if !f.vllm => problems.push(format!(
                "{}: reachable but not a vLLM endpoint (no vllm: metrics)",
                f.url
            )),
            None => {}
        }
    }
    let releases: BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f.release.as_deref())
        .collect();
    let models: BTreeSet<&str> = findings
        .iter()
        .flat_map(|f| f.models.iter().map(String::as_str))
        .collect();
    let mut message = format!("{vllm} of {} targets are vLLM endpoints", findings.len());
    if !releases.is_empty() {
        message.push_str(&format!(
            " (vLLM {})",
            releases.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if !models.is_empty() {
        message.push_str(&format!(
            ", serving {}",
            models.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let exporters = findings.iter().filter(|f| f.gpus).count();
    if exporters > 0 {
        message.push_str(&format!(
            "; {exporters} DCGM exporter target(s) with GPU metrics"
        ));
    }
    message.push('.');
    if !problems.is_empty() {
        message.push_str(" Problems: ");
        message.push_str(&problems.join("; "));
    }
    let details = json!({
        "mode": "direct",
        "targets": findings.iter().map(|f| json!({
            "url": f.url,
            "reachable": f.error.is_none(),
            "error": f.error,
            "vllm": f.vllm,
            "gpus": f.gpus,
            "release": f.release,
            "models": f.models,
        })).collect::<Vec<_>>(),
    });
    HealthReport {
        ok: vllm > 0,
        message,
        details,
    }
}
