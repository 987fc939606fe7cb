//! The simulator's `/metrics` against the catalog, Python's prometheus_client
//! and common sense about a server under load; its HTTP routes; its config
//! validation.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use vllm_grafana::catalog::{self, v, Engine, Features, Kind, MetricDef, Scope, Version};
use vllm_grafana::exposition::{parse, Exposition, MetricType, Mode};
use vllm_grafana::simulator::{
    bind, go_float, python_repr, serve, snapshot, SimConfig, SimError, Simulator, CONTENT_TYPE,
};

fn cfg(version: Version) -> SimConfig {
    SimConfig {
        version,
        ..SimConfig::default()
    }
}

/// The configurations every structural test runs on.
fn matrix() -> Vec<(&'static str, SimConfig)> {
    vec![
        ("0.34", cfg(v(0, 34, 0))),
        ("0.33", cfg(v(0, 33, 0))),
        ("0.11", cfg(v(0, 11, 0))),
        ("0.7", cfg(v(0, 7, 0))),
        (
            "0.34 spec+lora, 2 models × 2 engines",
            SimConfig {
                spec_decode: true,
                lora: true,
                models: 2,
                engines: 2,
                ..SimConfig::default()
            },
        ),
        (
            "0.34 api_servers=2",
            SimConfig {
                api_servers: 2,
                ..SimConfig::default()
            },
        ),
        (
            "0.34 kv_offload, 2 engines",
            SimConfig {
                kv_offload: true,
                engines: 2,
                ..SimConfig::default()
            },
        ),
    ]
}

fn parsed(text: &str) -> Exposition<'_> {
    parse(text, Mode::Strict).unwrap_or_else(|e| panic!("simulator output does not parse: {e}"))
}

fn expected_metrics(c: &SimConfig) -> Vec<&'static MetricDef> {
    let features = Features {
        spec_decode: c.spec_decode,
        lora: c.lora,
        multi_api_server: c.api_servers > 1,
        linux: true,
        traffic: true,
        kv_offload: c.kv_offload,
    };
    catalog::metrics_at(c.version, Engine::default_for(c.version), features).collect()
}

fn metric_type(kind: Kind) -> MetricType {
    match kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
        Kind::Histogram => MetricType::Histogram,
        Kind::Summary => MetricType::Summary,
    }
}

/// Checks one snapshot against the catalog: families, order, types, HELP,
/// `_created` siblings and label names.
fn assert_matches_catalog(what: &str, c: &SimConfig, text: &str) {
    let exp = parsed(text);
    let engine = Engine::default_for(c.version);
    let defs = expected_metrics(c);
    let by_name: BTreeMap<&str, &MetricDef> = defs.iter().map(|d| (d.name, *d)).collect();
    let created: BTreeMap<String, &MetricDef> = defs
        .iter()
        .filter(|d| d.has_created_series())
        .map(|d| (d.created_name(), *d))
        .collect();

    let main: Vec<&str> = exp
        .families
        .iter()
        .map(|f| f.name)
        .filter(|n| by_name.contains_key(n))
        .collect();
    let want: Vec<&str> = defs.iter().map(|d| d.name).collect();
    assert_eq!(main, want, "{what}: families (in catalog order)");

    for fam in &exp.families {
        if let Some(def) = by_name.get(fam.name) {
            assert_eq!(
                fam.metric_type,
                metric_type(def.kind),
                "{what}: type of {}",
                fam.name
            );
            // Parsers strip line ends (the instrumentator's HELP texts end
            // in a space), so compare the raw line too.
            let help = def.help_at(c.version, engine);
            assert_eq!(
                fam.help.as_deref(),
                Some(help.trim_end()),
                "{what}: HELP of {}",
                fam.name
            );
            assert!(
                text.contains(&format!("# HELP {} {help}\n", fam.name)),
                "{what}: raw HELP of {}",
                fam.name
            );
            let mut names: BTreeSet<&str> = def
                .common_labels(c.version, engine)
                .iter()
                .copied()
                .collect();
            names.extend(def.extra_labels.iter().map(|l| l.name));
            for s in &fam.samples {
                let got: BTreeSet<&str> = s
                    .labels
                    .iter()
                    .map(|(k, _)| *k)
                    .filter(|k| *k != "le")
                    .collect();
                if def.scope == Scope::CacheConfig {
                    // Config keys vary by release; the catalog's labels must be there.
                    assert!(
                        got.is_superset(&names),
                        "{what}: labels of {}: {got:?}",
                        s.name
                    );
                } else {
                    assert_eq!(got, names, "{what}: labels of {}", s.name);
                }
                let sorted = s.labels.windows(2).all(|w| w[0].0 < w[1].0);
                assert!(sorted, "{what}: labels of {} not sorted", s.name);
            }
            let lazy = def.requires.contains(&catalog::Condition::Traffic);
            assert!(
                lazy || !fam.samples.is_empty(),
                "{what}: {} has no samples",
                fam.name
            );
        } else {
            let def = created.get(fam.name).unwrap_or_else(|| {
                panic!(
                    "{what}: {} is neither in the catalog nor a _created sibling",
                    fam.name
                )
            });
            assert!(
                c.api_servers == 1,
                "{what}: multiprocess mode has no {}",
                fam.name
            );
            assert_eq!(fam.metric_type, MetricType::Gauge, "{what}: {}", fam.name);
            let help = def.help_at(c.version, engine);
            assert_eq!(
                fam.help.as_deref(),
                Some(help.trim_end()),
                "{what}: HELP of {}",
                fam.name
            );
            assert!(
                text.contains(&format!("# HELP {} {help}\n", fam.name)),
                "{what}: raw HELP of {}",
                fam.name
            );
            let parent = exp.family(def.name).map_or(0, |f| f.samples.len());
            assert!(!fam.samples.is_empty(), "{what}: empty {}", fam.name);
            let per_child = match def.kind {
                Kind::Histogram => def_buckets(c, def) + 3,
                Kind::Summary => 2,
                _ => 1,
            };
            assert_eq!(
                fam.samples.len() * per_child,
                parent,
                "{what}: one {} per child",
                fam.name
            );
        }
    }
    if c.api_servers == 1 {
        for (name, def) in &created {
            let has_samples = exp.family(def.name).is_some_and(|f| !f.samples.is_empty());
            assert_eq!(exp.family(name).is_some(), has_samples, "{what}: {name}");
        }
    } else {
        assert!(
            !exp.families.iter().any(|f| f.name.ends_with("_created")),
            "{what}"
        );
    }
}

