//! Rows about the work the engines do: throughput and tokens, cache,
//! request outcomes, and the scheduler.

use super::{gauge, kv_cache_usage, meaning, s, BY_ENGINE, BY_MODEL};
use crate::catalog::names::*;
use crate::dashboard::build::{units, PanelSpec};
use crate::dashboard::layout::Layout;
use crate::promql::{
    aggregate, histogram_mean, histogram_quantile, max, sum, sum_rate, vector, version_proof,
    version_proof_all,
};

pub(super) fn rows(l: &mut Layout) {
    throughput(l);
    cache(l);
    requests(l);
    parameters(l);
    scheduler(l);
    gpu_work(l);
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
    l.add(
        PanelSpec::timeseries("Admission rejections", 12)
            .about(&format!(
                "{} Per second, by reason. Anything above zero: raise the waiting-queue limit, add replicas, or have clients back off. Needs vLLM 0.32.0 or later: \"No data\" before.",
                meaning(ADMISSION_REJECTIONS)
            ))
            .query(sum_rate(&s(ADMISSION_REJECTIONS), &["reason"]), "{{reason}}")
            .unit(units::REQUESTS_PER_SECOND)
            .red_from(0.001)
            .conditional("vLLM 0.32.0 or later"),
    );
}

fn parameters(l: &mut Layout) {
    l.row("Request parameters", false);
    for (title, hist, unit, advice) in [
        (
            "Requested completions (n)",
            REQUEST_PARAMS_N,
            units::COUNT,
            "Each completion is decoded separately, so n above 1 multiplies generation work and KV-cache use.",
        ),
        (
            "Requested max_tokens",
            REQUEST_PARAMS_MAX_TOKENS,
            units::TOKENS,
            "Large values reserve nothing by themselves but let answers run long; compare with the output length.",
        ),
        (
            "Allowed output length",
            REQUEST_MAX_NUM_GENERATION_TOKENS,
            units::TOKENS,
            "When it sits far below max_tokens, --max-model-len minus the prompt is the limit that cuts answers.",
        ),
    ] {
        l.add(
            PanelSpec::timeseries(title, 8)
                .about(&format!(
                    "{} p50, p99 and mean of the requests that finished in the window. {advice} Gaps read \"idle\".",
                    meaning(hist)
                ))
                .query(histogram_quantile(0.5, &s(hist), &[]), "p50")
                .query(histogram_quantile(0.99, &s(hist), &[]), "p99")
                .query(histogram_mean(&s(hist), &[]), "mean")
                .unit(unit)
                .idle_is_nan(),
        );
    }
}

fn gpu_work(l: &mut Layout) {
    l.row("GPU work estimates", false);
    let flops = s(ESTIMATED_FLOPS_PER_GPU);
    let read = s(ESTIMATED_READ_BYTES_PER_GPU);
    let write = s(ESTIMATED_WRITE_BYTES_PER_GPU);
    l.add(
        PanelSpec::timeseries("Estimated FLOP/s per GPU", 8)
            .about(&format!(
                "{} Divide by the GPU's peak for model FLOPs utilisation (MFU); a low share while requests wait points at memory-bound decoding or scheduling gaps. Needs vLLM 0.17.0 or later: \"No data\" before.",
                meaning(ESTIMATED_FLOPS_PER_GPU)
            ))
            .query(sum_rate(&flops, BY_ENGINE), "{{instance}} {{engine}}")
            .unit(units::FLOPS)
            .conditional("vLLM 0.17.0 or later"),
    );
    l.add(
        PanelSpec::timeseries("Estimated memory traffic per GPU", 8)
            .about(&format!(
                "{} {} Compare with the GPU's memory bandwidth: decoding is usually limited by it. Needs vLLM 0.17.0 or later: \"No data\" before.",
                meaning(ESTIMATED_READ_BYTES_PER_GPU),
                meaning(ESTIMATED_WRITE_BYTES_PER_GPU)
            ))
            .query(sum_rate(&read, BY_ENGINE), "{{instance}} {{engine}} read")
            .query(sum_rate(&write, BY_ENGINE), "{{instance}} {{engine}} write")
            .unit(units::BYTES_PER_SECOND)
            .conditional("vLLM 0.17.0 or later"),
    );
    l.add(
        PanelSpec::timeseries("Arithmetic intensity", 8)
            .about("Estimated FLOPs per byte of memory traffic, per engine. Below the GPU's ridge point (peak FLOP/s over memory bandwidth) the work is memory-bound: larger batches raise it. Needs vLLM 0.17.0 or later: \"No data\" before. Gaps read \"idle\".")
            .query(
                sum_rate(&flops, BY_ENGINE)
                    / (sum_rate(&read, BY_ENGINE) + sum_rate(&write, BY_ENGINE)),
                "{{instance}} {{engine}}",
            )
            .unit(units::COUNT)
            .axis_label("FLOP/byte")
            .idle_is_nan()
            .conditional("vLLM 0.17.0 or later"),
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
    l.add(
        PanelSpec::timeseries("Waiting requests by reason", 12)
            .about(&format!(
                "{} Capacity-bound waiting needs more KV cache or replicas; deferred requests wait on something transient (e.g. KV being fetched). Needs vLLM 0.20.0 or later: \"No data\" before.",
                meaning(NUM_REQUESTS_WAITING_BY_REASON)
            ))
            .query(sum(&["reason"], gauge(NUM_REQUESTS_WAITING_BY_REASON)), "{{reason}}")
            .unit(units::COUNT)
            .stacked()
            .conditional("vLLM 0.20.0 or later"),
    );
    l.add(
        PanelSpec::timeseries("Engine sleep state", 12)
            .about(&format!(
                "{} One line per engine and state; a sleeping engine serves nothing, so waiting requests pile up until it is woken. Needs vLLM 0.11.2 or later: \"No data\" before.",
                meaning(ENGINE_SLEEP_STATE)
            ))
            .query(
                max(&["instance", "engine", "sleep_state"], gauge(ENGINE_SLEEP_STATE)),
                "{{instance}} {{engine}} {{sleep_state}}",
            )
            .unit(units::COUNT)
            .conditional("vLLM 0.11.2 or later"),
    );
}
