//! Rows about the work the engines do: throughput and tokens, cache,
//! request outcomes, and the scheduler.

use super::{gauge, kv_cache_usage, meaning, s, BY_ENGINE, BY_MODEL};
use crate::catalog::names::*;
use crate::dashboard::build::{units, PanelSpec};
use crate::dashboard::layout::Layout;
use crate::promql::{
    aggregate, histogram_mean, histogram_quantile, sum, sum_rate, vector, version_proof,
    version_proof_all,
};

pub(super) fn rows(l: &mut Layout) {
    throughput(l);
    cache(l);
    requests(l);
    scheduler(l);
}

fn throughput(l: &mut Layout) {
    l.row("Throughput & tokens", false);
    l.add(
        PanelSpec::timeseries("Token throughput", 12)
            .about("Prompt (prefill) and generated tokens per second, per model. Generation falling while requests wait means the engines are saturated; prompt tokens include those served from the prefix cache.")
            .query(sum_rate(&s(PROMPT_TOKENS), BY_MODEL), "{{model_name}} prompt")
            .query(
                sum_rate(&s(GENERATION_TOKENS), BY_MODEL),
                "{{model_name}} generation",
            )
            .unit(units::TOKENS_PER_SECOND),
    );
    l.add(
        PanelSpec::timeseries("Mean prompt and output length", 12)
            .about("Mean prompt and output tokens of the requests that finished in the window. A shift explains latency and throughput changes without any server fault: longer prompts raise prefill time, longer outputs raise end-to-end latency. Gaps read \"idle\".")
            .query(histogram_mean(&s(REQUEST_PROMPT_TOKENS), &[]), "prompt")
            .query(histogram_mean(&s(REQUEST_GENERATION_TOKENS), &[]), "output")
            .unit(units::TOKENS)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::timeseries("Tokens per engine step", 12)
            .about(&format!(
                "{} Small steps with requests waiting mean the scheduler cannot fill the batch (KV cache or --max-num-seqs); steps near --max-num-batched-tokens mean the batch is full. Gaps read \"idle\".",
                meaning(ITERATION_TOKENS)
            ))
            .query(histogram_quantile(0.5, &s(ITERATION_TOKENS), &[]), "p50")
            .query(histogram_quantile(0.99, &s(ITERATION_TOKENS), &[]), "p99")
            .query(histogram_mean(&s(ITERATION_TOKENS), &[]), "mean")
            .unit(units::TOKENS)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::timeseries("Engine steps", 12)
            .about("Engine steps (forward passes) per second of each engine. An engine with far fewer steps than its peers while it has requests is slow or stuck.")
            .query(
                sum_rate(&s(ITERATION_TOKENS).count(), BY_ENGINE),
                "{{instance}} {{engine}}",
            )
            .unit(units::STEPS_PER_SECOND),
    );
}

fn cache(l: &mut Layout) {
    l.row("Cache", false);
    l.add(
        PanelSpec::timeseries("KV-cache usage by engine", 12)
            .about(&format!(
                "{} One line per engine. Above 95% expect preemptions and queueing: raise --gpu-memory-utilization, lower --max-num-seqs or --max-model-len, or add replicas. Stuck near 100% with no traffic: the gauge was not reset after cancellations (see Stale engines).",
                meaning(KV_CACHE_USAGE_PERC)
            ))
            .query(kv_cache_usage(BY_ENGINE), "{{instance}} {{engine}}")
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .warn_at(0.8, 0.95),
    );
    l.add(
        PanelSpec::bargauge("KV-cache usage now", 12)
            .about("Current KV-cache usage of each engine, coloured from 80% and 95%. Uneven bars point at uneven load balancing between engines or replicas.")
            .instant(kv_cache_usage(BY_ENGINE), "{{instance}} {{engine}}")
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .warn_at(0.8, 0.95),
    );
    let hit_ratio = version_proof_all([PREFIX_CACHE_HITS, PREFIX_CACHE_QUERIES], |[h, q]| {
        sum_rate(&s(h), &[]) / sum_rate(&s(q), &[])
    })
    // The V0 engine only has its own cumulative hit-rate gauge.
    .or(aggregate("avg", &[], gauge(GPU_PREFIX_CACHE_HIT_RATE)));
    l.add(
        PanelSpec::timeseries("Prefix-cache hit rate", 12)
            .about("Share of prompt tokens looked up in the prefix cache that were found there, so their prefill was skipped. Low values with shared system prompts: check that prefix caching is enabled and that the KV cache is not so full that blocks are evicted early. On the V0 engine the engine's own cumulative hit rate is shown. Gaps read \"idle\" (no prompt looked up).")
            .query(hit_ratio, "hit rate")
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::timeseries("Prefix-cache lookups", 12)
            .about("Prompt tokens looked up in the prefix cache and found there, per second. The V1 engine only; releases before 0.9.0 counted blocks instead of tokens.")
            .query(
                version_proof(PREFIX_CACHE_QUERIES, |m| sum_rate(&s(m), &[])),
                "queried",
            )
            .query(
                version_proof(PREFIX_CACHE_HITS, |m| sum_rate(&s(m), &[])),
                "hit",
            )
            .unit(units::TOKENS_PER_SECOND)
            .conditional("the V1 engine"),
    );
}