fn def_buckets(c: &SimConfig, def: &MetricDef) -> usize {
    def.buckets
        .map_or(0, |b| b.bounds(c.version, c.max_model_len).len())
}

#[test]
fn family_set_help_and_labels_match_the_catalog() {
    for (what, c) in matrix() {
        let text = snapshot(&c, Duration::from_secs(300));
        assert_matches_catalog(what, &c, &text);
    }
}

#[test]
fn every_release_renders_its_catalog_set() {
    for &version in catalog::RELEASES {
        for api_servers in [1, 2] {
            let c = SimConfig {
                version,
                api_servers,
                spec_decode: true,
                lora: true,
                kv_offload: true,
                ..SimConfig::default()
            };
            let text = snapshot(&c, Duration::from_secs(60));
            assert_matches_catalog(&format!("{version} ×{api_servers}"), &c, &text);
        }
    }
}

#[test]
fn finished_reasons_follow_the_release() {
    let reasons = |version| {
        let text = snapshot(&cfg(version), Duration::from_secs(10));
        let exp = parsed(&text);
        let fam = exp.family(catalog::names::REQUEST_SUCCESS).map(|f| {
            f.samples
                .iter()
                .filter_map(|s| s.label("finished_reason").map(str::to_string))
                .collect::<BTreeSet<_>>()
        });
        fam.unwrap_or_default()
    };
    assert_eq!(
        reasons(v(0, 11, 0)),
        ["abort", "length", "stop"].map(String::from).into()
    );
    assert_eq!(
        reasons(v(0, 34, 0)),
        ["abort", "error", "length", "repetition", "stop"]
            .map(String::from)
            .into()
    );
}

#[test]
fn release_0_34_renders_requests_and_offload_tiers() {
    use catalog::names::{
        KV_OFFLOAD_STORE_BYTES, KV_OFFLOAD_TIERING_DEFERRED_RELEASE_CHUNKS,
        KV_OFFLOAD_TIERING_DEFERRED_RELEASE_HOLD, KV_OFFLOAD_TIERING_READ_BYTES,
        REQUEST_RENDER_DURATION,
    };
    let render = |c: &SimConfig| {
        let text = snapshot(c, Duration::from_secs(120));
        let exp = parsed(&text);
        let counts: BTreeMap<String, f64> = exp
            .family(REQUEST_RENDER_DURATION)
            .map(|f| {
                f.samples
                    .iter()
                    .filter(|s| s.name.ends_with("_count"))
                    .filter_map(|s| Some((s.label("request_type")?.to_string(), s.value)))
                    .collect()
            })
            .unwrap_or_default();
        counts
    };
    // One histogram child per request type, created by its first request;
    // chat dominates the simulated traffic.
    let counts = render(&cfg(v(0, 34, 0)));
    assert_eq!(counts.keys().collect::<Vec<_>>(), ["chat", "completion"]);
    assert!(counts["chat"] > counts["completion"] && counts["completion"] > 0.0);
    assert!(
        render(&cfg(v(0, 33, 0))).is_empty(),
        "0.33 has no render metric"
    );

    let offload = |version| {
        let c = SimConfig {
            version,
            kv_offload: true,
            ..SimConfig::default()
        };
        snapshot(&c, Duration::from_secs(120))
    };
    let text = offload(v(0, 34, 0));
    let exp = parsed(&text);
    let chunks = exp
        .family(KV_OFFLOAD_TIERING_DEFERRED_RELEASE_CHUNKS)
        .expect("deferred-release gauge with kv_offload");
    assert!(chunks
        .samples
        .iter()
        .all(|s| s.label("tier") == Some("1:fs") && s.value == 0.0));
    assert!(exp
        .family(KV_OFFLOAD_TIERING_DEFERRED_RELEASE_HOLD)
        .is_some());
    assert!(
        value(&exp, KV_OFFLOAD_STORE_BYTES) > 0.0,
        "stores grow with prompts"
    );

    let older = offload(v(0, 33, 0));
    let exp = parsed(&older);
    assert!(exp.family(KV_OFFLOAD_TIERING_READ_BYTES).is_some());
    assert!(exp
        .family(KV_OFFLOAD_TIERING_DEFERRED_RELEASE_CHUNKS)
        .is_none());
    let plain = snapshot(&cfg(v(0, 34, 0)), Duration::from_secs(60));
    assert!(
        !plain.contains("vllm:kv_offload_"),
        "no offload metrics without the connector"
    );
}

