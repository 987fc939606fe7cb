//! The catalog as a Markdown reference (`docs/METRICS.md`), generated so the
//! document can never disagree with the code.

use super::dcgm::{labels, DCGM_METRICS};
use super::{Kind, MetricDef, Span, METRICS};
use std::fmt::Write;

fn span_text(span: Option<Span>) -> String {
    let Some(s) = span else {
        return "—".to_string();
    };
    let mut out = format!("{}", s.added);
    if let Some(d) = s.deprecated {
        let _ = write!(out, ", deprecated {d}");
    }
    if let Some(h) = s.hidden {
        let _ = write!(out, ", hidden {h}");
    }
    if let Some(r) = s.removed {
        let _ = write!(out, ", removed {r}");
    }
    out
}

fn kind(m: &MetricDef) -> &'static str {
    kind_name(m.kind)
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
        Kind::Summary => "summary",
    }
}

/// Render the whole catalog as Markdown.
pub fn markdown() -> String {
    let mut out = String::from(
        "# vLLM metrics reference\n\n\
         Generated from the metric catalog (`src/catalog/`) by `vllm-grafana catalog --markdown`; \
         a test fails when this file is out of date. Versions are the first vLLM release where the \
         event is visible. V0 is the original engine (default until 0.7.x, gone after 0.11.0); V1 \
         is the engine used by default from 0.8.0. Counters are listed with the `_total` suffix \
         they are exposed with; histograms by their base name (`_bucket`, `_sum`, `_count`).\n\n\
         | Metric | Type | Unit | Extra labels | V0 engine | V1 engine | Successor | Needs | Meaning |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for m in METRICS.iter() {
        let labels: Vec<&str> = m.extra_labels.iter().map(|l| l.name).collect();
        let needs: Vec<String> = m.requires.iter().map(|c| format!("{c:?}")).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {:?} | {} | {} | {} | {} | {} | {} |",
            m.name,
            kind(m),
            m.unit,
            if labels.is_empty() {
                "—".to_string()
            } else {
                labels.join(", ")
            },
            span_text(m.v0),
            span_text(m.v1),
            m.successor.map_or("—".to_string(), |s| format!("`{s}`")),
            if needs.is_empty() {
                "—".to_string()
            } else {
                needs.join(", ")
            },
            m.meaning.replace('|', "\\|"),
        );
    }
    dcgm_section(&mut out);
    out
}

/// The DCGM exporter's GPU metrics: a separate endpoint, not vLLM's.
fn dcgm_section(out: &mut String) {
    let code = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = write!(
        out,
        "\n## GPU metrics (NVIDIA DCGM exporter)\n\n\
         Served by the DCGM exporter, its own endpoint beside vLLM (port 9400, `/metrics`, one per \
         node), not by vLLM; they have no vLLM release history and play no part in telling vLLM \
         releases apart. Names, types and HELP texts are the exporter's default counter list \
         (`etc/default-counters.csv`); \"Default\" says whether that list enables the field. The \
         exporter adds no `_total` to its counters. Every series carries {}, then `{}` when the node \
         name is known (`{}` on the exporter's development branch), then the driver version as \
         `{}`; with Kubernetes pod mapping also {}.\n\n\
         | Metric | Type | Unit | Default | Profiling | Meaning |\n\
         |---|---|---|---|---|---|\n",
        code(labels::DEVICE_LABELS),
        labels::HOSTNAME,
        labels::HOSTNAME_NEW,
        labels::DRIVER_VERSION,
        code(labels::POD_LABELS),
    );
    for m in DCGM_METRICS {
        let _ = writeln!(
            out,
            "| `{}` | {} | {:?} | {} | {} | {} |",
            m.name,
            kind_name(m.kind),
            m.unit,
            if m.default { "yes" } else { "no" },
            if m.profiling { "yes" } else { "no" },
            m.meaning.replace('|', "\\|"),
        );
    }
}
