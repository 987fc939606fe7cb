//! The exposition writer: walks the catalog's metric set for the configured
//! release and prints every family the way prometheus_client would.

use super::format::{escape_help, escape_label_value, go_float, python_repr};
use super::histogram::Histogram;
use super::load::EngineSim;
use super::models::BLOCK_SIZE;
use super::process::{gc_value, process_value, ServerLoad};
use super::stats::{bounds_of, Handler, HistId, HttpStats, Outcome, Status, Summary};
use super::{Simulator, LORA_ADAPTERS, OFFLOAD_TIER};
use crate::catalog::{names, v, Condition, Engine, Kind, MetricDef, Scope, Unit};
use std::borrow::Cow;
use std::fmt::Write;

type Labels<'a> = Vec<(&'static str, Cow<'a, str>)>;

enum Value<'a> {
    Num(f64),
    Hist(Cow<'a, Histogram>),
    Summary(Summary),
}

struct Series<'a> {
    /// Sorted by name, as prometheus_client prints them.
    labels: Labels<'a>,
    value: Value<'a>,
    /// Unix time the child was created (its `_created` sample).
    created: f64,
}

impl<'a> Series<'a> {
    fn new(mut labels: Labels<'a>, value: Value<'a>, created: f64) -> Self {
        labels.sort_by(|a, b| a.0.cmp(b.0));
        Series {
            labels,
            value,
            created,
        }
    }
}

/// Everything the writer needs besides the simulator itself.
struct Ctx<'a> {
    sim: &'a Simulator,
    http: HttpStats,
    load: ServerLoad,
}

pub(super) fn render(sim: &Simulator) -> String {
    let mut http = HttpStats::new(sim.cfg.version);
    let mut load = ServerLoad {
        elapsed: sim.elapsed,
        ..ServerLoad::default()
    };
    for e in &sim.engines {
        http.merge(&e.stats.http);
        load.tokens += e.stats.prompt_tokens + e.stats.generation_tokens;
        load.in_flight += (e.running() + e.waiting()) as f64;
    }
    load.requests = http.total_requests();
    let ctx = Ctx { sim, http, load };
    let with_created = sim.cfg.api_servers == 1;
    let mut out = String::with_capacity(16_384 + 40_000 * sim.engines.len());
    for (index, def) in sim.metrics.iter().enumerate() {
        let series = family_series(&ctx, def, index);
        write_family(&mut out, &ctx, def, &series);
        if with_created && def.has_created_series() && !series.is_empty() {
            write_created(&mut out, &ctx, def, &series);
        }
    }
    out
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
        Kind::Summary => "summary",
    }
}

fn write_header(out: &mut String, name: &str, help: &str, kind: &str) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    escape_help(out, help);
    out.push_str("\n# TYPE ");
    out.push_str(name);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
}

/// One sample line; `le` is merged into the sorted labels.
fn write_sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &Labels,
    le: Option<&str>,
    value: &str,
) {
    out.push_str(name);
    out.push_str(suffix);
    let mut le = le;
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !std::mem::take(&mut first) {
                out.push(',');
            }
        };
        for (k, v) in labels {
            if let Some(bound) = le.filter(|_| *k > "le") {
                sep(out);
                let _ = write!(out, "le=\"{bound}\"");
                le = None;
            }
            sep(out);
            out.push_str(k);
            out.push_str("=\"");
            escape_label_value(out, v);
            out.push('"');
        }
        if let Some(bound) = le {
            sep(out);
            let _ = write!(out, "le=\"{bound}\"");
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(value);
    out.push('\n');
}

