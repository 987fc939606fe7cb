//! Prometheus' HTTP API under the datasource's resources (`api/v1/...`),
//! for query editors that speak that API through Grafana's resource
//! endpoint.
//!
//! Routes (GET with a query string, or POST with an
//! `application/x-www-form-urlencoded` body):
//!
//! * `api/v1/labels`, `api/v1/label/<name>/values`, `api/v1/series`:
//!   `match[]` (repeatable), `start`, `end`, `limit`;
//! * `api/v1/metadata`: `metric`, `limit`;
//! * `api/v1/query`: `query`, `time`, `timeout`;
//! * `api/v1/query_range`: `query`, `start`, `end`, `step`, `timeout`;
//! * `api/v1/status/buildinfo`, `api/v1/rules`, `api/v1/query_exemplars`.
//!
//! Prometheus mode passes the call to the same path under the datasource
//! URL (auth, custom headers, custom query parameters, TLS and deadline of
//! the datasource) and answers with the server's status and body. Only the
//! parameters above travel; only these paths exist (a label name is
//! checked before it goes into a path). Direct mode answers from the store
//! and the evaluator in Prometheus' envelope, errors included
//! (`{"status":"error","errorType":"bad_data","error":...}` with 400, 422 for
//! `execution`, 503 for `unavailable` and `timeout`).

use super::backend::{
    ApiCall, ApiMethod, BackendError, InstantRequest, Labels, Point, QueryBackend, QueryResult,
    RangeRequest, ResultData, SeriesFilter,
};
use super::resources::ResourceResponse;
use crate::catalog::{self, Kind};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the API lives among the resources.
pub const PREFIX: &str = "api/v1";

/// The paths under [`PREFIX`], for error messages.
const PATHS: &str = "labels, label/<name>/values, series, metadata, query, query_range, status/buildinfo, rules, query_exemplars";

/// The parameters that travel; any other is dropped.
const PARAMETERS: &[&str] = &[
    "match[]", "start", "end", "limit", "time", "step", "query", "timeout", "metric",
];

/// Prometheus refuses range queries with more points per series.
const MAX_POINTS: i64 = 11_000;

/// The PromQL dialect the evaluator follows, for `status/buildinfo`.
const PROMQL_VERSION: &str = "2.42.0";

/// One API endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Labels,
    LabelValues(String),
    Series,
    Metadata,
    Query,
    QueryRange,
    BuildInfo,
    Rules,
    QueryExemplars,
}

impl Endpoint {
    /// The endpoint of a path under [`PREFIX`] (`labels`, `label/job/values`).
    pub fn parse(route: &str) -> Result<Endpoint, ApiError> {
        Ok(match route {
            "labels" => Endpoint::Labels,
            "series" => Endpoint::Series,
            "metadata" => Endpoint::Metadata,
            "query" => Endpoint::Query,
            "query_range" => Endpoint::QueryRange,
            "status/buildinfo" => Endpoint::BuildInfo,
            "rules" => Endpoint::Rules,
            "query_exemplars" => Endpoint::QueryExemplars,
            _ => {
                let name = route
                    .strip_prefix("label/")
                    .and_then(|r| r.strip_suffix("/values"))
                    .ok_or_else(|| {
                        ApiError::new(
                            ErrorType::NotFound,
                            format!("unknown API path {PREFIX}/{route}: expected one of {PATHS}"),
                        )
                    })?;
                if !valid_label_name(name) {
                    return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
                }
                Endpoint::LabelValues(name.to_string())
            }
        })
    }

    /// The path under [`PREFIX`].
    pub fn path(&self) -> String {
        match self {
            Endpoint::Labels => "labels".to_string(),
            Endpoint::LabelValues(name) => format!("label/{name}/values"),
            Endpoint::Series => "series".to_string(),
            Endpoint::Metadata => "metadata".to_string(),
            Endpoint::Query => "query".to_string(),
            Endpoint::QueryRange => "query_range".to_string(),
            Endpoint::BuildInfo => "status/buildinfo".to_string(),
            Endpoint::Rules => "rules".to_string(),
            Endpoint::QueryExemplars => "query_exemplars".to_string(),
        }
    }

    /// Does Prometheus take a form body here? (The others are GET only
    /// there, so a POST is passed on as a GET.)
    fn takes_post(&self) -> bool {
        matches!(
            self,
            Endpoint::Labels
                | Endpoint::Series
                | Endpoint::Query
                | Endpoint::QueryRange
                | Endpoint::QueryExemplars
        )
    }
}