fn requests(l: &mut Layout) {
    l.row("Requests & errors", false);
    let finished = s(REQUEST_SUCCESS);
    l.add(
        PanelSpec::timeseries("Finished requests by reason", 12)
            .about(&format!(
                "{} A rising share of length means answers are cut by max_tokens or --max-model-len.",
                meaning(REQUEST_SUCCESS)
            ))
            .query(sum_rate(&finished, &["finished_reason"]), "{{finished_reason}}")
            .unit(units::REQUESTS_PER_SECOND)
            .stacked(),
    );
    l.add(
        PanelSpec::timeseries("Error and abort ratio", 12)
            .about("Share of finished requests that failed with an engine error, and share aborted by the client. Errors: read the server log. Aborts: clients time out or users cancel, usually because latency is too high. vLLM reports errors from 0.13.0 on (\"No data\" for errors before). Gaps read \"idle\".")
            .query(
                sum_rate(&finished.clone().eq("finished_reason", "error"), &[])
                    / sum_rate(&finished, &[]),
                "error",
            )
            .query(
                sum_rate(&finished.clone().eq("finished_reason", "abort"), &[])
                    / sum_rate(&finished, &[]),
                "abort",
            )
            .unit(units::RATIO)
            .warn_at(0.01, 0.05)
            .idle_is_nan(),
    );
    let http = s(HTTP_REQUESTS);
    l.add(
        PanelSpec::timeseries("HTTP 5xx ratio", 12)
            .about("Share of HTTP responses of the API server with a 5xx status: errors every client saw, including requests rejected before reaching the engine. Check the server log. vLLM exposes HTTP metrics from 0.8.3 on, after the first request. Gaps read \"idle\" (no HTTP request).")
            .query(
                sum_rate(&http.clone().eq("status", "5xx"), &[]).or(vector(0.0))
                    / sum_rate(&http, &[]),
                "5xx",
            )
            .unit(units::RATIO)
            .warn_at(0.001, 0.01)
            .idle_is_nan()
            .conditional("vLLM 0.8.3 or later"),
    );
    l.add(
        PanelSpec::timeseries("Finished requests by model", 12)
            .about("Requests finished per second for each served model. Compare with the clients' request rate: a gap means requests are queued or failing before they finish.")
            .query(sum_rate(&finished, BY_MODEL), "{{model_name}}")
            .unit(units::REQUESTS_PER_SECOND),
    );
}

fn scheduler(l: &mut Layout) {
    l.row("Scheduler", false);
    l.add(
        PanelSpec::timeseries("Running and waiting by engine", 12)
            .about("Requests in the running batch and in the queue, per engine. Waiting above zero while running is flat: the engine is at its batch or KV-cache limit. One engine busier than the others: the load balancer does not spread requests evenly.")
            .query(sum(BY_ENGINE, gauge(NUM_REQUESTS_RUNNING)), "{{instance}} {{engine}} running")
            .query(sum(BY_ENGINE, gauge(NUM_REQUESTS_WAITING)), "{{instance}} {{engine}} waiting")
            .unit(units::COUNT),
    );
    l.add(
        PanelSpec::timeseries("Preemptions", 12)
            .about(&format!(
                "{} Any steady rate: give the KV cache more memory (--gpu-memory-utilization), lower --max-num-seqs, or add replicas.",
                meaning(NUM_PREEMPTIONS)
            ))
            .query(sum_rate(&s(NUM_PREEMPTIONS), BY_ENGINE), "{{instance}} {{engine}}")
            .unit(units::REQUESTS_PER_SECOND),
    );
}
