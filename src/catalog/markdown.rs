//! The catalog as a Markdown reference (`docs/METRICS.md`), generated so the
//! document can never disagree with the code.

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
    match m.kind {
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
    out
}
