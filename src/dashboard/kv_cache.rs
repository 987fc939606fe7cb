//! "vLLM / KV cache & connectors": how full the KV cache is and what that
//! costs (preemptions), where prompt KV comes from (prefix cache by source
//! and tier, external and multimodal caches), block residency, the
//! offloading connector and its tiers, and the other KV connectors.
//!
//! Every row after the first two needs a configuration switch, named in
//! each panel's description, and stays collapsed.

use super::build::{units, PanelSpec};
use super::kit::{self, family, gauge, kv_cache_usage, meaning, meanings, needs, percentiles, s};
use super::layout::Layout;
use super::model::Dashboard;
use crate::catalog::names::*;
use crate::catalog::Condition;
use crate::promql::{aggregate, histogram_mean, histogram_quantile, sum_rate, version_proof_all};

const BY_ENGINE: &[&str] = &["instance", "engine"];
const BY_TIER: &[&str] = &["tier"];

/// Conditions as the panels name them.
const KV_CONNECTOR: &str = "a KV connector";
const KV_OFFLOAD: &str = "the offloading connector";
const KV_TIERING: &str = "offloading tiers";

pub(super) fn dashboard(datasource_type: &str, uid: &str, title: &str) -> Dashboard {
    let mut l = kit::layout(datasource_type);
    usage(&mut l);
    prefix_caching(&mut l);
    residency(&mut l);
    offloading(&mut l);
    tiers(&mut l);
    nixl(&mut l);
    other_connectors(&mut l);
    kit::shell(
        datasource_type,
        uid,
        title,
        "The KV cache of vLLM inference servers: usage and preemptions, prefix caching by source and tier (local, external, multimodal), block residency, the offloading connector and its tiers, NIXL and the other KV connectors. Rows that need a configuration switch are collapsed; each panel names the switch.",
        l.finish(),
    )
}