/// A Prometheus label name (also keeps the name safe in a URL path).
pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Prometheus' `errorType`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    BadData,
    Execution,
    Timeout,
    Internal,
    NotFound,
    Unavailable,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
            ErrorType::Internal => "internal",
            ErrorType::NotFound => "not_found",
            ErrorType::Unavailable => "unavailable",
        }
    }

    /// The HTTP status Prometheus answers with.
    pub fn status(self) -> u16 {
        match self {
            ErrorType::BadData => 400,
            ErrorType::Execution => 422,
            ErrorType::Timeout | ErrorType::Unavailable => 503,
            ErrorType::Internal => 500,
            ErrorType::NotFound => 404,
        }
    }
}

/// An API error: Prometheus' type, the HTTP status, the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.as_str())]
pub struct ApiError {
    pub kind: ErrorType,
    pub status: u16,
    pub message: String,
}

impl ApiError {
    fn new(kind: ErrorType, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            status: kind.status(),
            message: message.into(),
        }
    }

    fn bad_data(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::BadData, message)
    }

    fn param(name: &str, why: impl std::fmt::Display) -> ApiError {
        ApiError::bad_data(format!("invalid parameter {name:?}: {why}"))
    }

    /// A backend failure; `query` says the call evaluated PromQL.
    fn backend(e: BackendError, query: bool) -> ApiError {
        match e {
            BackendError::Eval {
                status: 400,
                message,
            } if query => ApiError::param("query", message),
            BackendError::Eval { status, message } => {
                let kind = match status {
                    400 => ErrorType::BadData,
                    422 => ErrorType::Execution,
                    503 => ErrorType::Unavailable,
                    _ => ErrorType::Internal,
                };
                ApiError::new(kind, message)
            }
            BackendError::Timeout { .. } => ApiError::new(ErrorType::Timeout, e.to_string()),
            // Not 401/403: Grafana's front end takes those as its own
            // session ending.
            BackendError::Unauthorized { .. } => ApiError {
                kind: ErrorType::Unavailable,
                status: 502,
                message: e.to_string(),
            },
            BackendError::Prometheus {
                status,
                ref error_type,
                ref error,
            } => ApiError {
                kind: ErrorType::Execution,
                status: if status >= 400 { status } else { 500 },
                message: format!("{error_type}: {error}"),
            },
            BackendError::Connect { .. }
            | BackendError::NotPrometheus { .. }
            | BackendError::Http { .. }
            | BackendError::TooLarge { .. }
            | BackendError::Transport { .. } => {
                ApiError::new(ErrorType::Unavailable, e.to_string())
            }
        }
    }

    pub fn response(&self) -> ResourceResponse {
        ResourceResponse::json(
            self.status,
            &json!({
                "status": "error",
                "errorType": self.kind.as_str(),
                "error": self.message,
            }),
        )
    }
}

/// The parameters of a call: the URL's query string, then a POST's form body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(url: &str, body: Option<&[u8]>) -> Params {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        if let Some(body) = body {
            pairs.extend(url::form_urlencoded::parse(body).into_owned());
        }
        Params(pairs)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Only the parameters the API takes.
    fn forwarded(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(k, _)| PARAMETERS.contains(&k.as_str()))
            .cloned()
            .collect()
    }
}

/// A resource call under [`PREFIX`].
pub struct Call<'a> {
    pub method: &'a str,
    /// The path after [`PREFIX`], without slashes around it.
    pub route: &'a str,
    pub url: &'a str,
    pub body: &'a [u8],
    pub content_type: Option<&'a str>,
}

/// Answers one API call; `backend` is the datasource's, or why its settings
/// are invalid.
pub async fn handle(
    backend: Result<&dyn QueryBackend, String>,
    call: &Call<'_>,
) -> ResourceResponse {
    match answer(backend, call).await {
        Ok(response) => response,
        Err(e) => e.response(),
    }
}

