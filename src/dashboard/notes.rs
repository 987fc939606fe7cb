//! The "Metrics: ..." line of panel descriptions, with each metric's release
//! range and prerequisites taken from the catalog, so a panel that shows
//! "No data" on some vLLM versions says which.

use crate::catalog::{self, Condition, MetricDef, V1_DEFAULT_FROM};
use crate::promql::{inspect, SCRAPE_SERIES};

/// "Metrics: `a` (from 0.9.2), `b` (before 0.11.0)." for the metrics the
/// queries read, in order of first use; empty when there are none.
pub(super) fn metrics_note(exprs: &[&str]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for expr in exprs {
        // Unparsable queries are reported by the dashboard tests.
        let Ok(ast) = inspect::parse(expr) else {
            continue;
        };
        for sel in inspect::selectors(&ast) {
            let base = catalog::lookup(&sel.name).map_or(sel.name, |m| m.name.to_string());
            if !seen.contains(&base) {
                seen.push(base);
            }
        }
    }
    if seen.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = seen
        .iter()
        .map(|name| {
            let when = match catalog::lookup(name) {
                Some(m) => availability(m),
                None if SCRAPE_SERIES.contains(&name.as_str()) => "added by Prometheus".to_string(),
                None => String::new(),
            };
            if when.is_empty() {
                format!("`{name}`")
            } else {
                format!("`{name}` ({when})")
            }
        })
        .collect();
    format!("Metrics: {}.", parts.join(", "))
}

/// When a metric is there: engine, first release, last release shown by
/// default, and what must be configured. Empty for metrics every release has.
fn availability(m: &MetricDef) -> String {
    let mut parts = Vec::new();
    let first = [m.v0, m.v1].iter().flatten().map(|s| s.added).min();
    match (m.v0.is_some(), m.v1.is_some()) {
        (false, true) if first <= Some(V1_DEFAULT_FROM) => parts.push("V1 engine".to_string()),
        (true, false) => parts.push("V0 engine".to_string()),
        _ => {}
    }
    if let Some(first) = first.filter(|f| *f > V1_DEFAULT_FROM) {
        parts.push(format!("from {first}"));
    }
    // The engine a current release runs decides when the name goes away.
    if let Some(end) = m.v1.or(m.v0).and_then(|s| s.hidden.or(s.removed)) {
        parts.push(format!("before {end}"));
    }
    for c in m.requires {
        let text = condition_text(*c).to_string();
        // Several conditions can share a wording (offloading and its tiers).
        if !parts.contains(&text) {
            parts.push(text);
        }
    }
    parts.join(", ")
}

fn condition_text(c: Condition) -> &'static str {
    match c {
        Condition::SpecDecode => "with speculative decoding",
        Condition::Lora => "with LoRA enabled",
        Condition::SingleApiServer => "single API server only",
        Condition::Linux => "Linux only",
        Condition::Traffic => "after the first request",
        Condition::KvConnector | Condition::KvConsumer => "with a KV connector",
        Condition::KvOffload | Condition::KvOffloadTiering => "with KV offloading",
        Condition::KvCacheMetrics => "with --kv-cache-metrics",
        _ => "only when configured",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::names;
    use crate::promql::{rate, Expr, Selector};

    #[test]
    fn notes_name_release_ranges_and_conditions() {
        let a = Expr::select(&Selector::standard(names::KV_CACHE_USAGE_PERC)).to_string();
        let b = Expr::select(&Selector::standard(names::GPU_CACHE_USAGE_PERC)).to_string();
        let c = rate(&Selector::standard(names::PROCESS_CPU_SECONDS)).to_string();
        let d = rate(&Selector::standard(names::TIME_TO_FIRST_TOKEN).bucket()).to_string();
        let note = metrics_note(&[&a, &b, &c, &d, &a]);
        assert_eq!(
            note,
            "Metrics: `vllm:kv_cache_usage_perc` (from 0.9.2), \
             `vllm:gpu_cache_usage_perc` (before 0.11.0), \
             `process_cpu_seconds_total` (single API server only, Linux only), \
             `vllm:time_to_first_token_seconds`."
        );
        assert_eq!(metrics_note(&["vector(0)"]), "");
    }
}
