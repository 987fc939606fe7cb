//! "vLLM / Overview": one dashboard for a fleet of vLLM servers, from
//! headline numbers down to the API server process. Each row is built by
//! its own module.

mod latency;
mod live;
mod runtime;
mod status;
mod traffic;

use super::layout::Layout;
use super::model::*;
use super::variables::variables;
use crate::catalog;
use crate::promql::{self, Expr, Selector};

/// Labels that identify one engine (one series per data-parallel engine).
const BY_ENGINE: &[&str] = &["instance", "engine"];
/// Labels of the per-engine table: engines plus the model they serve.
const ENGINE_KEYS: &[&str] = &["instance", "model_name", "engine"];
const BY_INSTANCE: &[&str] = &["instance"];
const BY_MODEL: &[&str] = &["model_name"];

/// The standard selector of a catalog metric.
fn s(name: &str) -> Selector {
    Selector::standard(name)
}

/// The instant vector of a gauge.
fn gauge(name: &str) -> Expr {
    Expr::select(&s(name))
}

/// What the catalog says a metric means, to open a panel description.
fn meaning(name: &str) -> &'static str {
    catalog::lookup(name).map_or("", |m| m.meaning)
}

/// Current KV-cache usage grouped by `by`, under either of its names.
fn kv_cache_usage(by: &[&str]) -> Expr {
    promql::version_proof(catalog::names::KV_CACHE_USAGE_PERC, |m| {
        promql::max(by, gauge(m))
    })
}

pub(super) fn dashboard(datasource_type: &str, uid: &str, title: &str) -> Dashboard {
    let mut layout = Layout::new(DataSourceRef {
        kind: datasource_type.to_string(),
        uid: format!("${{{}}}", super::variables::DATASOURCE),
    });
    status::rows(&mut layout);
    // Only this project's plugin streams (Grafana Live, direct mode).
    if datasource_type == super::PLUGIN_ID {
        live::rows(&mut layout);
    }
    latency::rows(&mut layout);
    traffic::rows(&mut layout);
    runtime::rows(&mut layout);
    Dashboard {
        uid: uid.to_string(),
        title: title.to_string(),
        description: "Health, latency, throughput and capacity of vLLM inference servers, for every vLLM release since 0.4 (renamed metrics are queried under both names).".to_string(),
        tags: vec!["vllm".to_string(), "llm".to_string()],
        editable: true,
        graph_tooltip: 1,
        timezone: "browser".to_string(),
        time: TimeRange {
            from: "now-1h".to_string(),
            to: "now".to_string(),
        },
        refresh: "30s".to_string(),
        schema_version: SCHEMA_VERSION,
        version: 1,
        annotations: annotations(),
        templating: Templating {
            list: variables(datasource_type),
        },
        panels: layout.finish(),
    }
}

/// Grafana's built-in annotations (alerts and manual annotations), shared by
/// every dashboard.
pub(super) fn annotations() -> Annotations {
    Annotations {
        list: vec![Annotation {
            built_in: 1,
            datasource: DataSourceRef {
                kind: "grafana".to_string(),
                uid: "-- Grafana --".to_string(),
            },
            enable: true,
            hide: true,
            icon_color: "rgba(0, 211, 255, 1)".to_string(),
            name: "Annotations & Alerts".to_string(),
            kind: "dashboard".to_string(),
        }],
    }
}