#[test]
fn histograms_are_cumulative_and_end_at_inf() {
    let text = snapshot(&SimConfig::default(), Duration::from_secs(120));
    let exp = parsed(&text);
    for fam in exp
        .families
        .iter()
        .filter(|f| f.metric_type == MetricType::Histogram)
    {
        let mut last = 0.0;
        let mut inf = None;
        for s in &fam.samples {
            if s.name.ends_with("_bucket") {
                assert!(s.value >= last, "{} not cumulative", fam.name);
                last = s.value;
                if s.label("le") == Some("+Inf") {
                    inf = Some(s.value);
                }
            } else if s.name.ends_with("_count") {
                // Each child prints its buckets, then `_count`, then `_sum`.
                assert_eq!(
                    inf.take(),
                    Some(s.value),
                    "{}: +Inf bucket == _count",
                    fam.name
                );
                last = 0.0;
            }
        }
    }
}

// --- Python's prometheus_client reads the same thing ----------------------

const PY_COUNT: &str = "import sys; from prometheus_client.parser import text_string_to_metric_families as f; n=sum(len(x.samples) for x in f(open(sys.argv[1]).read())); print(n)";

fn python_sample_count(text: &str) -> usize {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    std::io::Write::write_all(&mut file, text.as_bytes()).expect("write temp file");
    let out = Command::new("python3")
        .arg("-c")
        .arg(PY_COUNT)
        .arg(file.path())
        .output()
        .unwrap_or_else(|e| panic!("python3 is required for this test and could not run: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'prometheus_client'"),
        "install prometheus_client for python3: python3 -m pip install prometheus_client==0.26.0"
    );
    assert!(
        out.status.success(),
        "prometheus_client rejected the output: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("unexpected python output {stdout:?}"))
}

#[test]
fn prometheus_client_parses_the_same_samples() {
    let mut configs = matrix();
    configs.push(("0.2 aioprometheus", cfg(v(0, 2, 0))));
    configs.push(("0.8.3 first engine label", cfg(v(0, 8, 3))));
    for (what, c) in configs {
        let text = snapshot(&c, Duration::from_secs(120));
        let ours = parsed(&text).sample_count();
        assert!(ours > 0, "{what}");
        assert_eq!(python_sample_count(&text), ours, "{what}: sample count");
    }
}

// --- Dynamics ------------------------------------------------------------

fn value(exp: &Exposition, sample: &str) -> f64 {
    exp.samples()
        .filter(|s| s.name == sample)
        .map(|s| s.value)
        .sum()
}

/// Every counter-like sample (counters, histogram and summary parts) keyed
/// by name and labels.
fn monotonic_samples(exp: &Exposition) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for fam in &exp.families {
        let counter_like = match fam.metric_type {
            MetricType::Counter | MetricType::Histogram | MetricType::Summary => true,
            // `_created` and other gauges may move either way... except
            // `_created`, which must not move at all (checked elsewhere).
            _ => fam.name.ends_with("_created"),
        };
        if counter_like {
            for s in &fam.samples {
                out.insert(format!("{}{:?}", s.name, s.labels), s.value);
            }
        }
    }
    out
}