fn write_family(out: &mut String, ctx: &Ctx, def: &MetricDef, series: &[Series]) {
    let help = def.help_at(ctx.sim.cfg.version, ctx.sim.engine);
    write_header(out, def.name, help, kind_name(def.kind));
    // aioprometheus (0.2.x) printed its integer counters without ".0".
    let aio = matches!(
        def.name,
        names::AIO_REQUESTS_TOTAL
            | names::AIO_RESPONSES_TOTAL
            | names::AIO_STATUS_CODES
            | names::AIO_EXCEPTIONS_TOTAL
    );
    let fmt = |x: f64| {
        if aio {
            format!("{}", x.round() as i64)
        } else {
            go_float(x)
        }
    };
    for s in series {
        match &s.value {
            Value::Num(x) => write_sample(out, def.name, "", &s.labels, None, &fmt(*x)),
            Value::Hist(h) => {
                for (bound, count) in h.cumulative() {
                    let le = go_float(bound);
                    write_sample(
                        out,
                        def.name,
                        "_bucket",
                        &s.labels,
                        Some(&le),
                        &go_float(count as f64),
                    );
                }
                write_sample(
                    out,
                    def.name,
                    "_count",
                    &s.labels,
                    None,
                    &go_float(h.count() as f64),
                );
                write_sample(out, def.name, "_sum", &s.labels, None, &go_float(h.sum()));
            }
            Value::Summary(sm) => {
                write_sample(
                    out,
                    def.name,
                    "_count",
                    &s.labels,
                    None,
                    &go_float(sm.count),
                );
                write_sample(out, def.name, "_sum", &s.labels, None, &go_float(sm.sum));
            }
        }
    }
}

fn write_created(out: &mut String, ctx: &Ctx, def: &MetricDef, series: &[Series]) {
    let name = def.created_name();
    write_header(
        out,
        &name,
        def.help_at(ctx.sim.cfg.version, ctx.sim.engine),
        "gauge",
    );
    for s in series {
        write_sample(out, &name, "", &s.labels, None, &go_float(s.created));
    }
}

fn family_series<'a>(ctx: &'a Ctx, def: &MetricDef, index: usize) -> Vec<Series<'a>> {
    // Children were created at startup, a few microseconds apart.
    let created = ctx.sim.start_unix + 0.000_25 * index as f64;
    match def.scope {
        Scope::Engine | Scope::Model => engine_series(ctx, def, created),
        Scope::CacheConfig => cache_config_series(ctx, def, created),
        Scope::Own => own_series(ctx, def, created),
    }
}

/// `label` of a series' label set, or "".
fn label<'b>(labels: &'b Labels, name: &str) -> &'b str {
    labels
        .iter()
        .find(|(k, _)| *k == name)
        .map_or("", |(_, v)| v)
}

/// Every combination of the extra labels' values at this release.
fn extra_label_sets(ctx: &Ctx, def: &MetricDef) -> Vec<Labels<'static>> {
    let version = ctx.sim.cfg.version;
    let mut sets: Vec<Labels<'static>> = vec![Vec::new()];
    for l in def.extra_labels {
        let values: Vec<Cow<'static, str>> = if l.values.is_empty() {
            match l.name {
                "position" => (0..spec_tokens(ctx))
                    .map(|p| Cow::Owned(p.to_string()))
                    .collect(),
                "tier" => vec![Cow::Borrowed(OFFLOAD_TIER)],
                _ => Vec::new(),
            }
        } else {
            def.label_values_at(l.name, version)
                .into_iter()
                .map(Cow::Borrowed)
                .collect()
        };
        sets = sets
            .into_iter()
            .flat_map(|set| {
                values.iter().map(move |value| {
                    let mut s = set.clone();
                    s.push((l.name, value.clone()));
                    s
                })
            })
            .collect();
    }
    sets
}

fn spec_tokens(ctx: &Ctx) -> usize {
    ctx.sim
        .engines
        .first()
        .map_or(0, |e| e.stats.spec_accepted_per_pos.len())
}