async fn answer(
    backend: Result<&dyn QueryBackend, String>,
    call: &Call<'_>,
) -> Result<ResourceResponse, ApiError> {
    let method = if call.method.eq_ignore_ascii_case("GET") {
        ApiMethod::Get
    } else if call.method.eq_ignore_ascii_case("POST") {
        ApiMethod::Post
    } else {
        return Err(ApiError {
            kind: ErrorType::BadData,
            status: 405,
            message: format!("{PREFIX} answers GET and POST only, got {:?}", call.method),
        });
    };
    let endpoint = Endpoint::parse(call.route)?;
    let body = match method {
        ApiMethod::Get => None,
        ApiMethod::Post => {
            if let Some(ct) = call.content_type {
                let essence = ct.split(';').next().unwrap_or("").trim();
                if !essence.is_empty()
                    && !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
                {
                    return Err(ApiError::bad_data(format!(
                        "a POST body must be application/x-www-form-urlencoded, got {essence:?}"
                    )));
                }
            }
            Some(call.body)
        }
    };
    let params = Params::parse(call.url, body);
    let backend = backend.map_err(ApiError::bad_data)?;
    let forwarded = params.forwarded();
    let path = endpoint.path();
    let passed = ApiCall {
        method: if endpoint.takes_post() {
            method
        } else {
            ApiMethod::Get
        },
        path: &path,
        params: &forwarded,
    };
    if let Some(raw) = backend.passthrough(&passed).await {
        let raw = raw.map_err(|e| ApiError::backend(e, false))?;
        return Ok(ResourceResponse {
            status: raw.status,
            content_type: raw.content_type,
            body: raw.body,
        });
    }
    let (data, warnings) = direct(backend, &endpoint, &params).await?;
    let mut body = format!("{{\"status\":\"success\",\"data\":{data}");
    if !warnings.is_empty() {
        let warnings = serde_json::to_string(&warnings).unwrap_or_else(|_| "[]".to_string());
        let _ = write!(body, ",\"warnings\":{warnings}");
    }
    body.push('}');
    Ok(ResourceResponse {
        status: 200,
        content_type: super::resources::JSON.to_string(),
        body: body.into_bytes(),
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `data` (JSON text) and warnings of a direct-mode answer.
async fn direct(
    backend: &dyn QueryBackend,
    endpoint: &Endpoint,
    params: &Params,
) -> Result<(String, Vec<String>), ApiError> {
    match endpoint {
        Endpoint::Labels | Endpoint::LabelValues(_) | Endpoint::Series => {
            let filter = series_filter(params)?;
            let limit = limit(params)?;
            if *endpoint == Endpoint::Series {
                if filter.matchers.is_empty() {
                    return Err(ApiError::bad_data("no match[] parameter provided"));
                }
                let mut series = backend
                    .series(&filter)
                    .await
                    .map_err(|e| ApiError::backend(e, false))?;
                let warnings = truncate(&mut series, limit);
                return Ok((to_json(&series), warnings));
            }
            let mut values = match endpoint {
                Endpoint::LabelValues(name) => backend.label_values(name, &filter).await,
                _ => backend.labels(&filter).await,
            }
            .map_err(|e| ApiError::backend(e, false))?;
            let warnings = truncate(&mut values, limit);
            Ok((to_json(&values), warnings))
        }
        Endpoint::Metadata => {
            let names = backend
                .metric_names(&SeriesFilter::default())
                .await
                .map_err(|e| ApiError::backend(e, false))?;
            let limit = match params.get("limit") {
                None => None,
                Some(s) => match s.parse::<i64>() {
                    Ok(n) if n >= 0 => Some(n as usize),
                    Ok(_) => None,
                    Err(_) => return Err(ApiError::bad_data("limit must be a number")),
                },
            };
            let data = metadata(&names, params.get("metric"), limit);
            Ok((to_json(&data), Vec::new()))
        }
        Endpoint::Query => {
            let expr = params.get("query").unwrap_or_default();
            let time = match params.get("time") {
                Some(t) => parse_time(t).map_err(|e| ApiError::param("time", e))?,
                None => now_ms(),
            };
            check_timeout(params)?;
            let result = backend
                .query_instant(&InstantRequest {
                    expr,
                    time_ns: i128::from(time) * 1_000_000,
                })
                .await
                .map_err(|e| ApiError::backend(e, true))?;
            Ok(query_data(result))
        }
        Endpoint::QueryRange => {
            let start = required_time(params, "start")?;
            let end = required_time(params, "end")?;
            if end < start {
                return Err(ApiError::param(
                    "end",
                    "end timestamp must not be before start time",
                ));
            }
            let step_text = params.get("step").unwrap_or_default();
            let step = parse_duration(step_text).map_err(|e| ApiError::param("step", e))?;
            if step <= 0 {
                return Err(ApiError::param(
                    "step",
                    "zero or negative query resolution step widths are not accepted. Try a positive integer",
                ));
            }
            if (end - start) / step > MAX_POINTS {
                return Err(ApiError::bad_data(format!(
                    "exceeded maximum resolution of {MAX_POINTS} points per timeseries. Try decreasing the query resolution (?step=XX)"
                )));
            }
            check_timeout(params)?;
            let expr = params.get("query").unwrap_or_default();
            let result = backend
                .query_range(&RangeRequest {
                    expr,
                    start_ns: i128::from(start) * 1_000_000,
                    end_ns: i128::from(end) * 1_000_000,
                    step: Duration::from_millis(step as u64),
                })
                .await
                .map_err(|e| ApiError::backend(e, true))?;
            Ok(query_data(result))
        }
        Endpoint::BuildInfo => Ok((
            json!({
                "version": PROMQL_VERSION,
                "revision": "",
                "branch": "",
                "buildUser": "",
                "buildDate": "",
                "goVersion": "",
                "application": concat!("vllm-grafana ", env!("CARGO_PKG_VERSION"), " direct mode"),
            })
            .to_string(),
            Vec::new(),
        )),
        Endpoint::Rules => Ok((json!({ "groups": [] }).to_string(), Vec::new())),
        Endpoint::QueryExemplars => Ok(("[]".to_string(), Vec::new())),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// `match[]`, `start` and `end`, checked.
fn series_filter(params: &Params) -> Result<SeriesFilter, ApiError> {
    let matchers = params.all("match[]");
    for m in &matchers {
        check_selector(m).map_err(|e| ApiError::param("match[]", e))?;
    }
    let mut times = [None, None];
    for (slot, name) in times.iter_mut().zip(["start", "end"]) {
        if let Some(t) = params.get(name) {
            parse_time(t).map_err(|e| ApiError::param(name, e))?;
            *slot = Some(t.to_string());
        }
    }
    let [start, end] = times;
    Ok(SeriesFilter {
        matchers,
        start,
        end,
    })
}

/// Is `text` a plain series selector (no function, range, offset or `@`)?
pub fn check_selector(text: &str) -> Result<(), String> {
    match promql_parser::parser::parse(&crate::eval::strings::requote(text)) {
        Ok(promql_parser::parser::Expr::VectorSelector(vs))
            if vs.offset.is_none() && vs.at.is_none() =>
        {
            Ok(())
        }
        Ok(_) => Err(format!("{text:?} is not a series selector")),
        Err(e) => Err(format!("{text:?}: {e}")),
    }
}

/// `limit`: absent or 0 for none.
fn limit(params: &Params) -> Result<Option<usize>, ApiError> {
    match params.get("limit") {
        None => Ok(None),
        Some(s) => match s.parse::<usize>() {
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(ApiError::param(
                "limit",
                format!("cannot parse {s:?} to a non-negative integer"),
            )),
        },
    }
}

fn truncate<T>(items: &mut Vec<T>, limit: Option<usize>) -> Vec<String> {
    match limit {
        Some(n) if items.len() > n => {
            items.truncate(n);
            vec!["results truncated due to limit".to_string()]
        }
        _ => Vec::new(),
    }
}

fn check_timeout(params: &Params) -> Result<(), ApiError> {
    if let Some(t) = params.get("timeout") {
        parse_duration(t).map_err(|e| ApiError::param("timeout", e))?;
    }
    Ok(())
}

fn required_time(params: &Params, name: &str) -> Result<i64, ApiError> {
    parse_time(params.get(name).unwrap_or_default()).map_err(|e| ApiError::param(name, e))
}

/// Why a time or duration parameter is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("cannot parse {0:?} to a valid timestamp")]
    Timestamp(String),
    #[error("cannot parse {0:?} to a valid duration")]
    Duration(String),
}

/// A Prometheus API time: Unix seconds (`1700000000.5`) or RFC 3339;
/// Unix milliseconds.
pub fn parse_time(text: &str) -> Result<i64, TimeError> {
    let bad = || TimeError::Timestamp(text.to_string());
    if let Ok(secs) = text.parse::<f64>() {
        let ms = (secs * 1000.0).round();
        // Within what a millisecond count holds.
        if !ms.is_finite() || ms.abs() > 9.2e15 {
            return Err(bad());
        }
        return Ok(ms as i64);
    }
    rfc3339_ms(text).ok_or_else(bad)
}

/// `2006-01-02T15:04:05.999Z` or with a `±hh:mm` offset.
fn rfc3339_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut ms = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &frac[..digits.min(3)]);
        ms = padded.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 60 + m)
        }
        _ => return None,
    };
    // Days since 1970-01-01 of a proleptic Gregorian date.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(secs * 1000 + ms)
}

