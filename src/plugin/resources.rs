//! CallResource: the query editor's lookups. All answers are JSON.
//!
//! * `GET labels?match[]=` — label names,
//! * `GET label-values?label=<name>&match[]=` — values of one label,
//! * `GET metric-names?match[]=` — metric names,
//! * `GET targets` — direct mode's scrape targets and their last scrape,
//! * `GET catalog` — every metric vLLM has exposed, with unit, meaning and a
//!   suggested query built by [`crate::promql`] (no backend call).
//!
//! `match[]`, `start` and `end` are passed to the backend as given. Every
//! route only reads: any method but GET gets 405. No parameter names a
//! server: the backend's URL and targets come from the datasource settings.
//!
//! Under `api/v1/` lies Prometheus' own HTTP API ([`super::api`]), which
//! also takes POST with a form body.

use super::api::{self, valid_label_name};
use super::backend::{BackendError, SeriesFilter};
use super::instance::Ready;
use crate::catalog::{self, Engine, Kind, MetricDef, Scope, Unit};
use crate::promql::{self, Expr, Selector};
use serde::Serialize;
use serde_json::json;
use std::sync::LazyLock;

/// The content type of the plugin's own answers.
pub const JSON: &str = "application/json";

/// A resource answer: HTTP status, content type and body.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// One CallResource request.
#[derive(Clone, Copy, Debug)]
pub struct ResourceRequest<'a> {
    pub method: &'a str,
    /// The path under the datasource's resources (`labels`, `api/v1/query`).
    pub path: &'a str,
    /// The path with its query string.
    pub url: &'a str,
    pub body: &'a [u8],
    pub content_type: Option<&'a str>,
}

impl ResourceResponse {
    pub(super) fn json(status: u16, value: &impl Serialize) -> ResourceResponse {
        ResourceResponse {
            status,
            content_type: JSON.to_string(),
            body: serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec()),
        }
    }

    fn error(status: u16, message: impl Into<String>) -> ResourceResponse {
        ResourceResponse::json(status, &json!({ "error": message.into() }))
    }
}

/// The routes, for error messages.
const ROUTES: &str =
    "labels, label-values, metric-names, targets, catalog, api/v1/ (Prometheus' HTTP API)";

