//! CheckHealth in Prometheus mode: is Prometheus reachable, which version,
//! does it scrape vLLM (how many targets, which models), and what to fix
//! when it does not.

use super::backend::{
    BackendError, HealthReport, InstantRequest, Labels, QueryBackend, ResultData,
};
use super::prometheus::{PrometheusBackend, ServerKind, Target};
use crate::catalog::names;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

/// How many items a message lists before "and N more".
const LIST_LIMIT: usize = 5;

/// vLLM's metric namespace, taken from a name every release exposes.
fn vllm_prefix() -> &'static str {
    let name = names::NUM_REQUESTS_RUNNING;
    name.find(':').map_or(name, |i| &name[..=i])
}

/// The namespace Ray Serve gives vLLM's metrics (`vllm:` becomes `vllm_`).
fn ray_prefix() -> String {
    vllm_prefix().replace(':', "_")
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

fn listing(items: &[String]) -> String {
    let mut out = items
        .iter()
        .take(LIST_LIMIT)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LIST_LIMIT {
        out.push_str(&format!(" and {} more", items.len() - LIST_LIMIT));
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Newest vLLM samples older than this on VictoriaMetrics point at its
/// latency offset (30 s by default) rather than at slow scrapes.
const STALE_AFTER_S: f64 = 25.0;

/// What VictoriaMetrics' `-search.latencyOffset` does, for messages.
const LATENCY_OFFSET_HINT: &str = "VictoriaMetrics hides samples younger than -search.latencyOffset (30 s by default), so panels lag and alerts fire late; start it with -search.latencyOffset=5s";

/// Seconds since the newest vLLM sample, as the server answers `now`.
async fn newest_sample_age(prom: &PrometheusBackend) -> Option<f64> {
    let expr = format!("max(timestamp({{__name__=~\"{}.+\"}}))", vllm_prefix());
    let now = now_ns();
    let result = prom
        .query_instant(&InstantRequest {
            expr: &expr,
            time_ns: now,
        })
        .await
        .ok()?;
    let newest = match result.data {
        ResultData::Vector(series) => series.first()?.points.last()?.v,
        _ => return None,
    };
    Some(now as f64 / 1e9 - newest)
}

fn error(message: String, details: serde_json::Value) -> HealthReport {
    HealthReport {
        ok: false,
        message,
        details,
    }
}

/// The label sets `expr` returns right now.
async fn live_series(prom: &PrometheusBackend, expr: &str) -> Result<Vec<Labels>, BackendError> {
    let result = prom
        .query_instant(&InstantRequest {
            expr,
            time_ns: now_ns(),
        })
        .await?;
    Ok(match result.data {
        ResultData::Vector(series) | ResultData::Matrix(series) => {
            series.into_iter().map(|s| s.labels).collect()
        }
        _ => Vec::new(),
    })
}

fn describe_down(t: &Target) -> String {
    let instance = t
        .labels
        .get("instance")
        .map_or(t.scrape_url.as_str(), String::as_str);
    let job = t.labels.get("job").map_or("", String::as_str);
    let why = if t.last_error.is_empty() {
        "no successful scrape yet".to_string()
    } else {
        t.last_error.clone()
    };
    format!("{instance} (job {job}: {why})")
}

pub async fn check(prom: &PrometheusBackend) -> HealthReport {
    let url = prom.url().to_string();
    let identified = match prom.identify().await {
        Ok(server) => server,
        Err(e) => return error(e.to_string(), json!({ "url": url })),
    };
    let version = identified.version.clone();
    let server = format!("{} at {url}", identified.describe());
    let vllm_query = format!(
        "group by (job, instance, model_name) ({{__name__=~\"{}.+\"}})",
        vllm_prefix()
    );
    let series = match live_series(prom, &vllm_query).await {
        Ok(series) => series,
        Err(e) => {
            return error(
                format!("{server} answered, but querying it failed: {e}"),
                json!({ "url": url, "prometheusVersion": version }),
            )
        }
    };
    // Target health is a hint only: some Prometheus-compatible servers lack the endpoint.
    let down: Vec<Target> = prom
        .active_targets()
        .await
        .map(|targets| targets.into_iter().filter(|t| t.health == "down").collect())
        .unwrap_or_default();
    let targets: BTreeSet<(String, String)> = series
        .iter()
        .map(|l| {
            (
                l.get("job").cloned().unwrap_or_default(),
                l.get("instance").cloned().unwrap_or_default(),
            )
        })
        .collect();
    let models: BTreeSet<String> = series
        .iter()
        .filter_map(|l| l.get("model_name").cloned())
        .collect();
    let jobs: BTreeSet<&String> = targets.iter().map(|(job, _)| job).collect();
    let down_details: Vec<serde_json::Value> = down
        .iter()
        .map(|t| {
            json!({
                "job": t.labels.get("job"),
                "instance": t.labels.get("instance"),
                "scrapeUrl": t.scrape_url,
                "lastError": t.last_error,
            })
        })
        .collect();
    let details = json!({
        "url": url,
        "prometheusVersion": version,
        "server": identified.kind_name(),
        "vllmTargets": targets.iter().map(|(job, instance)| json!({"job": job, "instance": instance})).collect::<Vec<_>>(),
        "models": models,
        "downTargets": down_details,
    });

    if targets.is_empty() {
        let ray = format!("count({{__name__=~\"{}.+\"}})", ray_prefix());
        if live_series(prom, &ray).await.is_ok_and(|s| !s.is_empty()) {
            return error(
                format!(
                    "{server} has no {} series but has {} ones: vLLM under Ray Serve renames its metrics. \
                     Scrape the vLLM server's own /metrics endpoint, which the dashboards expect",
                    vllm_prefix(),
                    ray_prefix()
                ),
                details,
            );
        }
        // VictoriaMetrics shows nothing for its first 30 s.
        let startup = if identified.kind == ServerKind::VictoriaMetrics {
            format!(". If it started scraping in the last 30 s, try again: {LATENCY_OFFSET_HINT}")
        } else {
            String::new()
        };
        if !down.is_empty() {
            let names: Vec<String> = down.iter().map(describe_down).collect();
            return error(
                format!(
                    "{server} has no {} series and {} down: {}. Check that these vLLM servers run and are reachable from Prometheus{startup}",
                    vllm_prefix(),
                    plural(down.len(), "scrape target is", "scrape targets are"),
                    listing(&names)
                ),
                details,
            );
        }
        return error(
            format!(
                "{server} is reachable but has no {} series: check the scrape config. Prometheus must scrape each \
                 vLLM server's /metrics (the API server port, 8000 by default), and vLLM must run without --disable-log-stats{startup}",
                vllm_prefix()
            ),
            details,
        );
    }

    let instance_names: Vec<String> = targets.iter().map(|(_, i)| i.clone()).collect();
    let model_names: Vec<String> = models.iter().cloned().collect();
    let mut message = format!(
        "{server}: {} ({}) serving {}",
        plural(targets.len(), "vLLM target", "vLLM targets"),
        listing(&instance_names),
        plural(models.len(), "model", "models"),
    );
    if !model_names.is_empty() {
        message.push_str(&format!(" ({})", listing(&model_names)));
    }
    message.push('.');
    // Targets of the same jobs that are down: their series have gone stale.
    let stale: Vec<String> = down
        .iter()
        .filter(|t| t.labels.get("job").is_some_and(|j| jobs.contains(j)))
        .map(describe_down)
        .collect();
    if !stale.is_empty() {
        message.push_str(&format!(
            " Warning: {} of the vLLM jobs {}: {}; their panels show stale or no data.",
            plural(stale.len(), "target", "targets"),
            if stale.len() == 1 {
                "is down"
            } else {
                "are down"
            },
            listing(&stale)
        ));
    }
    let mut details = details;
    if identified.kind == ServerKind::VictoriaMetrics {
        if let Some(age) = newest_sample_age(prom).await {
            details["newestSampleAgeSeconds"] = json!(age.round());
            if age > STALE_AFTER_S {
                message.push_str(&format!(
                    " Warning: its newest vLLM sample is {age:.0} s old: {LATENCY_OFFSET_HINT}."
                ));
            }
        }
    }
    HealthReport {
        ok: true,
        message,
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_come_from_the_catalog() {
        assert_eq!(vllm_prefix(), "vllm:");
        assert_eq!(ray_prefix(), "vllm_");
        let many: Vec<String> = (0..7).map(|i| i.to_string()).collect();
        assert_eq!(listing(&many), "0, 1, 2, 3, 4 and 2 more");
    }
}