/// A Prometheus API duration: seconds (`15`, `0.5`) or a PromQL duration
/// (`1m30s`); milliseconds.
pub fn parse_duration(text: &str) -> Result<i64, TimeError> {
    let bad = || TimeError::Duration(text.to_string());
    if let Ok(secs) = text.parse::<f64>() {
        let ms = (secs * 1000.0).round();
        if !ms.is_finite() || ms.abs() > 9.2e15 {
            return Err(bad());
        }
        return Ok(ms as i64);
    }
    promql_duration_ms(text).ok_or_else(bad)
}

/// `1y2w3d4h5m6s7ms`: units in this order, each at most once.
fn promql_duration_ms(text: &str) -> Option<i64> {
    const UNITS: [(&str, i64); 8] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
        ("", 0),
    ];
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    let mut total: i64 = 0;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..letters];
        rest = &rest[letters..];
        let i = UNITS[next_unit..UNITS.len() - 1]
            .iter()
            .position(|(u, _)| *u == unit)?
            + next_unit;
        next_unit = i + 1;
        total = total.checked_add(n.checked_mul(UNITS[i].1)?)?;
    }
    Some(total)
}

/// Prometheus' metadata shape for the catalog's metrics whose samples are
/// in `names`: `{"<metric>": [{"type", "help", "unit"}]}`. The unit is
/// empty, as Prometheus answers for the text format (it has no unit line).
fn metadata(
    names: &[String],
    only: Option<&str>,
    limit: Option<usize>,
) -> BTreeMap<&'static str, [serde_json::Value; 1]> {
    let present: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let has = |samples: &[String]| samples.iter().any(|s| present.contains(s.as_str()));
    let kind = |k: Kind| match k {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
        Kind::Summary => "summary",
    };
    let entry = |k: Kind, help: &str| [json!({ "type": kind(k), "help": help, "unit": "" })];
    let vllm = catalog::METRICS
        .iter()
        .filter(|m| has(&m.sample_names()))
        .map(|m| (m.name, entry(m.kind, m.help)));
    let gpu = catalog::dcgm::DCGM_METRICS
        .iter()
        .filter(|m| present.contains(m.name))
        .map(|m| (m.name, entry(m.kind, m.help)));
    let all: BTreeMap<&'static str, [serde_json::Value; 1]> = vllm
        .chain(gpu)
        .filter(|(name, _)| only.is_none_or(|o| o == *name))
        .collect();
    match limit {
        Some(n) => all.into_iter().take(n).collect(),
        None => all,
    }
}