/// Query parameters of a resource URL (`path?a=1&match[]=x`).
fn query_pairs(url: &str) -> Vec<(String, String)> {
    let Some((_, query)) = url.split_once('?') else {
        return Vec::new();
    };
    match reqwest::Url::parse(&format!("http://resource/?{query}")) {
        Ok(u) => u
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn filter(pairs: &[(String, String)]) -> SeriesFilter {
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    SeriesFilter {
        matchers: pairs
            .iter()
            .filter(|(k, _)| k == "match[]")
            .map(|(_, v)| v.clone())
            .collect(),
        start: get("start"),
        end: get("end"),
    }
}

fn backend_failure(e: BackendError) -> ResourceResponse {
    ResourceResponse::error(e.status(), e.to_string())
}

/// Answers one resource call. `ready` is the datasource, or why its
/// settings are invalid.
pub async fn handle(ready: Result<&Ready, String>, req: &ResourceRequest<'_>) -> ResourceResponse {
    let (method, url) = (req.method, req.url);
    let route = req.path.trim_matches('/');
    if let Some(rest) = route
        .strip_prefix(api::PREFIX)
        .and_then(|r| r.strip_prefix('/'))
    {
        let call = api::Call {
            method,
            route: rest,
            url,
            body: req.body,
            content_type: req.content_type,
        };
        let backend = ready.map(|r| r.backend.as_ref());
        return api::handle(backend, &call).await;
    }
    // Every resource only reads: anything but GET is refused before routing.
    if !method.eq_ignore_ascii_case("GET") {
        return ResourceResponse::error(405, format!("resources answer GET only, got {method:?}"));
    }
    if !matches!(
        route,
        "labels" | "label-values" | "metric-names" | "targets" | "catalog"
    ) {
        return ResourceResponse::error(
            404,
            format!("unknown resource {route:?}: expected one of {ROUTES}"),
        );
    }
    if route == "catalog" {
        return ResourceResponse {
            status: 200,
            content_type: JSON.to_string(),
            body: CATALOG_JSON.clone(),
        };
    }
    let ready = match ready {
        Ok(ready) => ready,
        Err(why) => return ResourceResponse::error(400, why),
    };
    if route == "targets" {
        return match ready.backend.targets() {
            Some(targets) => ResourceResponse::json(200, &targets),
            None => ResourceResponse::error(
                404,
                "targets lists direct mode's scrape targets: this datasource queries Prometheus (see its /targets page)",
            ),
        };
    }
    let pairs = query_pairs(url);
    let filter = filter(&pairs);
    let backend = &ready.backend;
    let answer = match route {
        "labels" => backend.labels(&filter).await,
        "metric-names" => backend.metric_names(&filter).await,
        _ => {
            let label = pairs
                .iter()
                .find(|(k, _)| k == "label")
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            if !valid_label_name(label) {
                return ResourceResponse::error(
                    400,
                    format!("label-values needs ?label=<label name>, got {label:?}"),
                );
            }
            backend.label_values(label, &filter).await
        }
    };
    match answer {
        Ok(values) => ResourceResponse::json(200, &values),
        Err(e) => backend_failure(e),
    }
}

/// One metric as the query editor shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CatalogEntry {
    name: &'static str,
    #[serde(rename = "type")]
    kind: Kind,
    unit: Unit,
    grafana_unit: &'static str,
    labels: Vec<&'static str>,
    meaning: &'static str,
    help: &'static str,
    added: Option<catalog::Version>,
    deprecated: Option<catalog::Version>,
    removed: Option<catalog::Version>,
    successor: Option<&'static str>,
    suggested_query: String,
    suggested_legend: &'static str,
}

/// The labels to split a suggestion by.
fn split_labels(m: &MetricDef) -> &'static [&'static str] {
    match m.scope {
        Scope::Engine | Scope::Model => &[promql::labels::MODEL_NAME],
        Scope::Own | Scope::CacheConfig => &[],
    }
}

/// A first query for a metric: rates for counters, p95 for histograms,
/// mean for summaries, sum or max for gauges; renamed metrics query both
/// names (see [`promql::version_proof`]).
pub fn suggested_query(m: &MetricDef) -> String {
    let by = split_labels(m);
    let (kind, unit) = (m.kind, m.unit);
    promql::version_proof(m.name, move |name| {
        let sel = Selector::bare(name);
        match kind {
            Kind::Counter => promql::sum_rate(&sel, by),
            Kind::Histogram => promql::histogram_quantile(0.95, &sel, by),
            Kind::Summary => promql::histogram_mean(&sel, by),
            Kind::Gauge if unit == Unit::Info => Expr::select(&sel),
            Kind::Gauge if unit == Unit::Ratio => promql::max(by, Expr::select(&sel)),
            Kind::Gauge => promql::sum(by, Expr::select(&sel)),
        }
    })
    .into()
}

fn entry(m: &'static MetricDef) -> CatalogEntry {
    // The newest engine generation that has the metric describes it.
    let engine = if m.v1.is_some() {
        Engine::V1
    } else {
        Engine::V0
    };
    let span = m.span(engine);
    let mut labels: Vec<&'static str> = m
        .common_labels(catalog::LATEST, engine)
        .iter()
        .copied()
        .chain(m.extra_labels.iter().map(|l| l.name))
        .collect();
    labels.dedup();
    CatalogEntry {
        name: m.name,
        kind: m.kind,
        unit: m.unit,
        grafana_unit: m.unit.grafana(),
        labels,
        meaning: m.meaning,
        help: m.help,
        added: span.map(|s| s.added),
        deprecated: span.and_then(|s| s.deprecated),
        removed: span.and_then(|s| s.removed),
        successor: m.successor,
        suggested_query: suggested_query(m),
        suggested_legend: if split_labels(m).is_empty() {
            super::legend::AUTO
        } else {
            "{{model_name}}"
        },
    }
}