/// A panel of several families read by [`family`], described by their
/// meanings, `advice` and `needs` (what turns them on).
fn families(
    title: &str,
    width: u32,
    members: &[(&'static str, &str)],
    advice: &str,
    needs: &str,
) -> PanelSpec {
    let names: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
    let parts = [meanings(&names), advice.to_string(), needs.to_string()];
    let about: Vec<&str> = parts
        .iter()
        .map(String::as_str)
        .filter(|p| !p.is_empty())
        .collect();
    let mut spec = PanelSpec::timeseries(title, width).about(&about.join(" "));
    for (name, short) in members {
        spec = family(spec, name, short);
    }
    spec
}

/// What a connector's panels need, for their descriptions.
fn connector(name: &str) -> String {
    format!("Needs --kv-transfer-config with the {name} connector: \"No data\" without it.")
}

fn usage(l: &mut Layout) {
    l.row("KV-cache usage", false);
    l.add(
        PanelSpec::timeseries("KV-cache usage by engine", 12)
            .about(&format!(
                "{} One line per engine. Above 95% expect preemptions and queueing: raise --gpu-memory-utilization, lower --max-num-seqs or --max-model-len, or add replicas.",
                meaning(KV_CACHE_USAGE_PERC)
            ))
            .query(kv_cache_usage(BY_ENGINE), "{{instance}} {{engine}}")
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .warn_at(0.8, 0.95),
    );
    l.add(
        PanelSpec::timeseries("Preemptions by engine", 12)
            .about(&format!(
                "{} Any steady rate: give the KV cache more memory, lower --max-num-seqs, or add replicas.",
                meaning(NUM_PREEMPTIONS)
            ))
            .query(sum_rate(&s(NUM_PREEMPTIONS), BY_ENGINE), "{{instance}} {{engine}}")
            .unit(units::REQUESTS_PER_SECOND),
    );
    l.add(
        percentiles(
            PanelSpec::timeseries("Preemptions per request", 12).about(&format!(
                "{} A p99 above 1 means some requests restart again and again: their latency suffers most. Needs vLLM 0.30.0 or later: \"No data\" before. Gaps read \"idle\".",
                meaning(REQUEST_NUM_PREEMPTIONS)
            )),
            REQUEST_NUM_PREEMPTIONS,
            &[],
        )
        .unit(units::COUNT)
        .conditional("vLLM 0.30.0 or later"),
    );
    l.add(
        PanelSpec::table("Cache configuration", 12)
            .about(&format!(
                "{} One line per engine; the columns are the labels. Compare num_gpu_blocks between replicas of one model: a smaller cache preempts sooner.",
                meaning(CACHE_CONFIG_INFO)
            ))
            .column("Info", gauge(CACHE_CONFIG_INFO), None, &[])
            .unit(units::COUNT),
    );
}

fn prefix_caching(l: &mut Layout) {
    l.row("Prefix caching", false);
    let local = version_proof_all([PREFIX_CACHE_HITS, PREFIX_CACHE_QUERIES], |[h, q]| {
        sum_rate(&s(h), &[]) / sum_rate(&s(q), &[])
    })
    // The V0 engine only has its own cumulative hit-rate gauge.
    .or(aggregate("avg", &[], gauge(GPU_PREFIX_CACHE_HIT_RATE)));
    l.add(
        PanelSpec::timeseries("Prefix-cache hit rate by tier", 12)
            .about("Share of looked-up tokens found in the local prefix cache, in other instances' caches through a KV connector (external), and share of multimodal inputs found in the encoder cache. The external and multimodal lines need vLLM 0.11.2 or later (\"No data\" for them before) and stay idle without a connector or multimodal inputs. Gaps read \"idle\".")
            .query(local, "local")
            .query(
                sum_rate(&s(EXTERNAL_PREFIX_CACHE_HITS), &[])
                    / sum_rate(&s(EXTERNAL_PREFIX_CACHE_QUERIES), &[]),
                "external",
            )
            .query(
                sum_rate(&s(MM_CACHE_HITS), &[]) / sum_rate(&s(MM_CACHE_QUERIES), &[]),
                "multimodal",
            )
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::timeseries("Cache lookups by tier", 12)
            .about(&format!(
                "{} {} {} {} Per second; multimodal lookups count inputs, the others tokens. Needs vLLM 0.11.2 or later: \"No data\" before.",
                meaning(EXTERNAL_PREFIX_CACHE_QUERIES),
                meaning(EXTERNAL_PREFIX_CACHE_HITS),
                meaning(MM_CACHE_QUERIES),
                meaning(MM_CACHE_HITS)
            ))
            .query(sum_rate(&s(EXTERNAL_PREFIX_CACHE_QUERIES), &[]), "external queried")
            .query(sum_rate(&s(EXTERNAL_PREFIX_CACHE_HITS), &[]), "external hit")
            .query(sum_rate(&s(MM_CACHE_QUERIES), &[]), "multimodal queried")
            .query(sum_rate(&s(MM_CACHE_HITS), &[]), "multimodal hit")
            .unit(units::OPS)
            .conditional("vLLM 0.11.2 or later"),
    );
    l.add(
        PanelSpec::timeseries("Prompt tokens by source", 12)
            .about(&format!(
                "{} Stacked, per second: the computed band is the prefill work the GPUs really do. Needs vLLM 0.16.0 or later: \"No data\" before.",
                meaning(PROMPT_TOKENS_BY_SOURCE)
            ))
            .query(sum_rate(&s(PROMPT_TOKENS_BY_SOURCE), &["source"]), "{{source}}")
            .unit(units::TOKENS_PER_SECOND)
            .stacked()
            .conditional("vLLM 0.16.0 or later"),
    );
    l.add(
        PanelSpec::timeseries("Cached prompt tokens", 12)
            .about(&format!(
                "{} The split by the tier that supplied them needs vLLM 0.32.0 (\"No data\" for it before); the total needs 0.16.0.",
                meanings(&[PROMPT_TOKENS_CACHED, PROMPT_TOKENS_CACHED_BY_SOURCE])
            ))
            .query(sum_rate(&s(PROMPT_TOKENS_CACHED), &[]), "all cached")
            .query(
                sum_rate(&s(PROMPT_TOKENS_CACHED_BY_SOURCE), &["source"]),
                "{{source}}",
            )
            .unit(units::TOKENS_PER_SECOND)
            .conditional("vLLM 0.16.0 or later"),
    );
    l.add(
        percentiles(
            PanelSpec::timeseries("Prompt tokens computed per request", 12).about(&format!(
                "{} Next to the prompt length it shows how much prefill the caches saved per request. Needs vLLM 0.13.0 or later: \"No data\" before. Gaps read \"idle\".",
                meaning(REQUEST_PREFILL_KV_COMPUTED_TOKENS)
            )),
            REQUEST_PREFILL_KV_COMPUTED_TOKENS,
            &[],
        )
        .unit(units::TOKENS)
        .conditional("vLLM 0.13.0 or later"),
    );
}

fn residency(l: &mut Layout) {
    l.row("KV block residency", true);
    for (title, hist) in [
        ("Block lifetime", KV_BLOCK_LIFETIME),
        (
            "Block idle time before eviction",
            KV_BLOCK_IDLE_BEFORE_EVICT,
        ),
        ("Block reuse gap", KV_BLOCK_REUSE_GAP),
    ] {
        l.add(
            percentiles(
                PanelSpec::timeseries(title, 8).about(&format!(
                    "{} Short lifetimes and long reuse gaps mean the cache is too small for the shared prefixes. {} Gaps read \"idle\".",
                    meaning(hist),
                    needs(Condition::KvCacheMetrics)
                )),
                hist,
                &[],
            )
            .unit(units::SECONDS)
            .conditional("--kv-cache-metrics"),
        );
    }
}

fn offloading(l: &mut Layout) {
    l.row("KV offloading", true);
    let off = needs(Condition::KvOffload);
    l.add(
        PanelSpec::timeseries("Offload traffic", 8)
            .about(&format!(
                "{} Loads are prefill work saved; stores that are never loaded back are wasted bandwidth. {off}",
                meanings(&[KV_OFFLOAD_LOAD_BYTES, KV_OFFLOAD_STORE_BYTES])
            ))
            .query(sum_rate(&s(KV_OFFLOAD_LOAD_BYTES), &[]), "load")
            .query(sum_rate(&s(KV_OFFLOAD_STORE_BYTES), &[]), "store")
            .unit(units::BYTES_PER_SECOND)
            .conditional(KV_OFFLOAD),
    );
    l.add(
        PanelSpec::timeseries("Offload bandwidth", 8)
            .about(&format!(
                "Bytes moved per second of transfer time, for loads and stores: far below the PCIe bandwidth means small transfers or contention. {off} Gaps read \"idle\"."
            ))
            .query(
                sum_rate(&s(KV_OFFLOAD_LOAD_BYTES), &[]) / sum_rate(&s(KV_OFFLOAD_LOAD_TIME), &[]),
                "load",
            )
            .query(
                sum_rate(&s(KV_OFFLOAD_STORE_BYTES), &[])
                    / sum_rate(&s(KV_OFFLOAD_STORE_TIME), &[]),
                "store",
            )
            .unit(units::BYTES_PER_SECOND)
            .idle_is_nan()
            .conditional(KV_OFFLOAD),
    );
    l.add(
        PanelSpec::timeseries("Offload transfer size", 8)
            .about(&format!(
                "Mean size of each load and store. {} {off} Gaps read \"idle\".",
                meanings(&[KV_OFFLOAD_LOAD_SIZE, KV_OFFLOAD_STORE_SIZE])
            ))
            .query(histogram_mean(&s(KV_OFFLOAD_LOAD_SIZE), &[]), "load")
            .query(histogram_mean(&s(KV_OFFLOAD_STORE_SIZE), &[]), "store")
            .unit(units::BYTES)
            .idle_is_nan()
            .conditional(KV_OFFLOAD),
    );
    l.add(
        families(
            "Offload stores skipped or dropped",
            8,
            &[
                (KV_OFFLOAD_STORES_SKIPPED, "skipped"),
                (KV_OFFLOAD_ALLOCATION_FAILURE, "no room"),
            ],
            "Drops for lack of room mean the CPU tier is too small for the load.",
            &needs(Condition::KvOffload),
        )
        .conditional(KV_OFFLOAD),
    );
    l.add(
        PanelSpec::timeseries("Offload lookup delay", 8)
            .about(&format!(
                "p90 and mean. {} Long synchronous lookups stall the scheduler for every request. {off} Gaps read \"idle\".",
                meanings(&[KV_OFFLOAD_LOOKUP_SYNC_DELAY, KV_OFFLOAD_LOOKUP_ASYNC_DELAY])
            ))
            .query(histogram_quantile(0.9, &s(KV_OFFLOAD_LOOKUP_SYNC_DELAY), &[]), "sync p90")
            .query(histogram_mean(&s(KV_OFFLOAD_LOOKUP_SYNC_DELAY), &[]), "sync mean")
            .query(histogram_quantile(0.9, &s(KV_OFFLOAD_LOOKUP_ASYNC_DELAY), &[]), "async p90")
            .query(histogram_mean(&s(KV_OFFLOAD_LOOKUP_ASYNC_DELAY), &[]), "async mean")
            .unit(units::SECONDS)
            .idle_is_nan()
            .conditional(KV_OFFLOAD),
    );
    l.add(
        families(
            "CPU offload cache pinned",
            8,
            &[
                (KV_OFFLOAD_CPU_CACHE_USAGE_PERC, "all transfers"),
                (KV_OFFLOAD_CPU_CACHE_WRITE_USAGE_PERC, "stores"),
                (KV_OFFLOAD_CPU_CACHE_READ_USAGE_PERC, "loads"),
            ],
            "Shows the fullest engine.",
            &needs(Condition::KvOffload),
        )
        .range(0.0, 1.0)
        .warn_at(0.8, 0.95)
        .conditional(KV_OFFLOAD),
    );
    l.add(
        percentiles(
            PanelSpec::timeseries("CPU chunks per store", 8).about(&format!(
                "{} {off} Gaps read \"idle\".",
                meaning(KV_OFFLOAD_CPU_ALLOCATION_SIZE)
            )),
            KV_OFFLOAD_CPU_ALLOCATION_SIZE,
            &[],
        )
        .unit(units::COUNT)
        .conditional(KV_OFFLOAD),
    );
    let by_type = &["transfer_type"];
    let deprecated = "From the counters vLLM deprecated in 0.24.0 in favour of the load/store ones above, for releases 0.16 to 0.23, per transfer direction.";
    l.add(
        PanelSpec::timeseries("Offload bandwidth by direction (deprecated)", 8)
            .about(&format!(
                "Bytes moved per second of transfer time. {deprecated} {} {off} Gaps read \"idle\".",
                meanings(&[KV_OFFLOAD_TOTAL_BYTES, KV_OFFLOAD_TOTAL_TIME])
            ))
            .query(
                sum_rate(&s(KV_OFFLOAD_TOTAL_BYTES), by_type)
                    / sum_rate(&s(KV_OFFLOAD_TOTAL_TIME), by_type),
                "{{transfer_type}}",
            )
            .unit(units::BYTES_PER_SECOND)
            .idle_is_nan()
            .conditional(KV_OFFLOAD),
    );
    l.add(
        PanelSpec::timeseries("Offload transfer size by direction (deprecated)", 8)
            .about(&format!(
                "Mean size of each transfer. {deprecated} {} {off} Gaps read \"idle\".",
                meaning(KV_OFFLOAD_SIZE)
            ))
            .query(
                histogram_mean(&s(KV_OFFLOAD_SIZE), by_type),
                "{{transfer_type}}",
            )
            .unit(units::BYTES)
            .idle_is_nan()
            .conditional(KV_OFFLOAD),
    );
    l.add(
        PanelSpec::table("Offload configuration", 24)
            .about(&format!(
                "{} One line per engine; the columns are the labels. Needs vLLM 0.33.0 or later and {}: \"No data\" without them.",
                meaning(KV_OFFLOAD_CONFIG_INFO),
                kit::switch(Condition::KvOffload)
            ))
            .column("Info", gauge(KV_OFFLOAD_CONFIG_INFO), None, &[])
            .unit(units::COUNT)
            .conditional(KV_OFFLOAD),
    );
}

fn tiers(l: &mut Layout) {
    l.row("KV offloading tiers", true);
    let tier = needs(Condition::KvOffloadTiering);
    l.add(
        families(
            "Tier traffic",
            8,
            &[
                (KV_OFFLOAD_TIERING_READ_BYTES, "promoted"),
                (KV_OFFLOAD_TIERING_WRITE_BYTES, "cascaded"),
            ],
            "Per tier, per second.",
            &needs(Condition::KvOffloadTiering),
        )
        .conditional(KV_TIERING),
    );
    l.add(
        PanelSpec::timeseries("Tier bandwidth", 8)
            .about(&format!(
                "Bytes per second of read and write time for each secondary tier. A tier far slower than the others throttles promotions. {} {tier} Gaps read \"idle\".",
                meanings(&[KV_OFFLOAD_TIERING_READ_TIME, KV_OFFLOAD_TIERING_WRITE_TIME])
            ))
            .query(
                sum_rate(&s(KV_OFFLOAD_TIERING_READ_BYTES), BY_TIER)
                    / sum_rate(&s(KV_OFFLOAD_TIERING_READ_TIME), BY_TIER),
                "{{tier}} read",
            )
            .query(
                sum_rate(&s(KV_OFFLOAD_TIERING_WRITE_BYTES), BY_TIER)
                    / sum_rate(&s(KV_OFFLOAD_TIERING_WRITE_TIME), BY_TIER),
                "{{tier}} write",
            )
            .unit(units::BYTES_PER_SECOND)
            .idle_is_nan()
            .conditional(KV_TIERING),
    );
    l.add(
        PanelSpec::timeseries("Tier chunk hit rate", 8)
            .about(&format!(
                "{} {tier} Gaps read \"idle\".",
                meanings(&[
                    KV_OFFLOAD_TIERING_CHUNK_QUERIES,
                    KV_OFFLOAD_TIERING_CHUNK_HITS
                ])
            ))
            .query(
                sum_rate(&s(KV_OFFLOAD_TIERING_CHUNK_HITS), BY_TIER)
                    / sum_rate(&s(KV_OFFLOAD_TIERING_CHUNK_QUERIES), BY_TIER),
                "{{tier}}",
            )
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .idle_is_nan()
            .conditional(KV_TIERING),
    );
    l.add(
        families(
            "Tier job failures",
            8,
            &[
                (KV_OFFLOAD_TIERING_PROMOTION_JOB_FAILURES, "promotion"),
                (KV_OFFLOAD_TIERING_CASCADE_JOB_FAILURES, "cascade"),
                (
                    KV_OFFLOAD_TIERING_PROMOTION_ALLOCATION_FAILURES,
                    "promotion without room",
                ),
            ],
            "Anything above zero: check the tier's storage.",
            &needs(Condition::KvOffloadTiering),
        )
        .red_from(0.001)
        .conditional(KV_TIERING),
    );
    l.add(
        families(
            "Primary tier held by tier jobs",
            8,
            &[
                (KV_OFFLOAD_TIERING_PRIMARY_WRITE_USAGE_PERC, "promotions"),
                (KV_OFFLOAD_TIERING_PRIMARY_READ_USAGE_PERC, "cascades"),
            ],
            "Shows the fullest engine.",
            &needs(Condition::KvOffloadTiering),
        )
        .range(0.0, 1.0)
        .conditional(KV_TIERING),
    );
    l.add(
        families(
            "Active tier jobs",
            8,
            &[
                (KV_OFFLOAD_TIERING_ACTIVE_PROMOTION_JOBS, "promotions"),
                (KV_OFFLOAD_TIERING_ACTIVE_CASCADE_JOBS, "cascades"),
                (
                    KV_OFFLOAD_TIERING_DEFERRED_RELEASE_CHUNKS,
                    "chunks held after failures",
                ),
            ],
            "The held chunks need vLLM 0.34.0 (\"No data\" for them before).",
            &needs(Condition::KvOffloadTiering),
        )
        .conditional(KV_TIERING),
    );
    l.add(
        families(
            "Tier back-pressure latency",
            8,
            &[(KV_OFFLOAD_TIERING_BACKPRESSURE_STORE_LATENCY_EMA, "")],
            "Seconds per MiB; rising values make the tier refuse stores.",
            &needs(Condition::KvOffloadTiering),
        )
        .conditional(KV_TIERING),
    );
    l.add(
        families(
            "Tier back-pressure drops",
            8,
            &[
                (KV_OFFLOAD_TIERING_BACKPRESSURE_STORES_DROPPED, "stores"),
                (KV_OFFLOAD_TIERING_BACKPRESSURE_BLOCKS_DROPPED, "blocks"),
            ],
            "Dropped stores are KV that later has to be recomputed.",
            &needs(Condition::KvOffloadTiering),
        )
        .conditional(KV_TIERING),
    );
    l.add(
        PanelSpec::timeseries("Promotion latency", 8)
            .about(&format!(
                "{} p90 per tier and result. {tier} Gaps read \"idle\".",
                meaning(KV_OFFLOAD_TIERING_PROMOTION_LATENCY)
            ))
            .query(
                histogram_quantile(
                    0.9,
                    &s(KV_OFFLOAD_TIERING_PROMOTION_LATENCY),
                    &["tier", "result"],
                ),
                "{{tier}} {{result}} p90",
            )
            .unit(units::SECONDS)
            .idle_is_nan()
            .conditional(KV_TIERING),
    );
    l.add(
        families(
            "Tier lookup delay",
            8,
            &[
                (KV_OFFLOAD_TIERING_LOOKUP_SYNC_DELAY, "sync p90"),
                (KV_OFFLOAD_TIERING_LOOKUP_ASYNC_DELAY, "async p90"),
            ],
            "Per tier.",
            &needs(Condition::KvOffloadTiering),
        )
        .conditional(KV_TIERING),
    );
    l.add(
        families(
            "Deferred release hold time",
            8,
            &[(KV_OFFLOAD_TIERING_DEFERRED_RELEASE_HOLD, "p90")],
            "Needs vLLM 0.34.0 or later.",
            &needs(Condition::KvOffloadTiering),
        )
        .conditional(KV_TIERING),
    );
}

fn nixl(l: &mut Layout) {
    l.row("NIXL", true);
    for (title, hist, unit) in [
        ("NIXL transfer time", NIXL_XFER_TIME, units::SECONDS),
        ("NIXL post time", NIXL_POST_TIME, units::SECONDS),
        (
            "NIXL bytes per transfer",
            NIXL_BYTES_TRANSFERRED,
            units::BYTES,
        ),
        (
            "NIXL descriptors per transfer",
            NIXL_NUM_DESCRIPTORS,
            units::COUNT,
        ),
    ] {
        l.add(
            percentiles(
                PanelSpec::timeseries(title, 6).about(&format!(
                    "{} Disaggregated prefill moves each prompt's KV this way. {} Gaps read \"idle\".",
                    meaning(hist),
                    connector("NIXL")
                )),
                hist,
                &[],
            )
            .unit(unit)
            .conditional(KV_CONNECTOR),
        );
    }
    l.add(
        families(
            "NIXL failures and expiries",
            24,
            &[
                (NIXL_NUM_FAILED_TRANSFERS, "failed transfers"),
                (NIXL_NUM_FAILED_NOTIFICATIONS, "failed notifications"),
                (NIXL_NUM_KV_EXPIRED_REQS, "KV expired"),
                (
                    NIXL_NUM_NOTIFICATIONS_AFTER_EXPIRY,
                    "completed after expiry",
                ),
            ],
            "Per second; anything above zero degrades disaggregated serving.",
            &connector("NIXL"),
        )
        .red_from(0.001)
        .conditional(KV_CONNECTOR),
    );
}

fn other_connectors(l: &mut Layout) {
    l.row("Other KV connectors", true);
    let mooncake = connector("Mooncake");
    let hf3fs = connector("3FS (HF3FS)");
    let hisparse = connector("HiSparse");
    let umbp = connector("UMBP");
    let simple = connector("simple CPU offload");
    l.add(
        families(
            "Requests fetching KV by stage",
            8,
            &[(NUM_REQUESTS_KV_FETCH_BY_STAGE, "")],
            "A queue that only grows means the producing instance does not deliver.",
            &needs(Condition::KvConsumer),
        )
        .unit(units::COUNT)
        .conditional("a KV consumer"),
    );
    l.add(
        families(
            "Mooncake transfers",
            8,
            &[(MOONCAKE_XFER_TIME, "transfer time p90")],
            "",
            &mooncake,
        )
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "Mooncake transfer size",
            8,
            &[
                (MOONCAKE_BYTES_TRANSFERRED, "bytes p90"),
                (MOONCAKE_NUM_DESCRIPTORS, "descriptors p90"),
            ],
            "",
            &mooncake,
        )
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "Mooncake failures",
            8,
            &[
                (MOONCAKE_NUM_FAILED_TRANSFERS, "failed sends"),
                (MOONCAKE_NUM_FAILED_RECVS, "failed receives"),
                (MOONCAKE_NUM_KV_EXPIRED_REQS, "KV expired"),
            ],
            "",
            &mooncake,
        )
        .red_from(0.001)
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "Mooncake store operations",
            8,
            &[
                (MOONCAKE_STORE_OPERATIONS, "operations"),
                (MOONCAKE_STORE_OPERATION_KEYS, "keys"),
                (MOONCAKE_STORE_OPERATION_FAILED_KEYS, "failed keys"),
            ],
            "",
            &mooncake,
        )
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "Mooncake store bytes",
            8,
            &[(MOONCAKE_STORE_OPERATION_BYTES, "")],
            "",
            &mooncake,
        )
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "Mooncake store latency",
            8,
            &[(MOONCAKE_STORE_OPERATION_TIME, "p90")],
            "",
            &mooncake,
        )
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "3FS save and load time",
            8,
            &[
                (HF3FS_SAVE_DURATION, "save p90"),
                (HF3FS_LOAD_DURATION, "load p90"),
            ],
            "",
            &hf3fs,
        )
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "3FS failures",
            8,
            &[
                (HF3FS_NUM_FAILED_SAVE, "failed saves"),
                (HF3FS_NUM_FAILED_LOAD, "failed loads"),
            ],
            "",
            &hf3fs,
        )
        .red_from(0.001)
        .conditional(KV_CONNECTOR),
    );
    l.add(
        PanelSpec::timeseries("HiSparse hot-buffer hit rate", 8)
            .about(&format!(
                "Share of sparse-attention KV lookups served from the GPU hot buffer. {} {} Gaps read \"idle\".",
                meanings(&[HISPARSE_CACHE_HITS, HISPARSE_CACHE_MISSES]),
                hisparse
            ))
            .query(
                sum_rate(&s(HISPARSE_CACHE_HITS), &[])
                    / (sum_rate(&s(HISPARSE_CACHE_HITS), &[])
                        + sum_rate(&s(HISPARSE_CACHE_MISSES), &[])),
                "hit rate",
            )
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .idle_is_nan()
            .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "HiSparse host traffic",
            8,
            &[(HISPARSE_HOST_TO_DEVICE_BYTES, "host to GPU")],
            "",
            &hisparse,
        )
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "HiSparse host cache",
            8,
            &[(HISPARSE_HOST_CACHE_USAGE_PERC, "used")],
            "",
            &hisparse,
        )
        .range(0.0, 1.0)
        .warn_at(0.8, 0.95)
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "HiSparse page transfers in flight",
            8,
            &[(HISPARSE_PENDING_PAGE_TRANSFERS, "pending")],
            "",
            &hisparse,
        )
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "HiSparse host block residency",
            16,
            &[
                (HISPARSE_HOST_BLOCK_LIFETIME, "lifetime p90"),
                (
                    HISPARSE_HOST_BLOCK_IDLE_BEFORE_EVICT,
                    "idle before eviction p90",
                ),
                (HISPARSE_HOST_BLOCK_REUSE_GAP, "reuse gap p90"),
            ],
            "",
            "Needs --kv-transfer-config with the HiSparse connector and --kv-cache-metrics: \"No data\" without both.",
        )
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "UMBP transfers",
            12,
            &[
                (UMBP_TRANSFER_SUBMITTED, "submitted"),
                (UMBP_TRANSFER_COMPLETED, "completed"),
                (UMBP_TRANSFER_FAILED, "failed"),
            ],
            "Submitted far above completed means transfers pile up.",
            &umbp,
        )
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families("UMBP traffic", 12, &[(UMBP_TRANSFER_BYTES, "")], "", &umbp)
            .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "Simple CPU offload outcomes",
            8,
            &[
                (SIMPLE_KV_OFFLOAD_SAVE_OUTCOMES, "stores"),
                (SIMPLE_KV_OFFLOAD_LOAD_BLOCKS, "blocks loaded"),
            ],
            "",
            &simple,
        )
        .conditional(KV_CONNECTOR),
    );
    l.add(
        families(
            "Simple CPU offload pool",
            8,
            &[
                (SIMPLE_KV_OFFLOAD_USED_BLOCKS, "used"),
                (SIMPLE_KV_OFFLOAD_PENDING_STORE_BLOCKS, "pending store"),
            ],
            "",
            &simple,
        )
        .conditional(KV_CONNECTOR),
    );
    l.add(
        PanelSpec::table("Simple CPU offload configuration", 8)
            .about(&format!(
                "{} One line per engine; the columns are the labels. {}",
                meaning(SIMPLE_KV_OFFLOAD_INFO),
                simple
            ))
            .column("Info", gauge(SIMPLE_KV_OFFLOAD_INFO), None, &[])
            .unit(units::COUNT)
            .conditional(KV_CONNECTOR),
    );
}