/// A sample value as Prometheus writes it: shortest decimals, in exponent
/// form below 1e-6 and from 1e21 on.
fn value_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else if v != 0.0 && (v.abs() < 1e-6 || v.abs() >= 1e21) {
        // Exponent form with a signed exponent of two digits at least.
        let text = format!("{v:e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        format!("{v}")
    }
}

/// `[<seconds>, "<value>"]` with the timestamp's milliseconds kept exact.
fn write_point(out: &mut String, p: Point) {
    let sign = if p.t_ms < 0 { "-" } else { "" };
    let t = p.t_ms.unsigned_abs();
    let _ = write!(out, "[{sign}{}", t / 1000);
    if t % 1000 != 0 {
        let frac = format!("{:03}", t % 1000);
        let _ = write!(out, ".{}", frac.trim_end_matches('0'));
    }
    let _ = write!(out, ",\"{}\"]", value_text(p.v));
}

fn write_labels(out: &mut String, labels: &Labels) {
    out.push_str(&serde_json::to_string(labels).unwrap_or_else(|_| "{}".to_string()));
}

/// `{"resultType": ..., "result": ...}` and the warnings of a query.
fn query_data(result: QueryResult) -> (String, Vec<String>) {
    let mut out = format!(
        "{{\"resultType\":\"{}\",\"result\":",
        result.data.type_name()
    );
    match &result.data {
        ResultData::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(&mut out, &s.labels);
                out.push_str(",\"values\":[");
                for (j, p) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_point(&mut out, *p);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
        ResultData::Vector(series) => {
            out.push('[');
            let mut first = true;
            for s in series {
                let Some(p) = s.points.first() else {
                    continue;
                };
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str("{\"metric\":");
                write_labels(&mut out, &s.labels);
                out.push_str(",\"value\":");
                write_point(&mut out, *p);
                out.push('}');
            }
            out.push(']');
        }
        ResultData::Scalar(p) => write_point(&mut out, *p),
        ResultData::String { t_ms, value } => {
            let mut point = String::new();
            write_point(
                &mut point,
                Point {
                    t_ms: *t_ms,
                    v: 0.0,
                },
            );
            // `[t, "text"]`: the time part of a point, then the string.
            let time = point.split(',').next().unwrap_or("[0");
            let text = serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_string());
            let _ = write!(out, "{time},{text}]");
        }
    }
    out.push('}');
    let mut warnings = result.warnings;
    warnings.extend(result.infos);
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_only_the_api_ones() {
        assert_eq!(Endpoint::parse("labels"), Ok(Endpoint::Labels));
        assert_eq!(
            Endpoint::parse("label/model_name/values"),
            Ok(Endpoint::LabelValues("model_name".to_string()))
        );
        for bad in [
            "label/../values",
            "label/a/b/values",
            "label/%2e%2e/values",
            "label//values",
        ] {
            let e = Endpoint::parse(bad).err().map(|e| e.kind);
            assert_eq!(e, Some(ErrorType::BadData), "{bad}");
        }
        for unknown in [
            "admin/tsdb/delete_series",
            "status/config",
            "targets",
            "../x",
            "query/",
        ] {
            let e = Endpoint::parse(unknown).err().map(|e| e.status);
            assert_eq!(e, Some(404), "{unknown}");
        }
    }

    #[test]
    fn times_and_durations_parse_as_prometheus_does() {
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("1700000000.123"), Ok(1_700_000_000_123));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert_eq!(
            parse_time("2023-11-14T23:13:20.5+01:00"),
            Ok(1_700_000_000_500)
        );
        for bad in [
            "",
            "yesterday",
            "NaN",
            "inf",
            "2023-11-14",
            "2023-13-14T00:00:00Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("15"), Ok(15_000));
        assert_eq!(parse_duration("0.5"), Ok(500));
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert_eq!(parse_duration("250ms"), Ok(250));
        for bad in ["", "1x", "30s1m", "s", "1s1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn points_are_written_as_prometheus_writes_them() {
        let mut out = String::new();
        write_point(
            &mut out,
            Point {
                t_ms: 1_700_000_000_050,
                v: 0.5,
            },
        );
        write_point(
            &mut out,
            Point {
                t_ms: 1_700_000_000_000,
                v: f64::NAN,
            },
        );
        write_point(
            &mut out,
            Point {
                t_ms: 1,
                v: f64::NEG_INFINITY,
            },
        );
        assert_eq!(
            out,
            r#"[1700000000.05,"0.5"][1700000000,"NaN"][0.001,"-Inf"]"#
        );
    }

    #[test]
    fn backend_failures_keep_prometheus_types_and_spare_grafana_a_401() {
        let e = ApiError::backend(
            BackendError::Unauthorized {
                url: "http://p/api/v1/labels".to_string(),
                status: 401,
            },
            false,
        );
        assert_eq!((e.status, e.kind), (502, ErrorType::Unavailable));
        assert!(e.message.contains("basic auth"), "{e}");
        let parse = BackendError::Eval {
            status: 400,
            message: "cannot parse PromQL: unexpected end of input".to_string(),
        };
        let e = ApiError::backend(parse, true);
        assert_eq!((e.status, e.kind), (400, ErrorType::BadData));
        assert!(
            e.message.starts_with("invalid parameter \"query\": "),
            "{e}"
        );
        let e = ApiError::backend(
            BackendError::Eval {
                status: 422,
                message: "many-to-many matching not allowed".to_string(),
            },
            true,
        );
        assert_eq!((e.status, e.kind.as_str()), (422, "execution"));
        let body: serde_json::Value =
            serde_json::from_slice(&e.response().body).unwrap_or_default();
        assert_eq!(body["status"], "error");
        assert_eq!(body["errorType"], "execution");
    }

    #[test]
    fn selectors_are_checked() {
        assert!(check_selector("up{job=\"a\"}").is_ok());
        for bad in ["up{", "sum(up)", "up[5m]", "up offset 5m", "{}"] {
            assert!(check_selector(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn post_bodies_and_query_strings_merge() {
        let p = Params::parse(
            "api/v1/series?match[]=a&start=1",
            Some(b"match%5B%5D=b%7Bx%3D%22y%22%7D&end=2&evil=1"),
        );
        assert_eq!(p.all("match[]"), ["a", "b{x=\"y\"}"]);
        assert_eq!(p.get("end"), Some("2"));
        assert!(p.forwarded().iter().all(|(k, _)| k != "evil"));
    }
}
