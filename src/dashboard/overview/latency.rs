//! The "Latency" row: where request time goes, and SLO attainment.

use super::s;
use crate::catalog::names::*;
use crate::dashboard::build::{units, PanelSpec};
use crate::dashboard::layout::Layout;
use crate::dashboard::variables::{ITL_SLO, TTFT_SLO};
use crate::promql::{histogram_mean, histogram_quantile, rate, share_at_most, sum, version_proof};

/// p50, p95, p99 and mean of a latency histogram, under every name vLLM
/// gave it.
fn percentiles(spec: PanelSpec, hist: &'static str) -> PanelSpec {
    let mut spec = spec;
    for (q, legend) in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")] {
        spec = spec.query(
            version_proof(hist, |m| histogram_quantile(q, &s(m), &[])),
            legend,
        );
    }
    spec.query(version_proof(hist, |m| histogram_mean(&s(m), &[])), "mean")
        .unit(units::SECONDS)
        .idle_is_nan()
}

pub(super) fn rows(l: &mut Layout) {
    l.row("Latency", false);

    l.add(percentiles(
        PanelSpec::timeseries("Time to first token", 12).about(
            "From request arrival to its first output token: the responsiveness users feel. It includes queue time and prefill, so compare with Queue time and Prefill time below to see which one grows. Gaps read \"idle\": no request got its first token in the window.",
        ),
        TIME_TO_FIRST_TOKEN,
    ));
    l.add(percentiles(
        PanelSpec::timeseries("Inter-token latency", 12).about(
            "Time between two consecutive output tokens of a stream, one observation per token. Rising values mean larger batches or prefills interleaved with decoding: lower --max-num-seqs, tune --max-num-batched-tokens, or add replicas. vLLM before 0.10.2 names this histogram time per output token; both names are queried.",
        ),
        INTER_TOKEN_LATENCY,
    ));
    l.add(
        percentiles(
            PanelSpec::timeseries("Time per output token (per request)", 12).about(
                "Each finished request's mean time per output token after the first, one observation per request. Unlike inter-token latency it weighs short and long answers equally. Needs vLLM 0.11.0 or later: \"No data\" before.",
            ),
            REQUEST_TIME_PER_OUTPUT_TOKEN,
        )
        .conditional("vLLM 0.11.0 or later"),
    );
    l.add(percentiles(
        PanelSpec::timeseries("End-to-end request latency", 12).about(
            "From arrival to the last token of each finished request. It grows with output length, so read it together with the mean output length (Throughput & tokens row). Buckets end at 60 s before vLLM 0.8.4, which caps high percentiles there.",
        ),
        E2E_REQUEST_LATENCY,
    ));
    l.add(percentiles(
        PanelSpec::timeseries("Queue time", 8).about(&format!(
            "{} Sustained values above zero: the engines are full. Add replicas or lower the load.",
            super::meaning(REQUEST_QUEUE_TIME)
        )),
        REQUEST_QUEUE_TIME,
    ));
    l.add(percentiles(
        PanelSpec::timeseries("Prefill time", 8).about(&format!(
            "{} Grows with prompt length and falls with prefix-cache hits; if it dominates time to first token, consider chunked prefill or a larger --max-num-batched-tokens.",
            super::meaning(REQUEST_PREFILL_TIME)
        )),
        REQUEST_PREFILL_TIME,
    ));
    l.add(percentiles(
        PanelSpec::timeseries("Decode time", 8).about(&format!(
            "{} Grows with output length and with batch size; compare with inter-token latency.",
            super::meaning(REQUEST_DECODE_TIME)
        )),
        REQUEST_DECODE_TIME,
    ));
    l.add(
        PanelSpec::timeseries("SLO attainment", 12)
            .about("Share of requests whose first token came within the TTFT SLO, and share of output tokens that came within the ITL SLO of the previous one (both chosen at the top of the dashboard). Below 99%: see Queue time for TTFT and batch size for ITL. Gaps read \"idle\".")
            .query(
                share_at_most(&s(TIME_TO_FIRST_TOKEN), &format!("${TTFT_SLO}"), &[]),
                "TTFT within ${ttft_slo} s",
            )
            .query(
                version_proof(INTER_TOKEN_LATENCY, |m| {
                    share_at_most(&s(m), &format!("${ITL_SLO}"), &[])
                }),
                "ITL within ${itl_slo} s",
            )
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .good_from(0.9, 0.99)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::heatmap("Time to first token distribution", 12)
            .about("Requests per second by time-to-first-token bucket. Two bands mean two populations, e.g. prefix-cache hits and misses, or short and long prompts; a band moving up means queueing.")
            .query(sum(&["le"], rate(&s(TIME_TO_FIRST_TOKEN).bucket())), "{{le}}")
            .unit(units::REQUESTS_PER_SECOND)
            .y_unit(units::SECONDS),
    );
}