/// Series of engine metrics: per model and engine when the release has the
/// `engine` label, else per model with the engines totalled.
fn engine_series<'a>(ctx: &'a Ctx, def: &MetricDef, created: f64) -> Vec<Series<'a>> {
    let sim = ctx.sim;
    let common = def.common_labels(sim.cfg.version, sim.engine);
    let per_engine = common.contains(&"engine");
    let extra = extra_label_sets(ctx, def);
    let lazy = def.requires.contains(&Condition::Traffic);
    let mut out = Vec::new();
    for (m, profile) in sim.profiles.iter().enumerate() {
        let engines = sim.engines_of(m);
        let groups: Vec<(usize, &[EngineSim])> = if per_engine {
            (0..engines.len()).map(|e| (e, &engines[e..=e])).collect()
        } else {
            vec![(0, engines)]
        };
        for (e, group) in groups {
            for set in &extra {
                let mut labels: Labels = set.clone();
                for name in common {
                    let value = match *name {
                        "engine" => Cow::Owned(e.to_string()),
                        "model_name" => Cow::Borrowed(profile.name.as_str()),
                        _ => Cow::Borrowed(""),
                    };
                    labels.push((name, value));
                }
                let value = engine_value(ctx, def, group, &labels);
                if lazy && matches!(&value, Value::Hist(h) if h.count() == 0) {
                    continue; // created by its first observation
                }
                let created = created + 0.000_013 * out.len() as f64;
                out.push(Series::new(labels, value, created));
            }
        }
    }
    out
}

fn engine_value<'a>(
    ctx: &Ctx,
    def: &MetricDef,
    group: &'a [EngineSim],
    labels: &Labels,
) -> Value<'a> {
    match def.kind {
        Kind::Histogram => {
            let Some(id) = HistId::for_series(def.name, label(labels, "request_type")) else {
                let sim = ctx.sim;
                return Value::Hist(Cow::Owned(Histogram::new(bounds_of(
                    def.name,
                    sim.cfg.version,
                    sim.cfg.max_model_len,
                ))));
            };
            match group {
                [one] => Value::Hist(Cow::Borrowed(one.stats.hist(id))),
                _ => {
                    let mut total = group[0].stats.hist(id).clone();
                    for e in &group[1..] {
                        total.merge(e.stats.hist(id));
                    }
                    Value::Hist(Cow::Owned(total))
                }
            }
        }
        Kind::Counter => Value::Num(
            group
                .iter()
                .map(|e| counter(ctx, def.name, e, labels))
                .sum(),
        ),
        Kind::Gauge if def.unit == Unit::Info => Value::Num(1.0),
        Kind::Gauge => {
            let total: f64 = group.iter().map(|e| gauge(def.name, e, labels)).sum();
            // Totalled engines: fractions average, counts add up.
            let n = group.len() as f64;
            Value::Num(if def.unit == Unit::Ratio {
                total / n
            } else {
                total
            })
        }
        Kind::Summary => Value::Summary(Summary::default()),
    }
}

