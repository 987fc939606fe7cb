//! The seam between Grafana's requests and where data comes from.
//!
//! A datasource instance holds one [`QueryBackend`]: a Prometheus server
//! ([`super::prometheus`]) or the plugin's own scraper of vLLM endpoints
//! ([`super::direct`]), both answering the same Prometheus-shaped results,
//! so framing, legends and resources stay shared.

use std::collections::BTreeMap;
use std::time::Duration;

/// A series' labels, `__name__` included when the result has it.
pub type Labels = BTreeMap<String, String>;

/// One sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Unix milliseconds (Prometheus timestamps have millisecond precision).
    pub t_ms: i64,
    pub v: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<Point>,
}

/// The result of a PromQL evaluation, by Prometheus result type.
#[derive(Clone, Debug, PartialEq)]
pub enum ResultData {
    /// A range query result: points over time per series.
    Matrix(Vec<Series>),
    /// An instant vector: one point per series.
    Vector(Vec<Series>),
    Scalar(Point),
    /// A string result (`"text"` expressions), with its evaluation time.
    String {
        t_ms: i64,
        value: String,
    },
}

impl ResultData {
    pub fn type_name(&self) -> &'static str {
        match self {
            ResultData::Matrix(_) => "matrix",
            ResultData::Vector(_) => "vector",
            ResultData::Scalar(_) => "scalar",
            ResultData::String { .. } => "string",
        }
    }
}

/// A query result with the server's warnings and informational notes.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    pub data: ResultData,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

/// `query_range` parameters (window already aligned to the step).
#[derive(Clone, Debug)]
pub struct RangeRequest<'a> {
    pub expr: &'a str,
    pub start_ns: i128,
    pub end_ns: i128,
    pub step: Duration,
}

/// Instant query parameters.
#[derive(Clone, Debug)]
pub struct InstantRequest<'a> {
    pub expr: &'a str,
    pub time_ns: i128,
}

/// Which series label and metric-name lookups consider (Prometheus'
/// `match[]`, `start`, `end`, passed through as given).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeriesFilter {
    pub matchers: Vec<String>,
    pub start: Option<String>,
    pub end: Option<String>,
}

/// How a Prometheus API call reached the plugin (and goes on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiMethod {
    Get,
    /// With an `application/x-www-form-urlencoded` body.
    Post,
}

/// A Prometheus HTTP API call to pass on as it is: `path` is under
/// `api/v1/` and already checked, `params` only the API's own.
#[derive(Clone, Debug)]
pub struct ApiCall<'a> {
    pub method: ApiMethod,
    pub path: &'a str,
    pub params: &'a [(String, String)],
}

/// A server's answer as received (bounded in size).
#[derive(Clone, Debug, PartialEq)]
pub struct RawAnswer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// CheckHealth's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthReport {
    pub ok: bool,
    /// One actionable sentence or two, shown on the datasource page.
    pub message: String,
    /// Structured facts (version, targets, models) for `jsonDetails`.
    pub details: serde_json::Value,
}

/// Why a backend call failed. Messages say what to check.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// A direct-mode query the embedded evaluator refused or failed.
    #[error("{message}")]
    Eval { status: u16, message: String },
    #[error("cannot reach Prometheus at {url}: {detail}. Check the datasource URL and that Prometheus is reachable from the Grafana server")]
    Connect { url: String, detail: String },
    #[error("Prometheus at {url} did not answer within {secs} s (the datasource `timeout`): the server may be overloaded or the query too expensive")]
    Timeout { url: String, secs: f64 },
    #[error("Prometheus at {url} answered HTTP {status}: check the basic auth user and password, the bearer token or the custom headers")]
    Unauthorized { url: String, status: u16 },
    #[error("{url} answered HTTP {status} with {what}, not the Prometheus HTTP API: set the datasource URL to the Prometheus base URL (e.g. http://prometheus:9090, without /api/v1)")]
    NotPrometheus {
        url: String,
        status: u16,
        what: String,
    },
    #[error("Prometheus at {url} answered HTTP {status}: {body}")]
    Http {
        url: String,
        status: u16,
        body: String,
    },
    /// Prometheus' own error, verbatim (`errorType: error`, as Grafana shows it).
    #[error("{error_type}: {error}")]
    Prometheus {
        status: u16,
        error_type: String,
        error: String,
    },
    #[error("the answer of {url} is larger than {limit_mib} MiB")]
    TooLarge { url: String, limit_mib: usize },
    #[error("request to {url} failed: {detail}")]
    Transport { url: String, detail: String },
}

impl BackendError {
    /// HTTP-style status for the query's `DataResponse`.
    pub fn status(&self) -> u16 {
        match self {
            BackendError::Eval { status, .. } => *status,
            BackendError::Timeout { .. } => 504,
            BackendError::Unauthorized { status, .. } => *status,
            BackendError::Prometheus { status, .. } if *status >= 400 => *status,
            BackendError::Prometheus { .. } => 500,
            BackendError::Connect { .. }
            | BackendError::NotPrometheus { .. }
            | BackendError::Http { .. }
            | BackendError::TooLarge { .. }
            | BackendError::Transport { .. } => 502,
        }
    }
}

/// What a live stream follows: the store a backend scrapes into and a
/// signal after each scrape of a target (its end, Unix ms). The
/// signal closes when the backend is dropped (its settings changed).
#[derive(Clone)]
pub struct LiveSource {
    pub store: std::sync::Arc<crate::store::Store>,
    pub scrapes: tokio::sync::watch::Receiver<i64>,
    pub every: Duration,
}

/// Where a datasource's data comes from.
#[tonic::async_trait]
pub trait QueryBackend: Send + Sync + 'static {
    async fn query_range(&self, req: &RangeRequest<'_>) -> Result<QueryResult, BackendError>;
    async fn query_instant(&self, req: &InstantRequest<'_>) -> Result<QueryResult, BackendError>;
    /// Label names.
    async fn labels(&self, filter: &SeriesFilter) -> Result<Vec<String>, BackendError>;
    /// Values of one label.
    async fn label_values(
        &self,
        label: &str,
        filter: &SeriesFilter,
    ) -> Result<Vec<String>, BackendError>;
    /// Metric names (values of `__name__`).
    async fn metric_names(&self, filter: &SeriesFilter) -> Result<Vec<String>, BackendError>;
    /// Label sets of the series matching `filter.matchers` (at least one).
    async fn series(&self, filter: &SeriesFilter) -> Result<Vec<Labels>, BackendError> {
        let _ = filter;
        Err(BackendError::Eval {
            status: 404,
            message: "this backend does not list series".to_string(),
        })
    }
    /// Passes a Prometheus API call on to a server, for backends that have
    /// one; `None` for backends that answer it themselves.
    async fn passthrough(&self, call: &ApiCall<'_>) -> Option<Result<RawAnswer, BackendError>> {
        let _ = call;
        None
    }
    async fn health(&self) -> HealthReport;
    /// Scrape targets and their state, for backends that scrape (the
    /// `targets` resource); `None` otherwise.
    fn targets(&self) -> Option<serde_json::Value> {
        None
    }
    /// The scrape-by-scrape feed for Grafana Live, for backends that scrape
    /// themselves; `None` otherwise.
    fn live(&self) -> Option<LiveSource> {
        None
    }
}