#[test]
fn counters_and_histograms_fill_under_load() {
    let c = SimConfig {
        models: 2,
        ..SimConfig::default()
    };
    let idle = snapshot(&c, Duration::ZERO);
    let busy = snapshot(&c, Duration::from_secs(300));
    let (idle, busy) = (parsed(&idle), parsed(&busy));
    use catalog::names::*;
    for counter in [
        REQUEST_SUCCESS,
        PROMPT_TOKENS,
        GENERATION_TOKENS,
        PREFIX_CACHE_HITS,
    ] {
        assert_eq!(value(&idle, counter), 0.0, "{counter} at start");
        assert!(value(&busy, counter) > 0.0, "{counter} after 5 minutes");
    }
    for hist in [
        TIME_TO_FIRST_TOKEN,
        INTER_TOKEN_LATENCY,
        E2E_REQUEST_LATENCY,
        REQUEST_QUEUE_TIME,
        REQUEST_PREFILL_TIME,
        REQUEST_DECODE_TIME,
        REQUEST_INFERENCE_TIME,
        REQUEST_PROMPT_TOKENS,
        REQUEST_GENERATION_TOKENS,
        ITERATION_TOKENS,
    ] {
        let count = format!("{hist}_count");
        assert!(value(&busy, &count) > value(&idle, &count), "{count} grew");
    }
    // ~4 req/s per model for 5 minutes, a few percent aborted.
    let finished = value(&busy, REQUEST_SUCCESS);
    assert!((1500.0..3500.0).contains(&finished), "finished {finished}");
    let aborted: f64 = busy
        .samples()
        .filter(|s| s.name == REQUEST_SUCCESS && s.label("finished_reason") == Some("abort"))
        .map(|s| s.value)
        .sum();
    assert!(
        aborted > 0.0 && aborted < 0.06 * finished,
        "aborted {aborted}"
    );
    let hit_rate = value(&busy, PREFIX_CACHE_HITS) / value(&busy, PREFIX_CACHE_QUERIES);
    assert!((0.3..0.6).contains(&hit_rate), "prefix hit rate {hit_rate}");
}

#[test]
fn counters_never_decrease_between_scrapes() {
    let c = SimConfig {
        spec_decode: true,
        lora: true,
        engines: 2,
        ..SimConfig::default()
    };
    let (a, b) = (
        snapshot(&c, Duration::from_secs(60)),
        snapshot(&c, Duration::from_secs(120)),
    );
    let (a, b) = (
        monotonic_samples(&parsed(&a)),
        monotonic_samples(&parsed(&b)),
    );
    assert!(a.len() > 100);
    let mut grew = 0;
    for (key, before) in &a {
        let after = b.get(key).unwrap_or_else(|| panic!("{key} disappeared"));
        assert!(after >= before, "{key}: {before} -> {after}");
        if key.contains("_created") {
            assert_eq!(after, before, "{key} moved");
        }
        grew += usize::from(after > before);
    }
    assert!(grew > 50, "only {grew} samples grew");

    // And scrape by scrape, every 5 s for 3 minutes.
    let mut sim = Simulator::new(&c).expect("valid config");
    let mut previous = monotonic_samples(&parsed(&sim.render()));
    for step in 0..36 {
        sim.advance(Duration::from_secs(5));
        let text = sim.render();
        let now = monotonic_samples(&parsed(&text));
        for (key, before) in &previous {
            let after = now.get(key).copied().unwrap_or(f64::NAN);
            assert!(
                after >= *before,
                "scrape {step}: {key}: {before} -> {after}"
            );
        }
        previous = now;
    }
}

/// `histogram_quantile` over the buckets of one histogram family.
fn quantile(exp: &Exposition, family: &str, q: f64) -> f64 {
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    let bucket = format!("{family}_bucket");
    for s in exp.samples().filter(|s| s.name == bucket) {
        let le = match s.label("le") {
            Some("+Inf") => f64::INFINITY,
            Some(x) => x.parse().unwrap_or(f64::NAN),
            None => f64::NAN,
        };
        match buckets.iter_mut().find(|(b, _)| *b == le) {
            Some(entry) => entry.1 += s.value,
            None => buckets.push((le, s.value)),
        }
    }
    let total = buckets.last().map_or(0.0, |b| b.1);
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for &(le, count) in &buckets {
        if count >= rank {
            if le.is_infinite() {
                return prev.0;
            }
            return prev.0
                + (le - prev.0) * (rank - prev.1) / (count - prev.1).max(f64::MIN_POSITIVE);
        }
        prev = (le, count);
    }
    f64::NAN
}

#[test]
fn latency_and_kv_cache_are_plausible() {
    // 40 req/s overloads one 8B engine: the queue grows, KV fills up.
    for rps in [1.0, 4.0, 12.0, 40.0] {
        let c = SimConfig {
            requests_per_second: rps,
            ..SimConfig::default()
        };
        let mut sim = Simulator::new(&c).expect("valid config");
        for _ in 0..10 {
            sim.advance(Duration::from_secs(30));
            let text = sim.render();
            let exp = parsed(&text);
            let kv = value(&exp, catalog::names::KV_CACHE_USAGE_PERC);
            assert!((0.0..=1.0).contains(&kv), "rps {rps}: kv usage {kv}");
            for gauge in [
                catalog::names::NUM_REQUESTS_RUNNING,
                catalog::names::NUM_REQUESTS_WAITING,
            ] {
                assert!(value(&exp, gauge) >= 0.0);
            }
        }
        let text = sim.render();
        let exp = parsed(&text);
        if rps > 12.0 {
            continue;
        }
        let p50 = quantile(&exp, catalog::names::TIME_TO_FIRST_TOKEN, 0.5);
        assert!((0.01..30.0).contains(&p50), "rps {rps}: TTFT p50 {p50}");
        let itl = quantile(&exp, catalog::names::INTER_TOKEN_LATENCY, 0.5);
        assert!((0.01..0.2).contains(&itl), "rps {rps}: ITL p50 {itl}");
    }
}