fn counter(ctx: &Ctx, name: &str, e: &EngineSim, labels: &Labels) -> f64 {
    let s = &e.stats;
    let cached_prompt = s.prompt_tokens - s.prompt_tokens_computed;
    // Before 0.9.0 the V1 prefix-cache counters counted blocks, not tokens.
    let unit = if ctx.sim.cfg.version < v(0, 9, 0) {
        f64::from(BLOCK_SIZE)
    } else {
        1.0
    };
    match name {
        names::PROMPT_TOKENS => s.prompt_tokens,
        names::GENERATION_TOKENS => s.generation_tokens,
        names::TOKENS => s.prompt_tokens + s.generation_tokens,
        names::PREFIX_CACHE_QUERIES => s.prefix_queries,
        names::PREFIX_CACHE_HITS => s.prefix_hits,
        names::GPU_PREFIX_CACHE_QUERIES => (s.prefix_queries / unit).floor(),
        names::GPU_PREFIX_CACHE_HITS => (s.prefix_hits / unit).floor(),
        names::NUM_PREEMPTIONS => s.preemptions,
        names::REQUEST_SUCCESS => Outcome::from_label(label(labels, "finished_reason"))
            .map_or(0.0, |o| s.finished[o as usize]),
        names::PROMPT_TOKENS_BY_SOURCE => match label(labels, "source") {
            "local_compute" => s.prompt_tokens_computed,
            "local_cache_hit" => cached_prompt,
            _ => 0.0,
        },
        names::PROMPT_TOKENS_CACHED => cached_prompt,
        names::PROMPT_TOKENS_CACHED_BY_SOURCE => match label(labels, "source") {
            "device" => cached_prompt,
            _ => 0.0,
        },
        names::PROMPT_TOKENS_RECOMPUTED => s.recomputed_tokens,
        names::ADMISSION_REJECTIONS => match label(labels, "reason") {
            "max_num_queued_reqs" => s.queue_rejections,
            _ => 0.0,
        },
        names::SPEC_DECODE_NUM_DRAFTS => s.spec_drafts,
        names::SPEC_DECODE_NUM_DRAFT_TOKENS => s.spec_draft_tokens,
        names::SPEC_DECODE_NUM_ACCEPTED_TOKENS => s.spec_accepted,
        names::SPEC_DECODE_NUM_EMITTED_TOKENS => s.spec_emitted,
        names::SPEC_DECODE_NUM_ACCEPTED_TOKENS_PER_POS => label(labels, "position")
            .parse::<usize>()
            .ok()
            .and_then(|p| s.spec_accepted_per_pos.get(p).copied())
            .unwrap_or(0.0),
        // The offloading connector stores every newly computed block; the
        // file-system tier takes what the CPU tier cascades down. Nothing is
        // loaded back (the GPU prefix cache serves the repeats).
        names::KV_OFFLOAD_STORE_BYTES | names::KV_OFFLOAD_TIERING_WRITE_BYTES => offloaded(s),
        names::KV_OFFLOAD_STORE_TIME | names::KV_OFFLOAD_TIERING_WRITE_TIME => {
            offloaded(s) / OFFLOAD_BYTES_PER_SECOND
        }
        names::KV_OFFLOAD_TOTAL_BYTES => match label(labels, "transfer_type") {
            "GPU_to_CPU" => offloaded(s),
            _ => 0.0,
        },
        names::KV_OFFLOAD_TOTAL_TIME => match label(labels, "transfer_type") {
            "GPU_to_CPU" => offloaded(s) / OFFLOAD_BYTES_PER_SECOND,
            _ => 0.0,
        },
        // MFU estimates stay 0 without --enable-mfu-metrics; multimodal and
        // external-cache counters stay 0 for text models without a connector.
        _ => 0.0,
    }
}

/// KV bytes per token of the simulated models (8B class: 32 layers, 8 KV
/// heads of 128 dimensions, K and V in 16 bits).
const KV_BYTES_PER_TOKEN: f64 = 131_072.0;
/// GPU to host copy bandwidth of the offloading connector.
const OFFLOAD_BYTES_PER_SECOND: f64 = 20e9;

/// Bytes the offloading connector has stored: every computed prompt token.
fn offloaded(s: &super::stats::EngineStats) -> f64 {
    s.prompt_tokens_computed * KV_BYTES_PER_TOKEN
}

fn gauge(name: &str, e: &EngineSim, labels: &Labels) -> f64 {
    let s = &e.stats;
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    match name {
        names::NUM_REQUESTS_RUNNING => e.running() as f64,
        names::NUM_REQUESTS_WAITING => e.waiting() as f64,
        names::NUM_REQUESTS_WAITING_BY_REASON => match label(labels, "reason") {
            "capacity" => e.waiting() as f64,
            _ => 0.0,
        },
        names::KV_CACHE_USAGE_PERC | names::GPU_CACHE_USAGE_PERC => e.kv_usage(),
        names::GPU_PREFIX_CACHE_HIT_RATE => ratio(s.prefix_hits, s.prefix_queries),
        names::ENGINE_SLEEP_STATE => match label(labels, "sleep_state") {
            "awake" => 1.0,
            _ => 0.0,
        },
        names::AVG_PROMPT_THROUGHPUT => s.avg_prompt_throughput,
        names::AVG_GENERATION_THROUGHPUT => s.avg_generation_throughput,
        names::SPEC_DECODE_DRAFT_ACCEPTANCE_RATE => ratio(s.spec_accepted, s.spec_draft_tokens),
        names::SPEC_DECODE_EFFICIENCY => ratio(s.spec_emitted, s.spec_drafts + s.spec_draft_tokens),
        // Swapping and CPU-side caches are unused (recompute preemption).
        _ => 0.0,
    }
}

