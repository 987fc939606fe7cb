//! The `vllm:` metrics, from the 0.2 aioprometheus exposition to 0.34.
//! Facts come from the published wheels; `scripts/catalog-drift.sh VERSION`
//! compares them with a release's source.

use super::buckets::Buckets as B;
use super::names::*;
use super::version::v;
use super::{Condition as C, Kind, LabelDef, MetricDef, Scope, Span, Unit, BLANK};

const V0_ALWAYS: Span = Span::until(v(0, 4, 0), v(0, 11, 2));
const V1_FIRST: Span = Span::since(v(0, 7, 3));
const V1_0_8: Span = Span::since(v(0, 8, 0));
/// V0-only metrics deprecated in 0.8.0, hidden in 0.8.3, gone in 0.9.1.
const V0_RETIRED_0_9: Span = Span::retired(v(0, 4, 0), v(0, 8, 0), v(0, 8, 3), v(0, 9, 1));
/// V1 names replaced in 0.9.2, hidden in 0.11.0, gone in 0.12.0.
const V1_RENAMED_0_9_2: Span = Span::retired(v(0, 7, 3), v(0, 9, 2), v(0, 11, 0), v(0, 12, 0));

const FINISHED_REASON: &[LabelDef] = &[LabelDef {
    name: "finished_reason",
    values: &[
        ("stop", v(0, 4, 0)),
        ("length", v(0, 4, 0)),
        ("abort", v(0, 4, 0)),
        ("error", v(0, 13, 0)),
        ("repetition", v(0, 17, 0)),
    ],
}];

const LATENCY: MetricDef = MetricDef {
    kind: Kind::Histogram,
    unit: Unit::Seconds,
    v0: Some(Span::until(v(0, 6, 0), v(0, 11, 2))),
    v1: Some(V1_FIRST),
    buckets: Some(B::RequestLatency),
    ..BLANK
};

const TOKEN_HISTOGRAM: MetricDef = MetricDef {
    kind: Kind::Histogram,
    unit: Unit::Tokens,
    buckets: Some(B::RequestTokens),
    ..BLANK
};

const CONNECTOR: MetricDef = MetricDef {
    v1: Some(Span::since(v(0, 11, 2))),
    requires: &[C::KvConnector],
    ..BLANK
};

/// The offloading connector's metrics (the connector's own and its spec's).
const OFFLOAD: MetricDef = MetricDef {
    v1: Some(Span::since(v(0, 24, 0))),
    requires: &[C::KvOffload],
    ..BLANK
};

/// Metrics of the offloading connector's secondary tiers, labelled by tier
/// (`"<index>:<type>"`, e.g. `1:fs`).
const TIERING: MetricDef = MetricDef {
    v1: Some(Span::since(v(0, 28, 0))),
    extra_labels: TIER,
    requires: &[C::KvOffload, C::KvOffloadTiering],
    ..BLANK
};

const TIER: &[LabelDef] = &[LabelDef {
    name: "tier",
    values: &[],
}];

const TRANSFER_TYPE: &[LabelDef] = &[LabelDef {
    name: "transfer_type",
    values: &[("CPU_to_GPU", v(0, 16, 0)), ("GPU_to_CPU", v(0, 16, 0))],
}];

const OPERATION: &[LabelDef] = &[LabelDef {
    name: "operation",
    values: &[],
}];

const MOONCAKE_STORE: &[LabelDef] = &[
    LabelDef {
        name: "operation",
        values: &[],
    },
    LabelDef {
        name: "status",
        values: &[],
    },
];

