//! The "Overview" row: headline numbers and the per-engine table.

use super::{gauge, kv_cache_usage, meaning, s, ENGINE_KEYS};
use crate::catalog::names::*;
use crate::dashboard::build::{units, PanelSpec};
use crate::dashboard::layout::Layout;
use crate::dashboard::variables::TTFT_SLO;
use crate::promql::{
    count, histogram_quantile, sum, sum_rate, vector, version_proof, Cmp, Expr, Selector,
};

pub(super) fn rows(l: &mut Layout) {
    l.row("Overview", false);

    l.add(
        PanelSpec::stat("Running requests")
            .about(&format!(
                "{} If it stays at the same level while requests wait, the engine is at its batch limit (--max-num-seqs) or out of KV cache: add replicas.",
                meaning(NUM_REQUESTS_RUNNING)
            ))
            .query(sum(&[], gauge(NUM_REQUESTS_RUNNING)), "running")
            .unit(units::COUNT)
            .decimals(0),
    );
    l.add(
        PanelSpec::stat("Waiting requests")
            .about(&format!(
                "{} Any sustained value above zero adds queue time to every request's time to first token.",
                meaning(NUM_REQUESTS_WAITING)
            ))
            .query(sum(&[], gauge(NUM_REQUESTS_WAITING)), "waiting")
            .unit(units::COUNT)
            .decimals(0)
            .warn_at(1.0, 50.0),
    );
    l.add(
        PanelSpec::gauge("KV-cache usage")
            .about(&format!(
                "{} Shows the fullest engine. Above 95% expect preemptions: raise --gpu-memory-utilization, lower --max-num-seqs or --max-model-len, or add replicas.",
                meaning(KV_CACHE_USAGE_PERC)
            ))
            .query(kv_cache_usage(&[]), "KV cache")
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .warn_at(0.8, 0.95),
    );
    l.add(
        PanelSpec::stat("Generation throughput")
            .about(&format!(
                "{} A drop while requests are running means the engines are stalled (see Stale engines).",
                meaning(GENERATION_TOKENS)
            ))
            .query(sum_rate(&s(GENERATION_TOKENS), &[]), "generation")
            .unit(units::TOKENS_PER_SECOND),
    );
    l.add(
        PanelSpec::stat("Prompt throughput")
            .about(&format!(
                "{} Prompts served from the prefix cache count too; see the Cache row for how many were recomputed.",
                meaning(PROMPT_TOKENS)
            ))
            .query(sum_rate(&s(PROMPT_TOKENS), &[]), "prompt")
            .unit(units::TOKENS_PER_SECOND),
    );
    l.add(
        PanelSpec::stat("Finished requests")
            .about("Requests finished per second, whatever the reason (stop, length, abort, error). Zero while clients send traffic means requests are stuck or rejected before the engine: check the HTTP 5xx ratio and the Stale engines panel.")
            .query(sum_rate(&s(REQUEST_SUCCESS), &[]), "finished")
            .unit(units::REQUESTS_PER_SECOND),
    );
    l.add(
        PanelSpec::stat("TTFT p95")
            .about("95th percentile of the time to first token over all selected engines. High values come from queueing (see Waiting requests and Queue time) or long prompts (see Prefill time). Reads \"idle\" when no request finished its first token in the window.")
            .query(histogram_quantile(0.95, &s(TIME_TO_FIRST_TOKEN), &[]), "p95")
            .unit(units::SECONDS)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::stat("ITL p95")
            .about("95th percentile of the time between two output tokens of a stream. High values mean the batch is too large for the GPU or prefills interrupt decoding: lower --max-num-seqs or enable chunked prefill. Older releases report the same histogram as time per output token; both names are queried. Reads \"idle\" when no token was generated in the window.")
            .query(
                version_proof(INTER_TOKEN_LATENCY, |m| histogram_quantile(0.95, &s(m), &[])),
                "p95",
            )
            .unit(units::SECONDS)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::stat("TTFT SLO attainment")
            .about("Share of requests whose first token came within the TTFT SLO chosen at the top of the dashboard. Below 99% users wait noticeably: check queueing first. Reads \"idle\" when no request was observed in the window.")
            .query(
                crate::promql::share_at_most(
                    &s(TIME_TO_FIRST_TOKEN),
                    &format!("${TTFT_SLO}"),
                    &[],
                ),
                "within SLO",
            )
            .unit(units::RATIO)
            .decimals(1)
            .good_from(0.9, 0.99)
            .idle_is_nan(),
    );
    let finished = s(REQUEST_SUCCESS);
    l.add(
        PanelSpec::stat("Failed requests")
            .about("Share of finished requests that were aborted (the client disconnected or timed out) or failed with an engine error. Many aborts mean clients give up before the answer: latency is too high. Errors need the server log. vLLM reports engine errors from 0.13.0 on; before that this shows aborts only. Reads \"idle\" when nothing finished.")
            .query(
                sum_rate(&finished.clone().re("finished_reason", "error|abort"), &[])
                    / sum_rate(&finished, &[]),
                "failed",
            )
            .unit(units::RATIO)
            .decimals(2)
            .warn_at(0.01, 0.05)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::stat("Unreachable targets")
            .about("Scrape targets of the selected jobs that Prometheus cannot reach right now (up == 0), whatever instance is selected. Anything above zero: the server is down, restarting, or its /metrics port is blocked. Check the pod or process and the scrape configuration.")
            .query(
                count(
                    &[],
                    Expr::select(&Selector::scrape(UP)).cmp(Cmp::Eq, Expr::num(0.0)),
                )
                .or(vector(0.0)),
                "down",
            )
            .unit(units::COUNT)
            .decimals(0)
            .red_from(1.0),
    );
    let busy = (sum(ENGINE_KEYS, gauge(NUM_REQUESTS_RUNNING))
        + sum(ENGINE_KEYS, gauge(NUM_REQUESTS_WAITING)))
    .cmp(Cmp::Gt, Expr::num(0.0));
    let not_generating = sum_rate(&s(GENERATION_TOKENS), ENGINE_KEYS).cmp(Cmp::Eq, Expr::num(0.0));
    l.add(
        PanelSpec::stat("Stale engines")
            .about("Engines that report running or waiting requests but generated no token in the window. Either the engine is hung (restart it) or its gauges are stuck after mass cancellations, which older releases did not reset: compare with client-side traffic.")
            .query(count(&[], busy.and(not_generating)).or(vector(0.0)), "stale")
            .unit(units::COUNT)
            .decimals(0)
            .red_from(1.0),
    );

    l.add(
        PanelSpec::table("Engines", 24)
            .about("One line per data-parallel engine of each instance and model, current values. Sort by a column to find the busiest or slowest engine; an engine far from the others points at uneven load balancing. The engine column is empty before vLLM 0.8.3.")
            .column("Running", sum(ENGINE_KEYS, gauge(NUM_REQUESTS_RUNNING)), None, &[])
            .column("Waiting", sum(ENGINE_KEYS, gauge(NUM_REQUESTS_WAITING)), None, &[(1.0, "orange")])
            .column(
                "KV cache",
                kv_cache_usage(ENGINE_KEYS),
                Some(units::RATIO),
                &[(0.8, "orange"), (0.95, "red")],
            )
            .column(
                "Generation",
                sum_rate(&s(GENERATION_TOKENS), ENGINE_KEYS),
                Some(units::TOKENS_PER_SECOND),
                &[],
            )
            .column(
                "TTFT p95",
                histogram_quantile(0.95, &s(TIME_TO_FIRST_TOKEN), ENGINE_KEYS),
                Some(units::SECONDS),
                &[],
            )
            .column(
                "Preemptions",
                sum_rate(&s(NUM_PREEMPTIONS), ENGINE_KEYS),
                Some(units::REQUESTS_PER_SECOND),
                &[(0.01, "orange")],
            )
            .unit(units::COUNT)
            .idle_is_nan()
            .sort_by("Waiting", true),
    );
}