/// `vllm:cache_config_info`: one series per engine whose labels are the
/// stringified `CacheConfig` fields of that release.
fn cache_config_series<'a>(ctx: &'a Ctx, def: &MetricDef, created: f64) -> Vec<Series<'a>> {
    let sim = ctx.sim;
    let version = sim.cfg.version;
    let blocks = sim.profiles.first().map_or(0, |p| p.gpu_blocks);
    let tokens = u64::from(blocks) * u64::from(BLOCK_SIZE);
    let fields: Vec<(&'static str, String)> = if sim.engine == Engine::V0 {
        vec![
            ("block_size", BLOCK_SIZE.to_string()),
            ("cache_dtype", "auto".into()),
            ("calculate_kv_scales", "False".into()),
            ("cpu_offload_gb", "0".into()),
            ("enable_prefix_caching", "True".into()),
            ("gpu_memory_utilization", "0.9".into()),
            ("is_attention_free", "False".into()),
            ("num_cpu_blocks", "2048".into()),
            ("num_gpu_blocks", blocks.to_string()),
            ("num_gpu_blocks_override", "None".into()),
            ("sliding_window", "None".into()),
            ("swap_space_bytes", "4294967296".into()),
        ]
    } else if version < v(0, 20, 0) {
        vec![
            ("block_size", BLOCK_SIZE.to_string()),
            ("cache_dtype", "auto".into()),
            ("calculate_kv_scales", "False".into()),
            ("cpu_kvcache_space_bytes", "None".into()),
            ("cpu_offload_gb", "0.0".into()),
            ("enable_prefix_caching", "True".into()),
            ("gpu_memory_utilization", "0.9".into()),
            ("is_attention_free", "False".into()),
            ("kv_cache_memory_bytes", "None".into()),
            ("kv_sharing_fast_prefill", "False".into()),
            ("mamba_cache_dtype", "auto".into()),
            ("mamba_page_size_padded", "None".into()),
            ("mamba_ssm_cache_dtype", "auto".into()),
            ("num_cpu_blocks", "None".into()),
            ("num_gpu_blocks", blocks.to_string()),
            ("num_gpu_blocks_override", "None".into()),
            ("prefix_caching_hash_algo", "sha256".into()),
            ("sliding_window", "None".into()),
            ("swap_space", "4.0".into()),
            ("swap_space_bytes", "4294967296.0".into()),
        ]
    } else {
        let concurrency = tokens as f64 / f64::from(sim.cfg.max_model_len);
        vec![
            ("_block_size_resolved", "True".into()),
            ("block_size", BLOCK_SIZE.to_string()),
            ("cache_dtype", "auto".into()),
            ("calculate_kv_scales", "False".into()),
            ("enable_prefix_caching", "True".into()),
            ("gpu_memory_utilization", "0.9".into()),
            ("is_attention_free", "False".into()),
            ("kv_cache_dtype_skip_layers", "[]".into()),
            ("kv_cache_max_concurrency", python_repr(concurrency)),
            ("kv_cache_memory_bytes", "None".into()),
            ("kv_cache_size_tokens", tokens.to_string()),
            ("kv_offloading_backend", "native".into()),
            ("kv_offloading_size", "None".into()),
            ("kv_sharing_fast_prefill", "False".into()),
            ("mamba_block_size", "None".into()),
            ("mamba_cache_dtype", "auto".into()),
            ("mamba_cache_mode", "none".into()),
            ("mamba_page_size_padded", "None".into()),
            ("mamba_ssm_cache_dtype", "auto".into()),
            ("num_cpu_blocks", "None".into()),
            ("num_gpu_blocks", blocks.to_string()),
            ("num_gpu_blocks_override", "None".into()),
            ("prefix_caching_hash_algo", "sha256".into()),
            ("prefix_match_unit", "None".into()),
            ("skip_page_size_padded", "None".into()),
            ("sliding_window", "None".into()),
            ("user_specified_block_size", "False".into()),
            ("user_specified_mamba_block_size", "False".into()),
        ]
    };
    let common = def.common_labels(version, sim.engine);
    (0..sim.cfg.engines)
        .map(|e| {
            let mut labels: Labels = fields
                .iter()
                .map(|(k, v)| (*k, Cow::Owned(v.clone())))
                .collect();
            for name in common {
                labels.push((name, Cow::Owned(e.to_string())));
            }
            Series::new(labels, Value::Num(1.0), created)
        })
        .collect()
}