pub(super) const METRICS: &[MetricDef] = &[
    // --- Scheduler state -------------------------------------------------
    MetricDef {
        name: NUM_REQUESTS_RUNNING,
        kind: Kind::Gauge,
        unit: Unit::Requests,
        help: "Number of requests in model execution batches.",
        v0_help: Some("Number of requests currently running on GPU."),
        meaning: "Requests in the running batch right now. Flat at the batch limit while requests wait means the server is saturated.",
        v0: Some(V0_ALWAYS),
        v1: Some(V1_FIRST),
        ..BLANK
    },
    MetricDef {
        name: NUM_REQUESTS_WAITING,
        kind: Kind::Gauge,
        unit: Unit::Requests,
        help: "Number of requests waiting to be processed.",
        meaning: "Requests queued for scheduling. Growing means demand exceeds capacity: add replicas or reduce load.",
        v0: Some(V0_ALWAYS),
        v1: Some(V1_FIRST),
        ..BLANK
    },
    MetricDef {
        name: NUM_REQUESTS_WAITING_BY_REASON,
        kind: Kind::Gauge,
        unit: Unit::Requests,
        extra_labels: &[LabelDef { name: "reason", values: &[("capacity", v(0, 20, 0)), ("deferred", v(0, 20, 0))] }],
        help: "Number of waiting requests by reason. Reason labels: 'capacity' = waiting for scheduling capacity; 'deferred' = deferred by transient constraints (LoRA budget, KV transfer, blocked status). Sum of all reasons equals vllm:num_requests_waiting.",
        meaning: "Waiting requests split into those blocked by capacity and those deferred by transient constraints.",
        v1: Some(Span::since(v(0, 20, 0))),
        ..BLANK
    },
    MetricDef {
        name: NUM_REQUESTS_KV_FETCH_BY_STAGE,
        kind: Kind::Gauge,
        unit: Unit::Requests,
        extra_labels: &[LabelDef { name: "stage", values: &[("completed_waiting", v(0, 32, 0)), ("in_progress", v(0, 32, 0)), ("waiting_to_start", v(0, 32, 0))] }],
        help: "Number of waiting requests by async KV load stage. Stage labels: 'waiting_to_start' = needs an async KV load that has not started; 'in_progress' = load started and not yet reported finished; 'completed_waiting' = load finished, request not running yet.",
        meaning: "Requests waiting on KV blocks fetched from another instance, by stage.",
        v1: Some(Span::since(v(0, 32, 0))),
        requires: &[C::KvConsumer],
        ..BLANK
    },
    MetricDef {
        name: NUM_REQUESTS_SWAPPED,
        kind: Kind::Gauge,
        unit: Unit::Requests,
        help: "Number of requests swapped to CPU.",
        meaning: "V0 only: requests whose KV cache was swapped to CPU memory.",
        v0: Some(V0_RETIRED_0_9),
        ..BLANK
    },
    MetricDef {
        name: ENGINE_SLEEP_STATE,
        kind: Kind::Gauge,
        unit: Unit::Count,
        extra_labels: &[LabelDef { name: "sleep_state", values: &[("awake", v(0, 11, 2)), ("weights_offloaded", v(0, 11, 2)), ("discard_all", v(0, 11, 2))] }],
        help: "Engine sleep state; awake = 0 means engine is sleeping; awake = 1 means engine is awake; weights_offloaded = 1 means sleep level 1; discard_all = 1 means sleep level 2.",
        meaning: "Whether the engine is awake or put to sleep (level 1 offloads weights, level 2 discards them).",
        v1: Some(Span::since(v(0, 11, 2))),
        ..BLANK
    },
    MetricDef {
        name: ADMISSION_REJECTIONS,
        kind: Kind::Counter,
        unit: Unit::Requests,
        scope: Scope::Model,
        extra_labels: &[LabelDef { name: "reason", values: &[("max_num_queued_reqs", v(0, 32, 0)), ("max_num_queued_tokens", v(0, 32, 0))] }],
        help: "Number of admission attempts rejected by a queue limit, by reason.",
        meaning: "Requests refused because the waiting queue hit its configured limit: clients saw errors.",
        v1: Some(Span::since(v(0, 32, 0))),
        ..BLANK
    },
    // --- KV cache --------------------------------------------------------
    MetricDef {
        name: KV_CACHE_USAGE_PERC,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "KV-cache usage. 1 means 100 percent usage.",
        meaning: "Fraction (0..1) of KV-cache blocks in use. Near 1, new requests wait and running ones get preempted.",
        v1: Some(Span::since(v(0, 9, 2))),
        ..BLANK
    },
    MetricDef {
        name: GPU_CACHE_USAGE_PERC,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use vllm:kv_cache_usage_perc instead.",
        older_help: &[(v(0, 9, 2), "GPU KV-cache usage. 1 means 100 percent usage.")],
        v0_help: Some("GPU KV-cache usage. 1 means 100 percent usage."),
        meaning: "Old name of vllm:kv_cache_usage_perc (a fraction 0..1).",
        v0: Some(V0_ALWAYS),
        v1: Some(V1_RENAMED_0_9_2),
        successor: Some(KV_CACHE_USAGE_PERC),
        ..BLANK
    },
    MetricDef {
        name: CPU_CACHE_USAGE_PERC,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "CPU KV-cache usage. 1 means 100 percent usage.",
        meaning: "V0 only: fraction of the CPU swap space in use.",
        v0: Some(V0_RETIRED_0_9),
        ..BLANK
    },
    MetricDef {
        name: PREFIX_CACHE_QUERIES,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "Prefix cache queries, in terms of number of queried tokens.",
        meaning: "Prompt tokens looked up in the prefix cache; hit rate = rate(hits) / rate(queries).",
        v1: Some(Span::since(v(0, 9, 2))),
        ..BLANK
    },
    MetricDef {
        name: PREFIX_CACHE_HITS,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "Prefix cache hits, in terms of number of cached tokens.",
        meaning: "Prompt tokens served from the prefix cache instead of being recomputed.",
        v1: Some(Span::since(v(0, 9, 2))),
        ..BLANK
    },
    MetricDef {
        name: GPU_PREFIX_CACHE_QUERIES,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "GPU prefix cache queries, in terms of number of queriedtokens. DEPRECATED: Use vllm:prefix_cache_queries instead.",
        older_help: &[
            (v(0, 9, 0), "GPU prefix cache queries, in terms of number of queried blocks."),
            (v(0, 9, 2), "GPU prefix cache queries, in terms of number of queried tokens."),
        ],
        meaning: "Old name of vllm:prefix_cache_queries_total (counted blocks before 0.9.0).",
        v1: Some(V1_RENAMED_0_9_2),
        successor: Some(PREFIX_CACHE_QUERIES),
        ..BLANK
    },
    MetricDef {
        name: GPU_PREFIX_CACHE_HITS,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "GPU prefix cache hits, in terms of number of cached tokens. DEPRECATED: Use vllm:prefix_cache_hits instead.",
        older_help: &[
            (v(0, 9, 0), "GPU prefix cache hits, in terms of number of cached blocks."),
            (v(0, 9, 2), "GPU prefix cache hits, in terms of number of cached tokens."),
        ],
        meaning: "Old name of vllm:prefix_cache_hits_total (counted blocks before 0.9.0).",
        v1: Some(V1_RENAMED_0_9_2),
        successor: Some(PREFIX_CACHE_HITS),
        ..BLANK
    },
    MetricDef {
        name: GPU_PREFIX_CACHE_HIT_RATE,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "GPU prefix cache block hit rate.",
        meaning: "V0 only: prefix-cache hit rate as a gauge; use the V1 queries/hits counters.",
        v0: Some(Span::retired(v(0, 5, 0), v(0, 8, 0), v(0, 8, 3), v(0, 9, 1))),
        successor: Some(PREFIX_CACHE_HITS),
        ..BLANK
    },
    MetricDef {
        name: CPU_PREFIX_CACHE_HIT_RATE,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "CPU prefix cache block hit rate.",
        meaning: "V0 only: prefix-cache hit rate of blocks swapped to CPU.",
        v0: Some(Span::retired(v(0, 5, 0), v(0, 8, 0), v(0, 8, 3), v(0, 9, 1))),
        ..BLANK
    },
    MetricDef {
        name: EXTERNAL_PREFIX_CACHE_QUERIES,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "External prefix cache queries from KV connector cross-instance cache sharing, in terms of number of queried tokens.",
        meaning: "Tokens looked up in other instances' caches through a KV connector (zero without one).",
        v1: Some(Span::since(v(0, 11, 2))),
        ..BLANK
    },
    MetricDef {
        name: EXTERNAL_PREFIX_CACHE_HITS,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "External prefix cache hits from KV connector cross-instance cache sharing, in terms of number of cached tokens.",
        meaning: "Tokens served from other instances' caches through a KV connector.",
        v1: Some(Span::since(v(0, 11, 2))),
        ..BLANK
    },
    MetricDef {
        name: MM_CACHE_QUERIES,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Multi-modal cache queries, in terms of number of queried items.",
        meaning: "Multimodal inputs (images, audio) looked up in the encoder cache.",
        v1: Some(Span::since(v(0, 11, 2))),
        ..BLANK
    },
    MetricDef {
        name: MM_CACHE_HITS,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Multi-modal cache hits, in terms of number of cached items.",
        meaning: "Multimodal inputs served from the encoder cache.",
        v1: Some(Span::since(v(0, 11, 2))),
        ..BLANK
    },
    MetricDef {
        name: KV_BLOCK_LIFETIME,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of KV cache block lifetime from allocation to eviction. Sampled metrics (controlled by --kv-cache-metrics-sample).",
        meaning: "How long sampled KV blocks live before eviction.",
        v1: Some(Span::since(v(0, 12, 0))),
        requires: &[C::KvCacheMetrics],
        buckets: Some(B::KvCacheResidency),
        ..BLANK
    },
    MetricDef {
        name: KV_BLOCK_IDLE_BEFORE_EVICT,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of idle time before KV cache block eviction. Sampled metrics (controlled by --kv-cache-metrics-sample).",
        meaning: "How long sampled KV blocks sat unused before eviction.",
        v1: Some(Span::since(v(0, 12, 0))),
        requires: &[C::KvCacheMetrics],
        buckets: Some(B::KvCacheResidency),
        ..BLANK
    },
    MetricDef {
        name: KV_BLOCK_REUSE_GAP,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of time gaps between consecutive KV cache block accesses. Only the most recent accesses are recorded (ring buffer). Sampled metrics (controlled by --kv-cache-metrics-sample).",
        meaning: "Time between reuses of sampled KV blocks.",
        v1: Some(Span::since(v(0, 12, 0))),
        requires: &[C::KvCacheMetrics],
        buckets: Some(B::KvCacheResidency),
        ..BLANK
    },
    MetricDef {
        name: CACHE_CONFIG_INFO,
        kind: Kind::Gauge,
        unit: Unit::Info,
        scope: Scope::CacheConfig,
        help: "Information of the LLMEngine CacheConfig",
        meaning: "Always 1; the labels carry the KV-cache configuration (block size, GPU blocks, memory utilisation).",
        v0: Some(Span::until(v(0, 4, 0), v(0, 11, 2))),
        v1: Some(V1_0_8),
        ..BLANK
    },
    // --- Preemption and outcomes -----------------------------------------
    MetricDef {
        name: NUM_PREEMPTIONS,
        kind: Kind::Counter,
        unit: Unit::Requests,
        help: "Cumulative number of preemption from the engine.",
        meaning: "Requests evicted from the batch because the KV cache ran out; they restart later and latency suffers.",
        v0: Some(Span::until(v(0, 5, 0), v(0, 11, 2))),
        v1: Some(V1_0_8),
        ..BLANK
    },
    MetricDef {
        name: REQUEST_NUM_PREEMPTIONS,
        kind: Kind::Histogram,
        unit: Unit::Count,
        help: "Histogram of the number of times a request was preempted.",
        meaning: "Per finished request, how often it was preempted.",
        v1: Some(Span::since(v(0, 30, 0))),
        buckets: Some(B::RequestNumPreemptions),
        ..BLANK
    },
    MetricDef {
        name: REQUEST_SUCCESS,
        kind: Kind::Counter,
        unit: Unit::Requests,
        extra_labels: FINISHED_REASON,
        help: "Count of successfully processed requests.",
        meaning: "Finished requests by finished_reason: stop and length are normal; abort (client gave up) and error are failures.",
        v0: Some(V0_ALWAYS),
        v1: Some(V1_FIRST),
        ..BLANK
    },
    MetricDef {
        name: CORRUPTED_REQUESTS,
        kind: Kind::Counter,
        unit: Unit::Requests,
        help: "Corrupted requests, in terms of total number of requests with NaNs in logits.",
        meaning: "Requests whose logits contained NaNs: a numerical fault in the model or kernels.",
        v1: Some(Span::since(v(0, 11, 2))),
        requires: &[C::NanCheck],
        ..BLANK
    },
    MetricDef {
        name: WATERMARK_REQUESTS,
        kind: Kind::Counter,
        unit: Unit::Requests,
        extra_labels: &[LabelDef { name: "status", values: &[("not_watermarked", v(0, 32, 0)), ("skipped", v(0, 32, 0)), ("watermarked", v(0, 32, 0))] }],
        help: "Finished requests by watermark status (only with watermark_config).",
        meaning: "Requests by output watermarking outcome.",
        v1: Some(Span::since(v(0, 32, 0))),
        requires: &[C::Watermark],
        ..BLANK
    },
    // --- Tokens ------------------------------------------------------------
    MetricDef {
        name: PROMPT_TOKENS,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "Number of prefill tokens processed.",
        meaning: "Prompt (prefill) tokens processed, cached ones included; rate() gives prompt throughput.",
        v0: Some(V0_ALWAYS),
        v1: Some(V1_FIRST),
        ..BLANK
    },
    MetricDef {
        name: GENERATION_TOKENS,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "Number of generation tokens processed.",
        meaning: "Output tokens generated; rate() gives generation throughput.",
        v0: Some(V0_ALWAYS),
        v1: Some(V1_FIRST),
        ..BLANK
    },
    MetricDef {
        name: TOKENS,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "Number of prefill plus generation tokens processed.",
        meaning: "V0 only: prompt plus generation tokens.",
        v0: Some(Span::until(v(0, 6, 0), v(0, 8, 0))),
        ..BLANK
    },
    MetricDef {
        name: PROMPT_TOKENS_BY_SOURCE,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        extra_labels: &[LabelDef { name: "source", values: &[("local_compute", v(0, 16, 0)), ("local_cache_hit", v(0, 16, 0)), ("external_kv_transfer", v(0, 16, 0))] }],
        help: "Number of prompt tokens by source.",
        meaning: "Prompt tokens by where their KV came from: computed, local cache hit or transferred.",
        v1: Some(Span::since(v(0, 16, 0))),
        ..BLANK
    },
    MetricDef {
        name: PROMPT_TOKENS_CACHED,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "Number of cached prompt tokens (local + external).",
        meaning: "Prompt tokens not recomputed thanks to a local or external cache.",
        v1: Some(Span::since(v(0, 16, 0))),
        ..BLANK
    },
    MetricDef {
        name: PROMPT_TOKENS_CACHED_BY_SOURCE,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        extra_labels: &[LabelDef { name: "source", values: &[("device", v(0, 32, 0)), ("disk", v(0, 32, 0)), ("external_unspecified", v(0, 32, 0)), ("host", v(0, 32, 0)), ("p2p", v(0, 32, 0))] }],
        help: "Prefix-cache hit tokens by the cache tier that supplied them: device (local HBM), host (offloaded to DRAM), disk, p2p (transferred from another vLLM instance) or external_unspecified. Counted at admission; sums to vllm:prefix_cache_hits + vllm:external_prefix_cache_hits.",
        meaning: "Cached prompt tokens by the tier that supplied them.",
        v1: Some(Span::since(v(0, 32, 0))),
        ..BLANK
    },
    MetricDef {
        name: PROMPT_TOKENS_RECOMPUTED,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "Number of cached tokens recomputed for forward pass.",
        meaning: "Prompt tokens computed again (for example after preemption).",
        v1: Some(Span::until(v(0, 16, 0), v(0, 20, 0))),
        ..BLANK
    },
    MetricDef {
        name: ITERATION_TOKENS,
        kind: Kind::Histogram,
        unit: Unit::Tokens,
        help: "Histogram of number of tokens per engine_step.",
        meaning: "Tokens (prefill + decode) processed per engine step: how full each batch is.",
        v0: Some(V0_ALWAYS),
        v1: Some(V1_FIRST),
        buckets: Some(B::IterationTokens),
        ..BLANK
    },
    MetricDef {
        name: REQUEST_PROMPT_TOKENS,
        help: "Number of prefill tokens processed.",
        meaning: "Prompt length per finished request.",
        v0: Some(V0_ALWAYS),
        v1: Some(V1_FIRST),
        ..TOKEN_HISTOGRAM
    },
    MetricDef {
        name: REQUEST_GENERATION_TOKENS,
        help: "Number of generation tokens processed.",
        meaning: "Output length per finished request.",
        v0: Some(V0_ALWAYS),
        v1: Some(V1_FIRST),
        ..TOKEN_HISTOGRAM
    },
    MetricDef {
        name: REQUEST_MAX_NUM_GENERATION_TOKENS,
        help: "Histogram of maximum number of requested generation tokens.",
        meaning: "The largest output length each request allowed.",
        v0: Some(Span::until(v(0, 5, 0), v(0, 11, 2))),
        v1: Some(V1_0_8),
        ..TOKEN_HISTOGRAM
    },
    MetricDef {
        name: REQUEST_PARAMS_N,
        kind: Kind::Histogram,
        unit: Unit::Count,
        help: "Histogram of the n request parameter.",
        meaning: "How many completions each request asked for.",
        v0: Some(V0_ALWAYS),
        v1: Some(V1_0_8),
        buckets: Some(B::RequestParamsN),
        ..BLANK
    },
    MetricDef {
        name: REQUEST_PARAMS_MAX_TOKENS,
        help: "Histogram of the max_tokens request parameter.",
        meaning: "The max_tokens each request set.",
        v0: Some(Span::until(v(0, 6, 0), v(0, 11, 2))),
        v1: Some(V1_0_8),
        ..TOKEN_HISTOGRAM
    },
    MetricDef {
        name: REQUEST_PARAMS_BEST_OF,
        kind: Kind::Histogram,
        unit: Unit::Count,
        help: "Histogram of the best_of request parameter.",
        meaning: "V0 only: the best_of parameter, removed with the parameter.",
        v0: Some(Span::until(v(0, 4, 0), v(0, 6, 6))),
        buckets: Some(B::RequestParamsN),
        ..BLANK
    },
    MetricDef {
        name: REQUEST_PREFILL_KV_COMPUTED_TOKENS,
        help: "Histogram of new KV tokens computed during prefill (excluding cached tokens).",
        meaning: "Prompt tokens each request actually computed, cached ones excluded.",
        v1: Some(Span::since(v(0, 13, 0))),
        ..TOKEN_HISTOGRAM
    },
    MetricDef {
        name: AVG_PROMPT_THROUGHPUT,
        kind: Kind::Gauge,
        unit: Unit::Tokens,
        help: "Average prefill throughput in tokens/s.",
        meaning: "V0 only: prompt tokens per second averaged by the engine; use rate(vllm:prompt_tokens_total).",
        v0: Some(Span::until(v(0, 2, 0), v(0, 7, 0))),
        successor: Some(PROMPT_TOKENS),
        ..BLANK
    },
    MetricDef {
        name: AVG_GENERATION_THROUGHPUT,
        kind: Kind::Gauge,
        unit: Unit::Tokens,
        help: "Average generation throughput in tokens/s.",
        meaning: "V0 only: output tokens per second averaged by the engine; use rate(vllm:generation_tokens_total).",
        v0: Some(Span::until(v(0, 2, 0), v(0, 7, 0))),
        successor: Some(GENERATION_TOKENS),
        ..BLANK
    },
    // --- Latency -----------------------------------------------------------
    MetricDef {
        name: TIME_TO_FIRST_TOKEN,
        help: "Histogram of time to first token in seconds.",
        meaning: "From request arrival to its first output token: what users feel as responsiveness. Grows with queueing and long prompts.",
        v0: Some(V0_ALWAYS),
        buckets: Some(B::TimeToFirstToken),
        ..LATENCY
    },
    MetricDef {
        name: INTER_TOKEN_LATENCY,
        help: "Histogram of inter-token latency in seconds.",
        meaning: "Time between consecutive output tokens (one observation per token): streaming smoothness.",
        v0: None,
        v1: Some(Span::since(v(0, 10, 2))),
        buckets: Some(B::InterTokenLatency),
        ..LATENCY
    },
    MetricDef {
        name: TIME_PER_OUTPUT_TOKEN,
        help: "Histogram of time per output token in seconds.DEPRECATED: Use vllm:inter_token_latency_seconds instead.",
        older_help: &[(v(0, 10, 2), "Histogram of time per output token in seconds.")],
        v0_help: Some("Histogram of time per output token in seconds."),
        meaning: "Old name of vllm:inter_token_latency_seconds (per token, not the per-request mean).",
        v0: Some(V0_ALWAYS),
        v1: Some(Span::retired(v(0, 7, 3), v(0, 10, 2), v(0, 12, 0), v(0, 15, 0))),
        successor: Some(INTER_TOKEN_LATENCY),
        buckets: Some(B::InterTokenLatency),
        ..LATENCY
    },
    MetricDef {
        name: REQUEST_TIME_PER_OUTPUT_TOKEN,
        help: "Histogram of time_per_output_token_seconds per request.",
        meaning: "Mean time per output token of each finished request (TPOT), one observation per request.",
        v0: None,
        v1: Some(Span::since(v(0, 11, 0))),
        buckets: Some(B::InterTokenLatency),
        ..LATENCY
    },
    MetricDef {
        name: E2E_REQUEST_LATENCY,
        help: "Histogram of e2e request latency in seconds.",
        v0_help: Some("Histogram of end to end request latency in seconds."),
        meaning: "From arrival to the last token of each finished request.",
        v0: Some(V0_ALWAYS),
        ..LATENCY
    },
    MetricDef {
        name: REQUEST_QUEUE_TIME,
        help: "Histogram of time spent in WAITING phase for request.",
        meaning: "Time requests waited before being scheduled: the direct cost of an overloaded server.",
        ..LATENCY
    },
    MetricDef {
        name: REQUEST_INFERENCE_TIME,
        help: "Histogram of time spent in RUNNING phase for request.",
        meaning: "Time requests spent being computed (prefill + decode).",
        ..LATENCY
    },
    MetricDef {
        name: REQUEST_PREFILL_TIME,
        help: "Histogram of time spent in PREFILL phase for request.",
        meaning: "Time spent processing prompts.",
        ..LATENCY
    },
    MetricDef {
        name: REQUEST_DECODE_TIME,
        help: "Histogram of time spent in DECODE phase for request.",
        meaning: "Time spent generating output tokens.",
        ..LATENCY
    },
    MetricDef {
        name: REQUEST_RENDER_DURATION,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        scope: Scope::Model,
        extra_labels: &[LabelDef { name: "request_type", values: &[("chat", v(0, 34, 0)), ("completion", v(0, 34, 0))] }],
        help: "Time spent rendering a request, including chat templating, tokenization, and multimodal preprocessing.",
        meaning: "API-server time turning a request into engine input (chat template, tokenisation, multimodal preprocessing) before it is queued; high values point at CPU-bound front ends or large multimodal inputs.",
        v1: Some(Span::since(v(0, 34, 0))),
        requires: &[C::Traffic],
        buckets: Some(B::Render),
        ..BLANK
    },
    MetricDef {
        name: TIME_IN_QUEUE_REQUESTS,
        help: "Histogram of time the request spent in the queue in seconds.",
        meaning: "V0 only: queue time; replaced by vllm:request_queue_time_seconds.",
        v0: Some(Span::retired(v(0, 6, 0), v(0, 8, 0), v(0, 8, 3), v(0, 9, 1))),
        v1: None,
        successor: Some(REQUEST_QUEUE_TIME),
        ..LATENCY
    },
    MetricDef {
        name: MODEL_FORWARD_TIME,
        unit: Unit::Milliseconds,
        help: "Histogram of time spent in the model forward pass in ms.",
        meaning: "V0 only: model forward pass time (with detailed traces).",
        v0: Some(Span::retired(v(0, 6, 0), v(0, 8, 0), v(0, 8, 3), v(0, 9, 1))),
        v1: None,
        buckets: Some(B::ModelTimeMs),
        ..LATENCY
    },
    MetricDef {
        name: MODEL_EXECUTE_TIME,
        unit: Unit::Milliseconds,
        help: "Histogram of time spent in the model execute function in ms.",
        meaning: "V0 only: model execute time (with detailed traces).",
        v0: Some(Span::retired(v(0, 6, 0), v(0, 8, 0), v(0, 8, 3), v(0, 9, 1))),
        v1: None,
        buckets: Some(B::ModelTimeMs),
        ..LATENCY
    },
    // --- LoRA, speculative decoding, diffusion ----------------------------
    MetricDef {
        name: LORA_REQUESTS_INFO,
        kind: Kind::Gauge,
        unit: Unit::Timestamp,
        scope: Scope::Own,
        extra_labels: &[
            LabelDef { name: "max_lora", values: &[] },
            LabelDef { name: "running_lora_adapters", values: &[] },
            LabelDef { name: "waiting_lora_adapters", values: &[] },
        ],
        help: "Running stats on lora requests.",
        meaning: "LoRA adapters running and waiting (comma-joined in labels); the value is the Unix time of the last update, not a count.",
        v0: Some(Span::until(v(0, 6, 0), v(0, 11, 2))),
        v1: Some(V1_0_8),
        requires: &[C::Lora],
        ..BLANK
    },
    MetricDef {
        name: SPEC_DECODE_NUM_DRAFTS,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of spec decoding drafts.",
        meaning: "Speculative drafts proposed; mean acceptance length = 1 + rate(accepted) / rate(drafts).",
        v1: Some(Span::since(v(0, 8, 5))),
        requires: &[C::SpecDecode],
        ..BLANK
    },
    MetricDef {
        name: SPEC_DECODE_NUM_DRAFT_TOKENS,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "Number of draft tokens.",
        meaning: "Draft tokens proposed by the speculator.",
        v0: Some(Span::until(v(0, 5, 0), v(0, 10, 0))),
        v1: Some(Span::since(v(0, 8, 5))),
        requires: &[C::SpecDecode],
        ..BLANK
    },
    MetricDef {
        name: SPEC_DECODE_NUM_ACCEPTED_TOKENS,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "Number of accepted tokens.",
        meaning: "Draft tokens the target model accepted; acceptance rate = rate(accepted) / rate(draft tokens).",
        v0: Some(Span::until(v(0, 5, 0), v(0, 10, 0))),
        v1: Some(Span::since(v(0, 8, 5))),
        requires: &[C::SpecDecode],
        ..BLANK
    },
    MetricDef {
        name: SPEC_DECODE_NUM_ACCEPTED_TOKENS_PER_POS,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        extra_labels: &[LabelDef { name: "position", values: &[] }],
        help: "Accepted tokens per draft position.",
        meaning: "Accepted draft tokens by position in the draft; falls off with position.",
        v1: Some(Span::since(v(0, 8, 5))),
        requires: &[C::SpecDecode],
        ..BLANK
    },
    MetricDef {
        name: SPEC_DECODE_NUM_EMITTED_TOKENS,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "Number of emitted tokens.",
        meaning: "V0 only: tokens emitted by speculative decoding.",
        v0: Some(Span::until(v(0, 5, 0), v(0, 10, 0))),
        requires: &[C::SpecDecode],
        ..BLANK
    },
    MetricDef {
        name: SPEC_DECODE_DRAFT_ACCEPTANCE_RATE,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "Speulative token acceptance rate.",
        meaning: "V0 only: draft acceptance rate as a gauge.",
        v0: Some(Span::until(v(0, 5, 0), v(0, 10, 0))),
        successor: Some(SPEC_DECODE_NUM_ACCEPTED_TOKENS),
        requires: &[C::SpecDecode],
        ..BLANK
    },
    MetricDef {
        name: SPEC_DECODE_EFFICIENCY,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "Speculative decoding system efficiency.",
        meaning: "V0 only: speculative decoding efficiency.",
        v0: Some(Span::until(v(0, 5, 0), v(0, 10, 0))),
        requires: &[C::SpecDecode],
        ..BLANK
    },
    MetricDef {
        name: DIFFUSION_NUM_DENOISING_STEPS,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of denoising steps.",
        meaning: "Denoising steps run by a diffusion language model.",
        v1: Some(Span::since(v(0, 24, 0))),
        requires: &[C::Diffusion],
        ..BLANK
    },
    MetricDef {
        name: DIFFUSION_NUM_CANVAS_POSITIONS,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of canvas positions evaluated.",
        meaning: "Canvas positions processed by a diffusion language model.",
        v1: Some(Span::since(v(0, 24, 0))),
        requires: &[C::Diffusion],
        ..BLANK
    },
    MetricDef {
        name: DIFFUSION_NUM_COMMITTED_TOKENS,
        kind: Kind::Counter,
        unit: Unit::Tokens,
        help: "Number of committed (finalized) tokens.",
        meaning: "Tokens committed by a diffusion language model.",
        v1: Some(Span::since(v(0, 24, 0))),
        requires: &[C::Diffusion],
        ..BLANK
    },
    // --- MFU estimates (series always exist; non-zero with --enable-mfu-metrics)
    MetricDef {
        name: ESTIMATED_FLOPS_PER_GPU,
        kind: Kind::Counter,
        unit: Unit::Flops,
        help: "Estimated number of floating point operations per GPU (for Model Flops Utilization calculations).",
        meaning: "Estimated FLOPs per GPU; rate() over peak FLOPs gives model FLOPs utilisation.",
        v1: Some(Span::since(v(0, 17, 0))),
        ..BLANK
    },
    MetricDef {
        name: ESTIMATED_READ_BYTES_PER_GPU,
        kind: Kind::Counter,
        unit: Unit::Bytes,
        help: "Estimated number of bytes read from memory per GPU (for Model Flops Utilization calculations).",
        meaning: "Estimated memory bytes read per GPU.",
        v1: Some(Span::since(v(0, 17, 0))),
        ..BLANK
    },
    MetricDef {
        name: ESTIMATED_WRITE_BYTES_PER_GPU,
        kind: Kind::Counter,
        unit: Unit::Bytes,
        help: "Estimated number of bytes written to memory per GPU (for Model Flops Utilization calculations).",
        meaning: "Estimated memory bytes written per GPU.",
        v1: Some(Span::since(v(0, 17, 0))),
        ..BLANK
    },
    // --- KV connectors (only with the connector configured) ----------------
    MetricDef {
        name: NIXL_XFER_TIME,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of transfer duration for NIXL KV Cache transfers.",
        meaning: "NIXL KV transfer durations.",
        buckets: Some(B::TransferSeconds),
        ..CONNECTOR
    },
    MetricDef {
        name: NIXL_POST_TIME,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of transfer post time for NIXL KV Cache transfers.",
        meaning: "Time to post NIXL KV transfers.",
        buckets: Some(B::TransferSecondsFine),
        ..CONNECTOR
    },
    MetricDef {
        name: NIXL_BYTES_TRANSFERRED,
        kind: Kind::Histogram,
        unit: Unit::Bytes,
        help: "Histogram of bytes transferred per NIXL KV Cache transfers.",
        meaning: "Bytes per NIXL KV transfer.",
        buckets: Some(B::TransferBytes),
        ..CONNECTOR
    },
    MetricDef {
        name: NIXL_NUM_DESCRIPTORS,
        kind: Kind::Histogram,
        unit: Unit::Count,
        help: "Histogram of number of descriptors per NIXL  KV Cache transfers.",
        meaning: "Descriptors per NIXL KV transfer.",
        buckets: Some(B::Descriptors),
        ..CONNECTOR
    },
    MetricDef {
        name: NIXL_NUM_FAILED_TRANSFERS,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of failed NIXL KV Cache transfers, including handshake and notification failures. NOTE: KV expiry is tracked separately in vllm:nixl_num_kv_expired_reqs.",
        older_help: &[(v(0, 31, 0), "Number of failed NIXL KV Cache transfers.")],
        meaning: "Failed NIXL KV transfers (from 0.31 handshake and notification failures too): disaggregated serving is degraded.",
        ..CONNECTOR
    },
    MetricDef {
        name: NIXL_NUM_FAILED_NOTIFICATIONS,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of failed NIXL KV Cache notifications. Retained for compatibility; these failures are also included in vllm:nixl_num_failed_transfers.",
        older_help: &[(v(0, 31, 0), "Number of failed NIXL KV Cache notifications.")],
        meaning: "Failed NIXL notifications (from 0.31 also counted in the failed transfers).",
        ..CONNECTOR
    },
    MetricDef {
        name: NIXL_NUM_KV_EXPIRED_REQS,
        kind: Kind::Counter,
        unit: Unit::Requests,
        help: "Number of requests that had their KV expire. NOTE: This metric is tracked on the P instance.",
        meaning: "Requests whose KV expired on the prefill instance before the decode instance fetched it.",
        v1: Some(Span::since(v(0, 15, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: NIXL_NUM_NOTIFICATIONS_AFTER_EXPIRY,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of completion notifications for requests that were no longer tracked, usually because their KV lease expired. The KV blocks may have been reused before the transfer finished. Counted per notification (one per remote rank), not per request.",
        meaning: "Transfers that completed after their request's KV lease expired: the blocks may have been reused, so the transferred KV may be wrong.",
        v1: Some(Span::since(v(0, 32, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: MOONCAKE_XFER_TIME,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of transfer duration for Mooncake KV Cache transfers.",
        meaning: "Mooncake KV transfer durations.",
        v1: Some(Span::since(v(0, 33, 0))),
        buckets: Some(B::TransferSeconds),
        ..CONNECTOR
    },
    MetricDef {
        name: MOONCAKE_BYTES_TRANSFERRED,
        kind: Kind::Histogram,
        unit: Unit::Bytes,
        help: "Histogram of bytes transferred per Mooncake KV Cache transfer.",
        meaning: "Bytes per Mooncake KV transfer.",
        v1: Some(Span::since(v(0, 33, 0))),
        buckets: Some(B::TransferBytes),
        ..CONNECTOR
    },
    MetricDef {
        name: MOONCAKE_NUM_DESCRIPTORS,
        kind: Kind::Histogram,
        unit: Unit::Count,
        help: "Histogram of number of descriptors per Mooncake KV Cache transfer.",
        meaning: "Descriptors per Mooncake KV transfer.",
        v1: Some(Span::since(v(0, 33, 0))),
        buckets: Some(B::Descriptors),
        ..CONNECTOR
    },
    MetricDef {
        name: MOONCAKE_NUM_FAILED_TRANSFERS,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of failed Mooncake KV Cache transfers.",
        meaning: "Failed Mooncake KV sends: disaggregated serving is degraded.",
        v1: Some(Span::since(v(0, 33, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: MOONCAKE_NUM_FAILED_RECVS,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of failed Mooncake KV Cache receives.",
        meaning: "Failed Mooncake KV receives: the decode instance recomputes the prompt.",
        v1: Some(Span::since(v(0, 33, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: MOONCAKE_NUM_KV_EXPIRED_REQS,
        kind: Kind::Counter,
        unit: Unit::Requests,
        help: "Number of requests that had their KV expire. NOTE: This metric is tracked on the P instance.",
        meaning: "Requests whose KV expired on the prefill instance before the decode instance fetched it (Mooncake).",
        v1: Some(Span::since(v(0, 33, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: MOONCAKE_STORE_OPERATION_TIME,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        extra_labels: MOONCAKE_STORE,
        help: "Histogram of Mooncake store communication time.",
        meaning: "Duration of Mooncake store operations, by operation and status.",
        v1: Some(Span::since(v(0, 22, 0))),
        buckets: Some(B::StoreOperation),
        ..CONNECTOR
    },
    MetricDef {
        name: MOONCAKE_STORE_OPERATIONS,
        kind: Kind::Counter,
        unit: Unit::Count,
        extra_labels: MOONCAKE_STORE,
        help: "Number of Mooncake store communication operations.",
        meaning: "Mooncake store operations, by operation and status.",
        v1: Some(Span::since(v(0, 22, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: MOONCAKE_STORE_OPERATION_KEYS,
        kind: Kind::Counter,
        unit: Unit::Count,
        extra_labels: MOONCAKE_STORE,
        help: "Number of Mooncake store keys touched by operations.",
        meaning: "Keys read or written in the Mooncake store.",
        v1: Some(Span::since(v(0, 22, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: MOONCAKE_STORE_OPERATION_BYTES,
        kind: Kind::Counter,
        unit: Unit::Bytes,
        extra_labels: MOONCAKE_STORE,
        help: "Number of bytes transferred by Mooncake store operations.",
        meaning: "Bytes moved to and from the Mooncake store.",
        v1: Some(Span::since(v(0, 22, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: MOONCAKE_STORE_OPERATION_FAILED_KEYS,
        kind: Kind::Counter,
        unit: Unit::Count,
        extra_labels: MOONCAKE_STORE,
        help: "Number of Mooncake store keys that failed in operations.",
        meaning: "Mooncake store keys whose operation failed.",
        v1: Some(Span::since(v(0, 22, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: HF3FS_SAVE_DURATION,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of save duration for HF3FSKVConnector.",
        meaning: "Time to save KV blocks to 3FS.",
        v1: Some(Span::since(v(0, 20, 0))),
        buckets: Some(B::TransferSecondsFine),
        ..CONNECTOR
    },
    MetricDef {
        name: HF3FS_LOAD_DURATION,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of load duration for HF3FSKVConnector.",
        meaning: "Time to load KV blocks from 3FS.",
        v1: Some(Span::since(v(0, 20, 0))),
        buckets: Some(B::TransferSecondsFine),
        ..CONNECTOR
    },
    MetricDef {
        name: HF3FS_NUM_FAILED_SAVE,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of failed HF3FS KV save.",
        meaning: "KV saves to 3FS that failed.",
        v1: Some(Span::since(v(0, 20, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: HF3FS_NUM_FAILED_LOAD,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of failed HF3FS KV load.",
        meaning: "KV loads from 3FS that failed: those prompts are recomputed.",
        v1: Some(Span::since(v(0, 20, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: HISPARSE_CACHE_HITS,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of HiSparse device hot-buffer hits.",
        meaning: "Sparse-attention KV lookups served from the GPU hot buffer.",
        v1: Some(Span::since(v(0, 30, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: HISPARSE_CACHE_MISSES,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of HiSparse device hot-buffer misses.",
        meaning: "Sparse-attention KV lookups that had to fetch from host memory.",
        v1: Some(Span::since(v(0, 30, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: HISPARSE_HOST_TO_DEVICE_BYTES,
        kind: Kind::Counter,
        unit: Unit::Bytes,
        help: "Bytes transferred from host KV storage to HiSparse hot buffers.",
        meaning: "Bytes copied from host KV storage to the GPU hot buffers.",
        v1: Some(Span::since(v(0, 30, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: HISPARSE_HOST_CACHE_USAGE_PERC,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "HiSparse host KV-cache usage. 1 means 100 percent usage. Evictable cached blocks count as free.",
        meaning: "Fraction (0..1) of the HiSparse host KV cache in use.",
        v1: Some(Span::since(v(0, 32, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: HISPARSE_PENDING_PAGE_TRANSFERS,
        kind: Kind::Gauge,
        unit: Unit::Count,
        help: "HiSparse page transfers (write-backs and restores) not yet completed.",
        meaning: "HiSparse page write-backs and restores in flight.",
        v1: Some(Span::since(v(0, 32, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: HISPARSE_HOST_BLOCK_LIFETIME,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of HiSparse host KV block lifetime from allocation to eviction. Sampled metrics (controlled by --kv-cache-metrics-sample).",
        meaning: "How long sampled HiSparse host blocks live before eviction.",
        v1: Some(Span::since(v(0, 32, 0))),
        buckets: Some(B::KvCacheResidency),
        requires: &[C::KvConnector, C::KvCacheMetrics],
        ..CONNECTOR
    },
    MetricDef {
        name: HISPARSE_HOST_BLOCK_IDLE_BEFORE_EVICT,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of HiSparse host KV block idle time before eviction. Sampled metrics (controlled by --kv-cache-metrics-sample).",
        meaning: "How long sampled HiSparse host blocks sat unused before eviction.",
        v1: Some(Span::since(v(0, 32, 0))),
        buckets: Some(B::KvCacheResidency),
        requires: &[C::KvConnector, C::KvCacheMetrics],
        ..CONNECTOR
    },
    MetricDef {
        name: HISPARSE_HOST_BLOCK_REUSE_GAP,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of time gaps between consecutive HiSparse host KV block accesses. Sampled metrics (controlled by --kv-cache-metrics-sample).",
        meaning: "Time between reuses of sampled HiSparse host blocks.",
        v1: Some(Span::since(v(0, 32, 0))),
        buckets: Some(B::KvCacheResidency),
        requires: &[C::KvConnector, C::KvCacheMetrics],
        ..CONNECTOR
    },
    MetricDef {
        name: UMBP_TRANSFER_SUBMITTED,
        kind: Kind::Counter,
        unit: Unit::Count,
        extra_labels: OPERATION,
        help: "Number of UMBP objects submitted.",
        meaning: "UMBP transfers started, by operation.",
        v1: Some(Span::since(v(0, 33, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: UMBP_TRANSFER_COMPLETED,
        kind: Kind::Counter,
        unit: Unit::Count,
        extra_labels: OPERATION,
        help: "Number of UMBP objects completed.",
        meaning: "UMBP transfers completed, by operation.",
        v1: Some(Span::since(v(0, 33, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: UMBP_TRANSFER_FAILED,
        kind: Kind::Counter,
        unit: Unit::Count,
        extra_labels: OPERATION,
        help: "Number of UMBP objects failed.",
        meaning: "UMBP transfers that failed, by operation.",
        v1: Some(Span::since(v(0, 33, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: UMBP_TRANSFER_BYTES,
        kind: Kind::Counter,
        unit: Unit::Bytes,
        extra_labels: OPERATION,
        help: "Bytes in successfully completed UMBP transfer ranges.",
        meaning: "Bytes moved by completed UMBP transfers, by operation.",
        v1: Some(Span::since(v(0, 33, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: SIMPLE_KV_OFFLOAD_SAVE_OUTCOMES,
        kind: Kind::Counter,
        unit: Unit::Count,
        extra_labels: &[LabelDef { name: "outcome", values: &[] }],
        help: "Store admission decisions in SimpleCPUOffloadConnector, by outcome. Outcomes classify eager-mode boundary hand-off stores; lazy-mode stores are not classified.",
        meaning: "What the simple CPU offload connector decided for each store, by outcome.",
        v1: Some(Span::since(v(0, 31, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: SIMPLE_KV_OFFLOAD_LOAD_BLOCKS,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "KV blocks restored to GPU from the offload pool, counted when a load finishes. This is prefill work avoided through offload cache hits.",
        meaning: "KV blocks loaded back from the offload pool: prefill work saved.",
        v1: Some(Span::since(v(0, 31, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: SIMPLE_KV_OFFLOAD_USED_BLOCKS,
        kind: Kind::Gauge,
        unit: Unit::Count,
        help: "Offload-pool blocks currently pinned by in-flight transfers or cache hits (capacity minus free). Evictable cached blocks are not counted; capacity_blocks is on vllm:simple_kv_offload_info.",
        meaning: "Offload-pool blocks pinned now; compare with capacity_blocks of vllm:simple_kv_offload_info.",
        v1: Some(Span::since(v(0, 31, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: SIMPLE_KV_OFFLOAD_PENDING_STORE_BLOCKS,
        kind: Kind::Gauge,
        unit: Unit::Count,
        help: "Offload blocks in pending stores: queued for dispatch, issued to workers, or awaiting release after a cache reset. A persistently growing value indicates a stuck transfer.",
        meaning: "Offload blocks waiting to be stored; steady growth means a transfer is stuck.",
        v1: Some(Span::since(v(0, 31, 0))),
        ..CONNECTOR
    },
    MetricDef {
        name: SIMPLE_KV_OFFLOAD_INFO,
        kind: Kind::Gauge,
        unit: Unit::Info,
        extra_labels: &[
            LabelDef { name: "backend", values: &[("cpu", v(0, 31, 0)), ("disk", v(0, 31, 0))] },
            LabelDef { name: "page_cache", values: &[] },
            LabelDef { name: "lazy_offload", values: &[] },
            LabelDef { name: "capacity_blocks", values: &[] },
        ],
        help: "SimpleCPUOffloadConnector deployment facts. Value is always 1. backend is cpu or disk; page_cache and lazy_offload are true/false; capacity_blocks is the offload pool size.",
        meaning: "Always 1; the labels describe the simple CPU offload connector (backend, pool size).",
        v1: Some(Span::since(v(0, 31, 0))),
        ..CONNECTOR
    },
    // --- The offloading connector (only with it configured) -----------------
    MetricDef {
        name: KV_OFFLOAD_TOTAL_BYTES,
        kind: Kind::Counter,
        unit: Unit::Bytes,
        extra_labels: TRANSFER_TYPE,
        help: "Number of bytes offloaded by KV connector",
        meaning: "Deprecated offload byte counter; use the load/store counters.",
        v1: Some(Span { added: v(0, 16, 0), deprecated: Some(v(0, 24, 0)), hidden: None, removed: None }),
        successor: Some(KV_OFFLOAD_STORE_BYTES),
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_TOTAL_TIME,
        kind: Kind::Counter,
        unit: Unit::Seconds,
        extra_labels: TRANSFER_TYPE,
        help: "Total time measured by all KV offloading operations",
        meaning: "Deprecated offload time counter; use the load/store time counters.",
        v1: Some(Span { added: v(0, 16, 0), deprecated: Some(v(0, 24, 0)), hidden: None, removed: None }),
        successor: Some(KV_OFFLOAD_STORE_TIME),
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_SIZE,
        kind: Kind::Histogram,
        unit: Unit::Bytes,
        extra_labels: TRANSFER_TYPE,
        help: "Histogram of KV offload transfer size, in bytes.",
        meaning: "Deprecated offload transfer sizes; use the load/store size histograms.",
        v1: Some(Span { added: v(0, 16, 0), deprecated: Some(v(0, 24, 0)), hidden: None, removed: None }),
        successor: Some(KV_OFFLOAD_STORE_SIZE),
        buckets: Some(B::OffloadTransferBytes),
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_LOAD_BYTES,
        kind: Kind::Counter,
        unit: Unit::Bytes,
        help: "Total bytes loaded from offload storage to GPU.",
        meaning: "Bytes loaded back from the offload tier to the GPU.",
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_LOAD_TIME,
        kind: Kind::Counter,
        unit: Unit::Seconds,
        help: "Total load time from offload storage to GPU, in seconds.",
        meaning: "Time spent loading KV from the offload tier; bytes over time is the load bandwidth.",
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_LOAD_SIZE,
        kind: Kind::Histogram,
        unit: Unit::Bytes,
        help: "Histogram of KV offload load operation size, in bytes.",
        meaning: "Size of each load from the offload tier.",
        buckets: Some(B::OffloadTransferBytes),
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_STORE_BYTES,
        kind: Kind::Counter,
        unit: Unit::Bytes,
        help: "Total bytes stored from GPU to offload storage.",
        meaning: "Bytes stored from the GPU to the offload tier.",
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_STORE_TIME,
        kind: Kind::Counter,
        unit: Unit::Seconds,
        help: "Total store time from GPU to offload storage, in seconds.",
        meaning: "Time spent storing KV to the offload tier.",
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_STORE_SIZE,
        kind: Kind::Histogram,
        unit: Unit::Bytes,
        help: "Histogram of KV offload store operation size, in bytes.",
        meaning: "Size of each store to the offload tier.",
        buckets: Some(B::OffloadTransferBytes),
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_STORES_SKIPPED,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of KV offload stores skipped because the reuse threshold was not reached.",
        meaning: "Stores not offloaded because the blocks were not reused often enough.",
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_LOOKUP_SYNC_DELAY,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of the time spent in a single offload lookup call, in seconds.",
        meaning: "Scheduler time blocked in each offload lookup.",
        v1: Some(Span::since(v(0, 26, 0))),
        buckets: Some(B::LookupSync),
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_LOOKUP_ASYNC_DELAY,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of time between a request's offload lookup first deferring and the following lookup resolving, or request finish, in seconds.",
        meaning: "How long requests wait for a deferred offload lookup to resolve.",
        v1: Some(Span::since(v(0, 26, 0))),
        buckets: Some(B::LookupAsync),
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_ALLOCATION_FAILURE,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of KV offload store allocation attempts that failed.",
        meaning: "Stores dropped because the offload tier had no room.",
        v1: Some(Span::since(v(0, 26, 0))),
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_CONFIG_INFO,
        kind: Kind::Gauge,
        unit: Unit::Info,
        help: "Static configuration of the KV offload managers of this engine instance. The configured offloading spec declares the label names, and each manager fills the values, so a series appears from the first scheduler step of its engine. A manager reports one series for each configuration it holds, and a label of its own tells the series apart. Each engine reports its own configuration, not the instance total.",
        meaning: "Always 1; besides engine and model_name, the labels (declared by the offloading spec) carry each offload manager's configuration.",
        v1: Some(Span::since(v(0, 33, 0))),
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_CPU_CACHE_USAGE_PERC,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "Fraction of CPU KV-cache space currently pinned by active transfers (0.0 = idle, 1.0 = saturated). Sustained high values indicate transfers (stores or promotions) may be dropped due to insufficient capacity.",
        meaning: "Fraction of the CPU offload cache pinned by transfers; near 1, stores are dropped.",
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_CPU_CACHE_WRITE_USAGE_PERC,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "Fraction of CPU KV-cache space currently pinned by in-flight stores that have not yet completed (0.0 = idle, 1.0 = saturated).",
        meaning: "Fraction of the CPU offload cache pinned by stores in flight.",
        v1: Some(Span::since(v(0, 26, 0))),
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_CPU_CACHE_READ_USAGE_PERC,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "Fraction of CPU KV-cache space currently pinned by in-flight loads that have not yet completed (0.0 = idle, 1.0 = saturated).",
        meaning: "Fraction of the CPU offload cache pinned by loads in flight.",
        v1: Some(Span::since(v(0, 26, 0))),
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_CPU_ALLOCATION_SIZE,
        kind: Kind::Histogram,
        unit: Unit::Count,
        help: "Histogram of the number of CPU chunks requested by each KV offload prepare_store call.",
        older_help: &[(v(0, 30, 0), "Histogram of the number of CPU blocks requested by each KV offload prepare_store call.")],
        meaning: "CPU chunks (blocks before 0.30) requested per offload store.",
        v1: Some(Span::since(v(0, 26, 0))),
        buckets: Some(B::OffloadChunks),
        ..OFFLOAD
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_LOOKUP_SYNC_DELAY,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of blocking time spent in a per-chunk tier lookup that resolved as a hit or miss, labeled by tier, in seconds.",
        older_help: &[
            (v(0, 28, 0), "Histogram of total blocking time spent querying secondary tiers for a request, accumulated from first lookup until the request is allocated or finishes, in seconds."),
            (v(0, 30, 0), "Histogram of blocking time spent in a per-block tier lookup that resolved as a hit or miss, labeled by tier, in seconds."),
        ],
        meaning: "Scheduler time blocked in each secondary-tier lookup (per request and without the tier label before 0.28).",
        v1: Some(Span::since(v(0, 26, 0))),
        buckets: Some(B::LookupSync),
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_LOOKUP_ASYNC_DELAY,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of wall-clock time from a per-chunk tier lookup first returning retry until that same tier lookup resolves as a hit or miss, labeled by tier, in seconds.",
        older_help: &[
            (v(0, 28, 0), "Histogram of wall-clock time from a request's first deferred secondary-tier lookup until the request is allocated or finishes, in seconds."),
            (v(0, 30, 0), "Histogram of wall-clock time from a per-block tier lookup first returning retry until that same tier lookup resolves as a hit or miss, labeled by tier, in seconds."),
        ],
        meaning: "How long deferred secondary-tier lookups take to resolve (per request and without the tier label before 0.28).",
        v1: Some(Span::since(v(0, 26, 0))),
        buckets: Some(B::LookupAsync),
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_READ_BYTES,
        kind: Kind::Counter,
        unit: Unit::Bytes,
        help: "Total bytes read from secondary tiers into the primary tier, labeled by tier.",
        meaning: "Bytes promoted from each secondary tier into the CPU primary tier.",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_READ_TIME,
        kind: Kind::Counter,
        unit: Unit::Seconds,
        help: "Total time spent reading from secondary tiers into the primary tier, in seconds, labeled by tier. Tiers that do not report per-job transfer time have no series here. Use vllm:kv_offload_tiering_promotion_latency_seconds for tier-independent promotion timing.",
        older_help: &[(v(0, 33, 0), "Total time spent reading from secondary tiers into the primary tier, in seconds, labeled by tier.")],
        meaning: "Time spent reading from each secondary tier.",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_WRITE_BYTES,
        kind: Kind::Counter,
        unit: Unit::Bytes,
        help: "Total bytes written from the primary tier to secondary tiers, labeled by tier.",
        meaning: "Bytes cascaded from the CPU primary tier to each secondary tier.",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_WRITE_TIME,
        kind: Kind::Counter,
        unit: Unit::Seconds,
        help: "Total time spent writing from the primary tier to secondary tiers, in seconds, labeled by tier. Tiers that do not report per-job transfer time have no series here.",
        older_help: &[(v(0, 33, 0), "Total time spent writing from the primary tier to secondary tiers, in seconds, labeled by tier.")],
        meaning: "Time spent writing to each secondary tier.",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_PROMOTION_JOB_FAILURES,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of failed secondary-tier promotion jobs, labeled by tier.",
        meaning: "Reads from a secondary tier that failed: those prompts are recomputed.",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_CASCADE_JOB_FAILURES,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of failed secondary-tier cascade jobs, labeled by tier.",
        meaning: "Writes to a secondary tier that failed.",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_CHUNK_QUERIES,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of chunk lookup queries sent to a tier, labeled by tier.",
        older_help: &[(v(0, 30, 0), "Number of block lookup queries sent to a tier, labeled by tier.")],
        meaning: "Chunk lookups per tier; hit rate = rate(hits) / rate(queries).",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_CHUNK_HITS,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of chunk lookup hits in a tier, labeled by tier.",
        older_help: &[(v(0, 30, 0), "Number of block lookup hits in a tier, labeled by tier.")],
        meaning: "Chunk lookups a tier could serve.",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_PROMOTION_ALLOCATION_FAILURES,
        kind: Kind::Counter,
        unit: Unit::Count,
        extra_labels: &[],
        help: "Number of promotion attempts that failed because the primary tier could not allocate space.",
        meaning: "Promotions dropped because the CPU primary tier was full.",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_PRIMARY_WRITE_USAGE_PERC,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "Current fraction of primary-tier space used by writes from secondary tiers, labeled by tier.",
        meaning: "Fraction of the primary tier taken by promotions in flight from each tier.",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_PRIMARY_READ_USAGE_PERC,
        kind: Kind::Gauge,
        unit: Unit::Ratio,
        help: "Current fraction of primary-tier space used by reads to secondary tiers, labeled by tier.",
        meaning: "Fraction of the primary tier pinned by cascades in flight to each tier.",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_ACTIVE_PROMOTION_JOBS,
        kind: Kind::Gauge,
        unit: Unit::Count,
        help: "Number of active secondary-tier promotion jobs, labeled by tier.",
        meaning: "Promotion jobs running now, per tier.",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_ACTIVE_CASCADE_JOBS,
        kind: Kind::Gauge,
        unit: Unit::Count,
        help: "Number of active secondary-tier cascade jobs, labeled by tier.",
        meaning: "Cascade jobs running now, per tier.",
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_BACKPRESSURE_STORE_LATENCY_EMA,
        kind: Kind::Gauge,
        unit: Unit::Seconds,
        help: "Exponential moving average of store latency for back-pressure detection, in s/MiB.",
        meaning: "Smoothed store latency per MiB of a secondary tier (seconds per MiB); it drives back-pressure.",
        v1: Some(Span::since(v(0, 31, 0))),
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_BACKPRESSURE_STORES_DROPPED,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of store operations dropped due to back-pressure on a secondary tier.",
        meaning: "Stores a slow secondary tier did not take.",
        v1: Some(Span::since(v(0, 31, 0))),
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_BACKPRESSURE_BLOCKS_DROPPED,
        kind: Kind::Counter,
        unit: Unit::Count,
        help: "Number of blocks dropped due to back-pressure on a secondary tier.",
        meaning: "KV blocks a slow secondary tier did not take.",
        v1: Some(Span::since(v(0, 31, 0))),
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_PROMOTION_LATENCY,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        extra_labels: &[
            LabelDef { name: "tier", values: &[] },
            LabelDef { name: "result", values: &[("failure", v(0, 33, 0)), ("success", v(0, 33, 0))] },
        ],
        help: "Histogram of per-job latency for secondary-tier promotion attempts, measured from job creation until the tiering manager observes completion so that tier queueing is included, labeled by tier and result, in seconds. Includes failed attempts.",
        meaning: "Time to promote KV from a secondary tier, queueing included, by result.",
        v1: Some(Span::since(v(0, 33, 0))),
        buckets: Some(B::PromotionLatency),
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_DEFERRED_RELEASE_CHUNKS,
        kind: Kind::Gauge,
        unit: Unit::Count,
        help: "Number of primary-tier chunks of failed promotions whose release to the free pool is deferred until the tier confirms its I/O can no longer write to them, labeled by tier.",
        meaning: "Primary-tier chunks held back after failed promotions until the tier's I/O is done with them; a steady rise means a tier never confirms.",
        v1: Some(Span::since(v(0, 34, 0))),
        ..TIERING
    },
    MetricDef {
        name: KV_OFFLOAD_TIERING_DEFERRED_RELEASE_HOLD,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Histogram of how long a failed promotion's primary-tier chunks were held before their deferred release completed, observed at release, labeled by tier, in seconds.",
        meaning: "How long failed promotions kept primary-tier chunks out of the free pool.",
        v1: Some(Span::since(v(0, 34, 0))),
        buckets: Some(B::DeferredReleaseHold),
        ..TIERING
    },
    // --- Optional front-end subsystems -------------------------------------
    MetricDef {
        name: SLEEP_MODE_OPERATION_DURATION,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        scope: Scope::Own,
        extra_labels: &[LabelDef { name: "operation", values: &[("release_kv_cache_memory", v(0, 32, 0)), ("sleep", v(0, 32, 0)), ("wake", v(0, 32, 0))] }],
        help: "Duration of one sleep-mode operation.",
        meaning: "How long sleep and wake operations take.",
        v1: Some(Span::since(v(0, 32, 0))),
        requires: &[C::SleepMode],
        buckets: Some(B::Operation),
        ..BLANK
    },
    MetricDef {
        name: SLEEP_MODE_OPERATIONS_IN_FLIGHT,
        kind: Kind::Gauge,
        unit: Unit::Count,
        scope: Scope::Own,
        extra_labels: &[LabelDef { name: "operation", values: &[("release_kv_cache_memory", v(0, 32, 0)), ("sleep", v(0, 32, 0)), ("wake", v(0, 32, 0))] }],
        help: "Sleep-mode operations currently awaited.",
        meaning: "Sleep or wake operations running now.",
        v1: Some(Span::since(v(0, 32, 0))),
        requires: &[C::SleepMode],
        ..BLANK
    },
    MetricDef {
        name: RL_WEIGHT_UPDATE_OPERATION_DURATION,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        scope: Scope::Own,
        extra_labels: &[LabelDef { name: "operation", values: &[] }],
        help: "Duration of one weight-transfer operation.",
        meaning: "How long online weight updates take.",
        v1: Some(Span::since(v(0, 32, 0))),
        requires: &[C::RlWeightUpdate],
        buckets: Some(B::Operation),
        ..BLANK
    },
    MetricDef {
        name: RL_WEIGHT_UPDATE_OPERATIONS_IN_FLIGHT,
        kind: Kind::Gauge,
        unit: Unit::Count,
        scope: Scope::Own,
        extra_labels: &[LabelDef { name: "operation", values: &[] }],
        help: "Weight-transfer operations currently awaited.",
        meaning: "Weight updates running now.",
        v1: Some(Span::since(v(0, 32, 0))),
        requires: &[C::RlWeightUpdate],
        ..BLANK
    },
    MetricDef {
        name: WEBSOCKET_CONNECTIONS_ACTIVE,
        kind: Kind::Gauge,
        unit: Unit::Count,
        scope: Scope::Own,
        help: "Number of currently active WebSocket connections.",
        meaning: "Open realtime websocket sessions.",
        v1: Some(Span::since(v(0, 18, 0))),
        requires: &[C::Realtime],
        ..BLANK
    },
    MetricDef {
        name: WEBSOCKET_CONNECTIONS,
        kind: Kind::Counter,
        unit: Unit::Count,
        scope: Scope::Own,
        help: "Total number of WebSocket connections.",
        meaning: "Realtime websocket sessions opened.",
        v1: Some(Span::since(v(0, 18, 0))),
        requires: &[C::Realtime],
        ..BLANK
    },
    MetricDef {
        name: WEBSOCKET_CONNECTION_DURATION,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        scope: Scope::Own,
        help: "Duration of WebSocket connections in seconds.",
        meaning: "How long realtime sessions last.",
        v1: Some(Span::since(v(0, 18, 0))),
        requires: &[C::Realtime],
        buckets: Some(B::Connection),
        ..BLANK
    },
    MetricDef {
        name: TOOL_CALL_PARSER_INVOCATIONS,
        kind: Kind::Counter,
        unit: Unit::Count,
        scope: Scope::Model,
        extra_labels: &[
            LabelDef { name: "mode", values: &[("non_streaming", v(0, 24, 0)), ("streaming", v(0, 24, 0))] },
            LabelDef { name: "outcome", values: &[("no_tool_call", v(0, 24, 0)), ("tool_call", v(0, 24, 0))] },
            LabelDef { name: "request_type", values: &[("chat_completions", v(0, 24, 0)), ("other", v(0, 24, 0)), ("responses", v(0, 24, 0))] },
        ],
        help: "Total number of ToolParser invocations. Non-streaming increments once per choice; streaming increments once per delta.",
        meaning: "Tool-call parsing by outcome: a rise in no_tool_call can mean a model or prompt regression.",
        v1: Some(Span::since(v(0, 24, 0))),
        requires: &[C::ToolCallParser],
        ..BLANK
    },
];
