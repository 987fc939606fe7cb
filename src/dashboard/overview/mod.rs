//! "vLLM / Overview": one dashboard for a fleet of vLLM servers, from
//! headline numbers down to the API server process. Each row is built by
//! its own module.

mod latency;
mod live;
mod runtime;
mod status;
mod traffic;

use super::kit::{self, gauge, kv_cache_usage, meaning, s};
use super::model::Dashboard;

/// Labels that identify one engine (one series per data-parallel engine).
const BY_ENGINE: &[&str] = &["instance", "engine"];
/// Labels of the per-engine table: engines plus the model they serve.
const ENGINE_KEYS: &[&str] = &["instance", "model_name", "engine"];
const BY_INSTANCE: &[&str] = &["instance"];
const BY_MODEL: &[&str] = &["model_name"];

pub(super) fn dashboard(datasource_type: &str, uid: &str, title: &str) -> Dashboard {
    let mut layout = kit::layout(datasource_type);
    status::rows(&mut layout);
    // Only this project's plugin streams (Grafana Live, direct mode).
    if datasource_type == super::PLUGIN_ID {
        live::rows(&mut layout);
    }
    latency::rows(&mut layout);
    traffic::rows(&mut layout);
    runtime::rows(&mut layout);
    kit::shell(
        datasource_type,
        uid,
        title,
        "Health, latency, throughput and capacity of vLLM inference servers, for every vLLM release since 0.4 (renamed metrics are queried under both names).",
        layout.finish(),
    )
}