#[test]
fn overload_builds_a_queue_and_preempts() {
    let c = SimConfig {
        requests_per_second: 80.0,
        ..SimConfig::default()
    };
    let text = snapshot(&c, Duration::from_secs(180));
    let exp = parsed(&text);
    assert!(value(&exp, catalog::names::NUM_REQUESTS_WAITING) > 0.0);
    assert!(value(&exp, catalog::names::NUM_PREEMPTIONS) > 0.0);
    assert!(value(&exp, catalog::names::KV_CACHE_USAGE_PERC) > 0.5);
}

#[test]
fn an_idle_server_reports_zero_load() {
    let c = SimConfig {
        requests_per_second: 0.0,
        ..SimConfig::default()
    };
    let text = snapshot(&c, Duration::from_secs(120));
    let exp = parsed(&text);
    use catalog::names::*;
    for name in [
        NUM_REQUESTS_RUNNING,
        NUM_REQUESTS_WAITING,
        KV_CACHE_USAGE_PERC,
        REQUEST_SUCCESS,
    ] {
        assert_eq!(value(&exp, name), 0.0, "{name}");
    }
}

// --- HTTP ------------------------------------------------------------------

async fn json(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(response.status(), 200);
    let body = response.text().await.expect("body");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_routes_behave_like_vllm() {
    let c = SimConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        models: 2,
        requests_per_second: 60.0,
        ..SimConfig::default()
    };
    let server = bind(c.clone()).await.expect("bind 127.0.0.1:0");
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}{path}");

    let first = http
        .get(url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(first.status(), 200);
    let content_type = first
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some(CONTENT_TYPE));
    let first = first.text().await.expect("body");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let second = http
        .get(url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(second.status(), 200);
    let second = second.text().await.expect("body");
    let (a, b) = (
        monotonic_samples(&parsed(&first)),
        monotonic_samples(&parsed(&second)),
    );
    for (key, before) in &a {
        let after = b.get(key).copied().unwrap_or(f64::NAN);
        assert!(after >= *before, "{key}: {before} -> {after}");
    }
    let second = parsed(&second);
    assert!(
        value(&second, catalog::names::PROMPT_TOKENS) > 0.0,
        "traffic after 0.7 s at 60 req/s"
    );
    // The process started "now", not at the fixed snapshot epoch.
    let start = value(&second, catalog::names::PROCESS_START_TIME_SECONDS);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    assert!((now - start).abs() < 600.0, "start {start} vs now {now}");

    let health = http.get(url("/health")).send().await.expect("GET /health");
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.expect("body"), "");

    let version = json(
        http.get(url("/version"))
            .send()
            .await
            .expect("GET /version"),
    )
    .await;
    assert_eq!(
        version,
        serde_json::json!({ "version": catalog::LATEST.to_string() })
    );

    let models = json(
        http.get(url("/v1/models"))
            .send()
            .await
            .expect("GET /v1/models"),
    )
    .await;
    assert_eq!(models["object"], "list");
    let data = models["data"].as_array().expect("data array");
    let ids: Vec<&str> = data.iter().filter_map(|m| m["id"].as_str()).collect();
    let expected = Simulator::new(&c).expect("valid").model_names();
    assert_eq!(ids, expected);
    for m in data {
        assert_eq!(m["owned_by"], "vllm");
        assert_eq!(m["object"], "model");
        assert_eq!(m["max_model_len"], 32768);
    }

    let missing = http.get(url("/nope")).send().await.expect("GET /nope");
    assert_eq!(missing.status(), 404);

    let _ = stop.send(());
    let result = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("server stops after shutdown")
        .expect("server task");
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn lora_adapters_are_listed_as_models() {
    let c = SimConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        lora: true,
        ..SimConfig::default()
    };
    let server = bind(c).await.expect("bind");
    let addr = server.local_addr();
    let task = tokio::spawn(server.run(tokio::time::sleep(Duration::from_secs(3))));
    let models = json(
        reqwest::get(format!("http://{addr}/v1/models"))
            .await
            .expect("GET /v1/models"),
    )
    .await;
    let data = models["data"].as_array().expect("data");
    assert!(data.len() > 1);
    assert!(data[1..].iter().all(|m| m["parent"] == data[0]["id"]));
    task.abort();
}

#[tokio::test]
async fn binding_a_busy_port_is_a_clear_error() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let c = SimConfig {
        listen: taken.local_addr().expect("addr"),
        ..SimConfig::default()
    };
    match bind(c).await {
        Err(e @ SimError::Bind { .. }) => assert!(e.to_string().contains("cannot listen")),
        other => panic!("expected SimError::Bind, got {:?}", other.err()),
    }
}

// --- Config and formatting --------------------------------------------------