/// Labels of `def` in catalog order, valued by `value_of`.
fn own_labels<'a>(def: &MetricDef, mut value_of: impl FnMut(&str) -> Cow<'a, str>) -> Labels<'a> {
    def.extra_labels
        .iter()
        .map(|l| (l.name, value_of(l.name)))
        .collect()
}

/// Comma-joined adapter names of a bit set.
fn adapter_list(mask: u32) -> String {
    LORA_ADAPTERS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

/// Families of the API server itself (no model or engine labels).
fn own_series<'a>(ctx: &'a Ctx, def: &MetricDef, created: f64) -> Vec<Series<'a>> {
    let sim = ctx.sim;
    let version = sim.cfg.version;
    let http = &ctx.http;
    let since = |t: f64| sim.start_unix + t;
    let one = |labels: Labels<'a>, value: Value<'a>| vec![Series::new(labels, value, created)];
    match def.name {
        names::PYTHON_GC_OBJECTS_COLLECTED
        | names::PYTHON_GC_OBJECTS_UNCOLLECTABLE
        | names::PYTHON_GC_COLLECTIONS => def
            .label_values_at("generation", version)
            .into_iter()
            .map(|g| {
                let labels = own_labels(def, |_| Cow::Borrowed(g));
                Series::new(labels, Value::Num(gc_value(def.name, g, ctx.load)), created)
            })
            .collect(),
        names::PYTHON_INFO => {
            let (minor, patch) = if version < v(0, 10, 0) {
                ("10", "19")
            } else {
                ("12", "12")
            };
            let labels = own_labels(def, |l| match l {
                "implementation" => Cow::Borrowed("CPython"),
                "major" => Cow::Borrowed("3"),
                "minor" => Cow::Borrowed(minor),
                "patchlevel" => Cow::Borrowed(patch),
                "version" => Cow::Owned(format!("3.{minor}.{patch}")),
                _ => Cow::Borrowed(""),
            });
            one(labels, Value::Num(1.0))
        }
        names::LORA_REQUESTS_INFO => {
            let (running, waiting) = sim.engines.iter().fold((0, 0), |(r, w), e| {
                (r | e.lora_running(), w | e.lora_waiting())
            });
            let labels = own_labels(def, |l| match l {
                "max_lora" => Cow::Owned(sim.lora_adapters().len().to_string()),
                "running_lora_adapters" => Cow::Owned(adapter_list(running)),
                "waiting_lora_adapters" => Cow::Owned(adapter_list(waiting)),
                _ => Cow::Borrowed(""),
            });
            // The value is the time of the last update, not a count.
            one(labels, Value::Num(sim.start_unix + sim.elapsed))
        }
        names::HTTP_REQUESTS => per_handler_status(http, |h, handler, st, status, t| {
            let labels = own_labels(def, |l| match l {
                "handler" => Cow::Borrowed(handler.path()),
                "method" => Cow::Borrowed(handler.method()),
                "status" => Cow::Borrowed(status.class()),
                _ => Cow::Borrowed(""),
            });
            Series::new(labels, Value::Num(http.requests[h][st]), since(t))
        }),
        names::HTTP_REQUEST_SIZE_BYTES | names::HTTP_RESPONSE_SIZE_BYTES => {
            let sizes = if def.name == names::HTTP_REQUEST_SIZE_BYTES {
                &http.request_size
            } else {
                &http.response_size
            };
            per_handler(http, |h, handler, t| {
                let labels = own_labels(def, |_| Cow::Borrowed(handler.path()));
                Series::new(labels, Value::Summary(sizes[h]), since(t))
            })
        }
        names::HTTP_REQUEST_DURATION_HIGHR => one(
            Vec::new(),
            Value::Hist(Cow::Owned(http.duration_all.clone())),
        ),
        names::HTTP_REQUEST_DURATION => per_handler(http, |h, handler, t| {
            let labels = own_labels(def, |l| match l {
                "handler" => Cow::Borrowed(handler.path()),
                "method" => Cow::Borrowed(handler.method()),
                _ => Cow::Borrowed(""),
            });
            let hist = Value::Hist(Cow::Owned(http.duration[h].clone()));
            Series::new(labels, hist, since(t))
        }),
        names::AIO_REQUESTS_TOTAL | names::AIO_RESPONSES_TOTAL => {
            per_handler(http, |h, handler, t| {
                let labels = own_labels(def, |l| match l {
                    "method" => Cow::Borrowed(handler.method()),
                    "path" => Cow::Borrowed(handler.path()),
                    _ => Cow::Borrowed(""),
                });
                let total: f64 = http.requests[h].iter().sum();
                Series::new(labels, Value::Num(total), since(t))
            })
        }
        names::AIO_STATUS_CODES => per_handler_status(http, |h, handler, st, status, t| {
            let labels = own_labels(def, |l| match l {
                "method" => Cow::Borrowed(handler.method()),
                "path" => Cow::Borrowed(handler.path()),
                "status_code" => Cow::Borrowed(status.code()),
                _ => Cow::Borrowed(""),
            });
            Series::new(labels, Value::Num(http.requests[h][st]), since(t))
        }),
        names::AIO_EXCEPTIONS_TOTAL => {
            let errors: f64 = http
                .requests
                .iter()
                .map(|r| r[Status::ServerError as usize])
                .sum();
            if errors > 0.0 {
                one(Vec::new(), Value::Num(errors))
            } else {
                Vec::new()
            }
        }
        name => match process_value(name, ctx.load, sim.start_unix) {
            Some(x) => one(Vec::new(), Value::Num(x)),
            // A family this simulator does not model: its pre-created
            // children, all zero.
            None => extra_label_sets(ctx, def)
                .into_iter()
                .map(|labels| {
                    let value = match def.kind {
                        Kind::Histogram => Value::Hist(Cow::Owned(Histogram::new(bounds_of(
                            def.name,
                            version,
                            sim.cfg.max_model_len,
                        )))),
                        Kind::Summary => Value::Summary(Summary::default()),
                        _ => Value::Num(0.0),
                    };
                    Series::new(labels, value, created)
                })
                .collect(),
        },
    }
}

