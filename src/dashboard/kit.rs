//! Building blocks shared by the dashboards: selectors and gauges of
//! catalog metrics, percentile panels, panels read straight from the
//! catalog for families that need no more than a rate, a level or a
//! quantile, and the dashboard shell.

use super::build::{units, PanelSpec};
use super::layout::Layout;
use super::model::*;
use super::variables::{variables, DATASOURCE};
use crate::catalog::{self, Condition, Kind, Unit};
use crate::promql::{
    histogram_mean, histogram_quantile, max, sum, sum_rate, version_proof, Expr, Selector,
};

/// The standard selector of a catalog metric.
pub(super) fn s(name: &str) -> Selector {
    Selector::standard(name)
}

/// The instant vector of a gauge.
pub(super) fn gauge(name: &str) -> Expr {
    Expr::select(&s(name))
}

/// What the catalog says a metric means, to open a panel description.
pub(super) fn meaning(name: &str) -> &'static str {
    catalog::lookup(name).map_or("", |m| m.meaning)
}

/// Current KV-cache usage grouped by `by`, under either of its names.
pub(super) fn kv_cache_usage(by: &[&str]) -> Expr {
    version_proof(catalog::names::KV_CACHE_USAGE_PERC, |m| max(by, gauge(m)))
}

/// `{{a}} {{b}} prefix`: the legend of series split by `labels`.
pub(super) fn legend(labels: &[&str], prefix: &str) -> String {
    let mut parts: Vec<String> = labels.iter().map(|l| format!("{{{{{l}}}}}")).collect();
    if !prefix.is_empty() {
        parts.push(prefix.to_string());
    }
    parts.join(" ")
}

/// p50, p90, p99 and mean of a histogram grouped by `by`, under every name
/// vLLM gave it. NaN (nothing observed) reads "idle".
pub(super) fn percentiles(spec: PanelSpec, hist: &'static str, by: &[&str]) -> PanelSpec {
    let mut spec = spec;
    for (q, name) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")] {
        spec = spec.query(
            version_proof(hist, |m| histogram_quantile(q, &s(m), by)),
            &legend(by, name),
        );
    }
    spec.query(
        version_proof(hist, |m| histogram_mean(&s(m), by)),
        &legend(by, "mean"),
    )
    .idle_is_nan()
}

/// The labels a family carries beyond the common ones.
fn own_labels(name: &str) -> Vec<&'static str> {
    catalog::lookup(name).map_or(Vec::new(), |m| {
        m.extra_labels.iter().map(|l| l.name).collect()
    })
}

/// The Grafana unit of a per-second rate of a counter measured in `unit`.
fn rate_unit(unit: Unit) -> &'static str {
    match unit {
        Unit::Bytes => units::BYTES_PER_SECOND,
        Unit::Tokens => units::TOKENS_PER_SECOND,
        Unit::Requests => units::REQUESTS_PER_SECOND,
        Unit::Flops => units::FLOPS,
        // Seconds per second: the share of wall time spent.
        Unit::Seconds => units::RATIO,
        _ => units::OPS,
    }
}

/// A family as its type reads best, split by its own labels and named
/// `short` in the legend: counters as per-second rates, gauges as levels
/// (ratios and latencies by their maximum, counts summed), histograms by
/// their p90 and summaries by their mean. The panel unit follows the first
/// family added.
pub(super) fn family(spec: PanelSpec, name: &'static str, short: &str) -> PanelSpec {
    let Some(m) = catalog::lookup(name) else {
        return spec;
    };
    let by = own_labels(name);
    let legend = legend(&by, short);
    match m.kind {
        Kind::Counter => spec
            .query(sum_rate(&s(name), &by), &legend)
            .unit(rate_unit(m.unit)),
        Kind::Gauge if matches!(m.unit, Unit::Ratio | Unit::Seconds) => spec
            .query(max(&by, gauge(name)), &legend)
            .unit(m.unit.grafana()),
        Kind::Gauge => spec
            .query(sum(&by, gauge(name)), &legend)
            .unit(m.unit.grafana()),
        Kind::Histogram => spec
            .query(histogram_quantile(0.9, &s(name), &by), &legend)
            .unit(m.unit.grafana())
            .idle_is_nan(),
        Kind::Summary => spec
            .query(histogram_mean(&s(name), &by), &legend)
            .unit(m.unit.grafana())
            .idle_is_nan(),
    }
}