#[tokio::test]
async fn invalid_configs_are_rejected_with_a_clear_error() {
    let zero_models = SimConfig {
        models: 0,
        ..SimConfig::default()
    };
    let err = Simulator::new(&zero_models)
        .err()
        .expect("models=0 is invalid");
    assert!(
        matches!(
            err,
            SimError::InvalidConfig {
                field: "models",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("models"), "{err}");
    assert_eq!(snapshot(&zero_models, Duration::from_secs(1)), "");
    assert!(matches!(
        bind(zero_models.clone()).await,
        Err(SimError::InvalidConfig { .. })
    ));
    assert!(matches!(
        serve(zero_models, async {}).await,
        Err(SimError::InvalidConfig { .. })
    ));

    let zero_engines = SimConfig {
        engines: 0,
        ..SimConfig::default()
    };
    assert!(matches!(
        Simulator::new(&zero_engines),
        Err(SimError::InvalidConfig {
            field: "engines",
            ..
        })
    ));
}

#[test]
fn values_are_formatted_like_python() {
    assert_eq!(python_repr(1e-5), "1e-05");
    assert_eq!(python_repr(1e16), "1e+16");
    assert_eq!(python_repr(123456.0), "123456.0");
    assert_eq!(python_repr(0.25), "0.25");
    assert_eq!(go_float(1234567.0), "1.234567e+06");
    assert_eq!(go_float(123456.0), "123456.0");
    assert_eq!(go_float(4294967296.0), "4.294967296e+09");
    assert_eq!(go_float(1762438423.0434499), "1.7624384230434499e+09");
    assert_eq!(go_float(f64::INFINITY), "+Inf");
    assert_eq!(go_float(f64::NAN), "NaN");
    // And in the output: integral counters end in ".0", big ones use e+XX.
    let text = snapshot(&SimConfig::default(), Duration::from_secs(300));
    let max_fds = format!("{} 1.048576e+06\n", catalog::names::PROCESS_MAX_FDS);
    assert!(text.contains(&max_fds), "{max_fds}");
    assert!(text.contains(r#"le="+Inf""#));
    assert!(text.contains(r#"le="0.001""#));
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap_or("");
        let ok = value == "+Inf"
            || value == "-Inf"
            || value == "NaN"
            || value.contains('.')
            || value.contains("e");
        assert!(ok, "not a Python float: {line}");
    }
}

#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn snapshot_timing() {
    for models in [1, 16] {
        let c = SimConfig {
            models,
            ..SimConfig::default()
        };
        let start = Instant::now();
        let text = snapshot(&c, Duration::from_secs(600));
        let took = start.elapsed();
        println!(
            "snapshot 10 min, {models} models: {took:?}, {} bytes",
            text.len()
        );
        assert!(
            took < Duration::from_secs(1),
            "{models} models took {took:?}"
        );
    }
}

// --- The DCGM exporter -----------------------------------------------------

use vllm_grafana::catalog::dcgm::{self, labels};
use vllm_grafana::simulator::{dcgm_snapshot, GPU_MODEL_NAME};

fn gpu_cfg(gpus_per_engine: usize, engines: usize, rps: f64) -> SimConfig {
    SimConfig {
        gpus_per_engine,
        engines,
        requests_per_second: rps,
        ..SimConfig::default()
    }
}

/// `family` per GPU, keyed by the `gpu` label.
fn per_gpu(exp: &Exposition, family: &str) -> BTreeMap<usize, f64> {
    exp.family(family)
        .unwrap_or_else(|| panic!("{family} missing"))
        .samples
        .iter()
        .map(|s| {
            let gpu = s.label(labels::GPU).expect("gpu label");
            (gpu.parse().expect("gpu index"), s.value)
        })
        .collect()
}

/// Checks the exporter's text against the catalog: every family once, with
/// its HELP and type, one sample per GPU, the exporter's labels in its order.
fn assert_dcgm_matches_catalog(text: &str, gpus: usize, pod_labels: bool) {
    let exp = parsed(text);
    assert!(
        exp.families.iter().all(|f| dcgm::lookup(f.name).is_some()),
        "only catalog families"
    );
    let mut order = vec![
        labels::GPU,
        labels::UUID,
        labels::PCI_BUS_ID,
        labels::DEVICE,
        labels::MODEL_NAME,
        labels::HOSTNAME,
        labels::DRIVER_VERSION,
    ];
    if pod_labels {
        order.extend(labels::POD_LABELS);
    }
    for def in dcgm::DCGM_METRICS {
        let f = exp
            .family(def.name)
            .unwrap_or_else(|| panic!("{} missing", def.name));
        assert_eq!(f.help.as_deref(), Some(def.help), "{}", def.name);
        assert_eq!(f.metric_type, metric_type(def.kind), "{}", def.name);
        assert_eq!(f.samples.len(), gpus, "{}", def.name);
        for s in &f.samples {
            let names: Vec<&str> = s.labels.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, order, "{}", def.name);
            assert_eq!(s.label(labels::MODEL_NAME), Some(GPU_MODEL_NAME));
            assert!(s.value.is_finite() && s.value >= 0.0, "{}", def.name);
        }
    }
    let uuids: BTreeSet<&str> = exp
        .family(catalog::names::DCGM_GPU_UTIL)
        .expect("util")
        .samples
        .iter()
        .filter_map(|s| s.label(labels::UUID))
        .collect();
    assert_eq!(uuids.len(), gpus, "one UUID per GPU");
    assert!(uuids.iter().all(|u| u.starts_with("GPU-") && u.len() == 40));
    // The exporter's value formats: integers for int64 fields, six decimals for doubles.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = (
            line.split('{').next().unwrap_or(""),
            line.rsplit(' ').next().unwrap_or(""),
        );
        let def = dcgm::lookup(name).unwrap_or_else(|| panic!("unknown {name}"));
        match def.format {
            dcgm::ValueFormat::Integer => assert!(!value.contains('.'), "{line}"),
            dcgm::ValueFormat::Decimal => {
                assert_eq!(value.split('.').nth(1).map(str::len), Some(6), "{line}")
            }
        }
    }
}

#[test]
fn dcgm_exporter_is_off_by_default_and_follows_the_catalog_when_on() {
    assert_eq!(
        dcgm_snapshot(&SimConfig::default(), Duration::from_secs(60)),
        ""
    );
    let plain = snapshot(&gpu_cfg(2, 2, 4.0), Duration::from_secs(60));
    assert!(
        !plain.contains("DCGM_"),
        "vLLM's /metrics never carries GPU metrics"
    );
    assert_dcgm_matches_catalog(
        &dcgm_snapshot(&gpu_cfg(2, 2, 4.0), Duration::from_secs(60)),
        4,
        false,
    );
    let pods = SimConfig {
        dcgm_pod_labels: true,
        models: 2,
        ..gpu_cfg(1, 2, 4.0)
    };
    let text = dcgm_snapshot(&pods, Duration::from_secs(60));
    assert_dcgm_matches_catalog(&text, 4, true);
    let exp = parsed(&text);
    let pods: BTreeSet<&str> = exp
        .family(catalog::names::DCGM_FB_USED)
        .expect("fb")
        .samples
        .iter()
        .filter_map(|s| s.label(labels::POD))
        .collect();
    assert_eq!(
        pods.into_iter().collect::<Vec<_>>(),
        [
            "vllm-llama-3-1-8b-instruct-0",
            "vllm-llama-3-1-8b-instruct-1",
            "vllm-qwen2-5-7b-instruct-0",
            "vllm-qwen2-5-7b-instruct-1",
        ]
    );
}

#[test]
fn prometheus_client_parses_the_exporter_text_alike() {
    let c = SimConfig {
        dcgm_pod_labels: true,
        ..gpu_cfg(2, 2, 8.0)
    };
    let text = dcgm_snapshot(&c, Duration::from_secs(90));
    let ours = parsed(&text).sample_count();
    assert_eq!(ours, 4 * dcgm::DCGM_METRICS.len());
    assert_eq!(python_sample_count(&text), ours);
}

#[test]
fn gpu_metrics_follow_the_load_model() {
    use catalog::names::*;
    let idle = dcgm_snapshot(&gpu_cfg(1, 1, 0.0), Duration::from_secs(120));
    let busy_cfg = gpu_cfg(1, 1, 40.0);
    let busy = dcgm_snapshot(&busy_cfg, Duration::from_secs(120));
    let (idle, busy) = (parsed(&idle), parsed(&busy));
    let at = |exp: &Exposition, name: &str| per_gpu(exp, name)[&0];
    assert_eq!(at(&idle, DCGM_GPU_UTIL), 0.0);
    assert_eq!(at(&idle, DCGM_SM_ACTIVE), 0.0);
    assert!(at(&busy, DCGM_GPU_UTIL) > 60.0);
    assert!(at(&busy, DCGM_SM_ACTIVE) > 0.3);
    assert!(at(&busy, DCGM_PIPE_TENSOR_ACTIVE) > 0.0);
    for name in [
        DCGM_POWER_USAGE,
        DCGM_GPU_TEMP,
        DCGM_MEMORY_TEMP,
        DCGM_SM_CLOCK,
        DCGM_FB_USED,
        DCGM_DRAM_ACTIVE,
    ] {
        assert!(at(&busy, name) > at(&idle, name), "{name} rises with load");
    }
    assert!(at(&busy, DCGM_FB_FREE) < at(&idle, DCGM_FB_FREE));
    assert!(
        at(&busy, DCGM_POWER_USAGE) <= 700.0,
        "within the H100's limit"
    );
    // Used + free + reserved is the board's memory, whatever the load.
    for exp in [&idle, &busy] {
        let total = at(exp, DCGM_FB_USED) + at(exp, DCGM_FB_FREE) + at(exp, DCGM_FB_RESERVED);
        assert_eq!(total, 81_559.0);
    }

    // The same engine: utilisation follows running requests, framebuffer the KV cache.
    let mut sim = Simulator::new(&busy_cfg).expect("valid");
    let mut energy = 0.0;
    for _ in 0..6 {
        sim.advance(Duration::from_secs(20));
        let vllm = sim.render();
        let gpu_text = sim.render_dcgm();
        let (vllm, gpu) = (parsed(&vllm), parsed(&gpu_text));
        let running = value(&vllm, NUM_REQUESTS_RUNNING);
        let kv = value(&vllm, KV_CACHE_USAGE_PERC);
        assert_eq!(
            at(&gpu, DCGM_GPU_UTIL) > 0.0,
            running > 0.0,
            "running {running}"
        );
        let weights_and_overhead = at(&idle, DCGM_FB_USED);
        let pool = 81_559.0 * 0.9 - weights_and_overhead;
        let expected = weights_and_overhead + pool * kv;
        assert!(
            (at(&gpu, DCGM_FB_USED) - expected).abs() <= 1.0,
            "fb {} vs kv {kv}",
            at(&gpu, DCGM_FB_USED)
        );
        let e = at(&gpu, DCGM_TOTAL_ENERGY_CONSUMPTION);
        assert!(e > energy, "energy only grows");
        energy = e;
    }
}

#[test]
fn tensor_parallel_shards_share_their_engine_and_talk_over_nvlink() {
    use catalog::names::*;
    let text = dcgm_snapshot(&gpu_cfg(4, 1, 20.0), Duration::from_secs(60));
    let exp = parsed(&text);
    let util = per_gpu(&exp, DCGM_GPU_UTIL);
    assert_eq!(util.len(), 4);
    let nvlink = per_gpu(&exp, DCGM_NVLINK_BANDWIDTH_TOTAL);
    assert!(nvlink.values().all(|v| *v > 0.0), "{nvlink:?}");
    let single = dcgm_snapshot(&gpu_cfg(1, 1, 20.0), Duration::from_secs(60));
    let single = parsed(&single)
        .family(DCGM_NVLINK_BANDWIDTH_TOTAL)
        .map(|f| f.samples[0].value);
    assert_eq!(single, Some(0.0), "one GPU per engine: no NVLink traffic");
    // A 4-way shard holds a quarter of the weights.
    let fb4 = per_gpu(&exp, DCGM_FB_USED);
    let idle1 = dcgm_snapshot(&gpu_cfg(1, 1, 0.0), Duration::from_secs(1));
    let idle4 = dcgm_snapshot(&gpu_cfg(4, 1, 0.0), Duration::from_secs(1));
    let (idle1, idle4) = (parsed(&idle1), parsed(&idle4));
    assert!(per_gpu(&idle4, DCGM_FB_USED)[&0] < per_gpu(&idle1, DCGM_FB_USED)[&0]);
    assert!(fb4.values().all(|v| *v > 0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcgm_exporter_has_its_own_port() {
    let c = SimConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        dcgm_listen: "127.0.0.1:0".parse().expect("address"),
        dcgm_pod_labels: true,
        requests_per_second: 60.0,
        time_scale: 30.0,
        ..gpu_cfg(2, 1, 60.0)
    };
    let server = bind(c).await.expect("bind");
    let vllm = server.local_addr();
    let gpu = server.dcgm_addr().expect("exporter bound");
    assert_ne!(vllm, gpu);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let body = http
        .get(format!("http://{gpu}/metrics"))
        .send()
        .await
        .expect("GET exporter /metrics");
    assert_eq!(body.status(), 200);
    let body = body.text().await.expect("body");
    assert_dcgm_matches_catalog(&body, 2, true);
    assert!(!body.contains("vllm:"));
    let util = per_gpu(&parsed(&body), catalog::names::DCGM_GPU_UTIL);
    assert!(
        util.values().all(|u| *u > 0.0),
        "busy after 15 simulated s: {util:?}"
    );
    let health = http
        .get(format!("http://{gpu}/health"))
        .send()
        .await
        .expect("GET exporter /health");
    assert_eq!(health.status(), 200);
    let vllm_body = http
        .get(format!("http://{vllm}/metrics"))
        .send()
        .await
        .expect("GET vLLM /metrics")
        .text()
        .await
        .expect("body");
    assert!(vllm_body.contains("vllm:") && !vllm_body.contains("DCGM_"));
    // One shutdown stops both listeners.
    let _ = stop.send(());
    let finished = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("server stops")
        .expect("task");
    assert!(finished.is_ok(), "{finished:?}");
    assert!(tokio::net::TcpStream::connect(gpu).await.is_err());
}

#[tokio::test]
async fn a_busy_exporter_port_is_a_clear_error() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = taken.local_addr().expect("addr");
    let c = SimConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        dcgm_listen: port,
        ..gpu_cfg(1, 1, 1.0)
    };
    match bind(c).await {
        Err(e @ SimError::Bind { addr, .. }) => {
            assert_eq!(addr, port);
            assert!(e.to_string().contains(&port.to_string()), "{e}");
        }
        other => panic!("expected SimError::Bind, got {:?}", other.err()),
    }
}
