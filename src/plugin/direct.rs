//! Direct mode: the plugin scrapes vLLM endpoints itself ([`super::scraper`])
//! into the embedded [`crate::store`] and answers queries with
//! [`crate::eval`], shaped like Prometheus' answers.
//!
//! The scrape loops (one per target, in one task) run while the backend
//! lives: replacing the datasource instance (a settings change) drops the
//! backend, which stops them.

use super::backend::{
    BackendError, HealthReport, InstantRequest, Labels, LiveSource, Point, QueryBackend,
    QueryResult, RangeRequest, ResultData, Series, SeriesFilter,
};
use super::scraper::{Outcome, Scraper};
use super::settings::{Settings, SettingsError};
use crate::catalog::sniff;
use crate::eval::{self, EvalError, Value};
use crate::exposition;
use crate::store::{Store, StoreConfig};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::OnceCell;

pub struct DirectBackend {
    scraper: Arc<Scraper>,
    /// The first query's immediate scrape.
    primed: OnceCell<()>,
    /// The scrape loop, stopped on drop.
    task: Option<tokio::task::AbortHandle>,
    /// The end of the last scrape of any target (Unix ms); its sender lives
    /// in the scrape loop, so live streams see it close when the loop stops.
    scrapes: tokio::sync::watch::Receiver<i64>,
    every: std::time::Duration,
    retention_secs: u64,
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
        let (scraped, scrapes) = tokio::sync::watch::channel(0_i64);
        let task = tokio::runtime::Handle::try_current().ok().map(|rt| {
            let scraper = Arc::clone(&scraper);
            rt.spawn(async move {
                // One loop per target, as in Prometheus: a target that takes
                // its whole timeout does not delay the others' scrapes. Each
                // scrape tells live streams (which coalesce the targets of a tick).
                let scraped = &scraped;
                let loops = scraper.targets.iter().map(|target| {
                    let scraper = &scraper;
                    async move {
                        // The first scrape is the first query's or health check's.
                        let mut ticks =
                            tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        loop {
                            ticks.tick().await;
                            let _ = scraper.scrape(target, None).await;
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
            primed: OnceCell::new(),
            task,
            scrapes,
            every,
            retention_secs: direct.retention.as_secs().max(60),
        })
    }

    /// Makes sure the store has one scrape of every target (once), stamped
    /// at `as_of` (the query's time) when that is recent.
    async fn prime(&self, as_of: Option<i64>) {
        self.primed
            .get_or_init(|| async {
                self.scraper.scrape_all(as_of).await;
            })
            .await;
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

    /// Label sets of the series matching any of `matchers` in the retained
    /// history.
    async fn matching(&self, matchers: &[String]) -> Result<Vec<Labels>, BackendError> {
        let now = now_ms();
        let window = self.retention_secs;
        // `match[]` is a series selector: its raw samples over the window.
        let exprs: Vec<String> = matchers
            .iter()
            .map(|m| format!("{}[{window}s]", m.trim()))
            .collect();
        self.evaluate(now, move |store| {
            let mut out = Vec::new();
            for expr in &exprs {
                let value = eval::instant(store, expr, now)?;
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
            .matching(&filter.matchers)
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
            .matching(&filter.matchers)
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

    async fn health(&self) -> HealthReport {
        let outcomes = self.scraper.scrape_all(None).await;
        let _ = self.primed.set(());
        health_report(&self.scraper, outcomes).await
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

/// What a health check found at one target.
struct Finding {
    url: String,
    error: Option<String>,
    vllm: bool,
    release: Option<String>,
    models: Vec<String>,
}

async fn health_report(scraper: &Scraper, outcomes: Vec<Outcome>) -> HealthReport {
    if scraper.targets.is_empty() {
        return HealthReport {
            ok: false,
            message: "direct mode has no targets: add the vLLM metrics URLs to `targets` (e.g. http://10.0.0.5:8000/metrics)".to_string(),
            details: json!({ "mode": "direct", "targets": [] }),
        };
    }
    let urls: Vec<String> = scraper.targets.iter().map(|t| t.url.clone()).collect();
    let findings = tokio::task::spawn_blocking(move || {
        urls.into_iter()
            .zip(outcomes)
            .map(|(url, outcome)| match outcome {
                Err(e) => Finding {
                    url,
                    error: Some(e.to_string()),
                    vllm: false,
                    release: None,
                    models: Vec::new(),
                },
                Ok(text) => {
                    let exp = exposition::parse(&text, exposition::Mode::Lenient);
                    let sniffed = exp.as_ref().map(sniff::sniff).unwrap_or_default();
                    Finding {
                        url,
                        error: None,
                        vllm: sniffed.is_vllm,
                        release: sniffed.is_vllm.then(|| sniffed.range()),
                        models: sniffed.models.into_iter().collect(),
                    }
                }
            })
            .collect::<Vec<Finding>>()
    })
    .await
    .unwrap_or_default();
    let vllm = findings.iter().filter(|f| f.vllm).count();
    let mut problems = Vec::new();
    for f in &findings {
        match &f.error {
            // The error names the target itself.
            Some(e) => problems.push(e.clone()),
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