/// The families' meanings, in order, as one paragraph.
pub(super) fn meanings(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| meaning(n))
        .filter(|m| !m.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// How an operator turns on the metrics gated by `c`.
pub(super) fn switch(c: Condition) -> &'static str {
    match c {
        Condition::SpecDecode => "--speculative-config",
        Condition::Lora => "--enable-lora",
        Condition::KvConnector => "--kv-transfer-config naming that connector",
        Condition::KvOffload => {
            "--kv-transfer-config with OffloadingConnector (or --kv-offloading-backend native)"
        }
        Condition::KvOffloadTiering => "secondary tiers in the OffloadingConnector's spec",
        Condition::KvConsumer => "--kv-transfer-config with a consumer kv_role",
        Condition::KvCacheMetrics => "--kv-cache-metrics",
        Condition::Watermark => "a watermark_config",
        Condition::NanCheck => "the environment variable VLLM_COMPUTE_NANS_IN_LOGITS=1",
        Condition::Diffusion => "serving a diffusion language model",
        Condition::Realtime => "the realtime (websocket) transcription endpoint",
        Condition::SleepMode => "--enable-sleep-mode and a call of the sleep API",
        Condition::RlWeightUpdate => "a call of the weight-update API",
        Condition::ToolCallParser => "--tool-call-parser",
        Condition::SingleApiServer => "--api-server-count 1 (the default)",
        Condition::Linux => "a Linux host",
        Condition::Traffic => "the first request",
    }
}

/// "Needs <switch>: \"No data\" without it.", for a gated panel's description.
pub(super) fn needs(c: Condition) -> String {
    format!("Needs {}: \"No data\" without it.", switch(c))
}

/// A dashboard of this set around `panels`, with the standard variables.
pub(super) fn shell(
    datasource_type: &str,
    uid: &str,
    title: &str,
    description: &str,
    panels: Vec<PanelItem>,
) -> Dashboard {
    Dashboard {
        uid: uid.to_string(),
        title: title.to_string(),
        description: description.to_string(),
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
        links: Vec::new(),
        templating: Templating {
            list: variables(datasource_type),
        },
        panels,
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

/// A layout whose panels read the `$datasource` variable of `datasource_type`.
pub(super) fn layout(datasource_type: &str) -> Layout {
    Layout::new(DataSourceRef {
        kind: datasource_type.to_string(),
        uid: format!("${{{DATASOURCE}}}"),
    })
}

/// Links from every dashboard of a set to the others, keeping the time
/// range and the variables (a variable the target lacks is ignored).
pub(super) fn link_all(set: &mut [(String, Dashboard)]) {
    let targets: Vec<(String, String)> = set
        .iter()
        .map(|(_, d)| (d.uid.clone(), d.title.clone()))
        .collect();
    for (_, d) in set.iter_mut() {
        d.links = targets
            .iter()
            .filter(|(uid, _)| *uid != d.uid)
            .map(|(uid, title)| DashboardLink {
                title: title.clone(),
                kind: LinkKind::Link,
                icon: "dashboard".to_string(),
                tooltip: format!("Open {title} with the same time range and filters"),
                url: format!("/d/{uid}"),
                tags: Vec::new(),
                as_dropdown: false,
                target_blank: false,
                include_vars: true,
                keep_time: true,
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::names;

    #[test]
    fn families_are_read_by_their_type() {
        let p = family(
            PanelSpec::timeseries("t", 12),
            names::KV_OFFLOAD_TIERING_READ_BYTES,
            "read",
        )
        .build(
            1,
            GridPos {
                h: 8,
                w: 12,
                x: 0,
                y: 0,
            },
            &DataSourceRef {
                kind: "prometheus".into(),
                uid: "${datasource}".into(),
            },
        );
        assert!(p.targets[0].expr.starts_with("sum by (tier) (rate("));
        assert_eq!(p.targets[0].legend_format, "{{tier}} read");
        assert_eq!(p.field_config.defaults.unit, units::BYTES_PER_SECOND);
        assert!(kv_cache_usage(&[])
            .as_str()
            .contains(names::GPU_CACHE_USAGE_PERC));
    }
}