/// One series per HTTP handler hit so far (`make` gets the handler's index,
/// the handler and when it was first hit), in first-hit order.
fn per_handler<'a>(
    http: &HttpStats,
    mut make: impl FnMut(usize, Handler, f64) -> Series<'a>,
) -> Vec<Series<'a>> {
    let hits = Handler::ALL
        .into_iter()
        .enumerate()
        .filter_map(|(h, handler)| {
            let t = http.handler_since[h]?;
            Some((t, make(h, handler, t)))
        })
        .collect();
    in_creation_order(hits)
}

/// One series per (handler, status class) hit so far, in first-hit order.
fn per_handler_status<'a>(
    http: &HttpStats,
    mut make: impl FnMut(usize, Handler, usize, Status, f64) -> Series<'a>,
) -> Vec<Series<'a>> {
    let mut hits = Vec::new();
    for (h, handler) in Handler::ALL.into_iter().enumerate() {
        for (st, status) in Status::ALL.into_iter().enumerate() {
            if let Some(t) = http.requests_since[h][st] {
                hits.push((t, make(h, handler, st, status, t)));
            }
        }
    }
    in_creation_order(hits)
}

/// Lazily created children appear in the order they were first hit.
fn in_creation_order(mut hits: Vec<(f64, Series)>) -> Vec<Series> {
    hits.sort_by(|a, b| a.0.total_cmp(&b.0));
    hits.into_iter().map(|(_, s)| s).collect()
}
