//! The "Live" row of the plugin flavour: queue, KV cache and token rate
//! streamed at every scrape through Grafana Live (the plugin's direct mode).
//! A Prometheus datasource cannot stream, so the Prometheus flavour has no
//! such row.

use super::{gauge, kv_cache_usage, s};
use crate::catalog::names::*;
use crate::dashboard::build::{units, PanelSpec};
use crate::dashboard::layout::Layout;
use crate::promql::{sum, sum_rate};

const ABOUT: &str = "Streamed: a new point at every scrape of the vLLM servers, without refreshing the dashboard (Grafana Live, the vLLM datasource in direct mode). A Prometheus-mode datasource draws the same series at the dashboard refresh and says live needs direct mode.";

pub(super) fn rows(l: &mut Layout) {
    l.row("Live", false);
    l.add(
        PanelSpec::timeseries("Queue (live)", 8)
            .about(&format!(
                "Requests waiting for and running in the batch, all selected engines. {ABOUT}"
            ))
            .query(sum(&[], gauge(NUM_REQUESTS_WAITING)), "waiting")
            .query(sum(&[], gauge(NUM_REQUESTS_RUNNING)), "running")
            .unit(units::COUNT)
            .decimals(0)
            .live(),
    );
    l.add(
        PanelSpec::timeseries("KV cache (live)", 8)
            .about(&format!(
                "KV-cache usage of the fullest engine; above 95% expect preemptions. {ABOUT}"
            ))
            .query(kv_cache_usage(&[]), "KV cache")
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .live(),
    );
    l.add(
        PanelSpec::timeseries("Tokens/s (live)", 8)
            .about(&format!(
                "Prompt and generated tokens per second, all selected engines. {ABOUT}"
            ))
            .query(sum_rate(&s(PROMPT_TOKENS), &[]), "prompt")
            .query(sum_rate(&s(GENERATION_TOKENS), &[]), "generation")
            .unit(units::TOKENS_PER_SECOND)
            .live(),
    );
}