static CATALOG_JSON: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let entries: Vec<CatalogEntry> = catalog::METRICS.iter().map(entry).collect();
    serde_json::to_vec(&entries).unwrap_or_else(|_| b"[]".to_vec())
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::names;

    #[test]
    fn every_suggestion_parses_and_reads_its_metric() {
        for m in catalog::METRICS.iter() {
            let q = suggested_query(m);
            let parsed = promql::inspect::parse(&q).unwrap_or_else(|e| panic!("{q}: {e}"));
            let read = promql::inspect::metric_names(&parsed);
            assert!(
                m.sample_names().iter().any(|n| read.contains(n)),
                "{q} does not read {}",
                m.name
            );
        }
    }

    #[test]
    fn suggestions_fit_the_metric_type() {
        let find = |name| {
            catalog::lookup(name)
                .map(suggested_query)
                .unwrap_or_default()
        };
        assert_eq!(
            find(names::PROMPT_TOKENS),
            "sum by (model_name) (rate(vllm:prompt_tokens_total[$__rate_interval]))"
        );
        assert!(find(names::TIME_TO_FIRST_TOKEN).starts_with("histogram_quantile(0.95, "));
        assert!(find(names::KV_CACHE_USAGE_PERC).contains(names::GPU_CACHE_USAGE_PERC));
    }

    #[test]
    fn parameters_and_label_names_are_read_safely() {
        let pairs = query_pairs("label-values?label=job&match[]=up%7Bjob%3D%22a%22%7D&match[]=x");
        let f = filter(&pairs);
        assert_eq!(f.matchers, ["up{job=\"a\"}", "x"]);
        assert!(valid_label_name("model_name"));
        for bad in ["", "1a", "a/b", "../x", "a b"] {
            assert!(!valid_label_name(bad), "{bad}");
        }
    }

    fn request<'a>(method: &'a str, path: &'a str, url: &'a str) -> ResourceRequest<'a> {
        ResourceRequest {
            method,
            path,
            url,
            body: b"",
            content_type: None,
        }
    }

    #[tokio::test]
    async fn unknown_routes_and_methods_are_refused() {
        let r = handle(Err("no".into()), &request("GET", "nope", "nope")).await;
        assert_eq!(r.status, 404);
        for method in ["POST", "PUT", "DELETE", "PATCH", "HEAD", ""] {
            for route in ["labels", "catalog", "nope"] {
                let r = handle(Err("no".into()), &request(method, route, route)).await;
                assert_eq!(r.status, 405, "{method} {route}");
            }
        }
        for method in ["PUT", "DELETE", "PATCH", "HEAD", ""] {
            let r = handle(
                Err("no".into()),
                &request(method, "api/v1/labels", "api/v1/labels"),
            )
            .await;
            assert_eq!(r.status, 405, "{method}");
        }
        for path in [
            "api/v1/status/config",
            "api/v1/admin/tsdb/snapshot",
            "api/v1",
            "api/v2/query",
        ] {
            let r = handle(Err("no".into()), &request("GET", path, path)).await;
            assert_eq!(r.status, 404, "{path}");
        }
        let r = handle(
            Err("settings broken".into()),
            &request("GET", "labels", "labels"),
        )
        .await;
        assert_eq!(r.status, 400);
        let r = handle(
            Err("settings broken".into()),
            &request("GET", "/catalog", "catalog"),
        )
        .await;
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        assert_eq!(v.as_array().map(Vec::len), Some(catalog::METRICS.len()));
    }
}
