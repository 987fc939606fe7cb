//! The embedded history against the simulator: everything scraped reads back
//! bit for bit, staleness follows Prometheus, and a busy vLLM compresses to
//! at most 1.5 bytes per sample.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use vllm_grafana::catalog::names;
use vllm_grafana::exposition::{Entry, Parser};
use vllm_grafana::scrape::{is_created_series, record_report, ScrapeReport, ScrapeSamples};
use vllm_grafana::simulator::{SimConfig, Simulator};
use vllm_grafana::store::{is_stale, Labels, Matcher, Store, StoreConfig, TargetKey, METRIC_NAME};

const BASE_MS: i64 = 1_700_000_000_000;
const INTERVAL: Duration = Duration::from_secs(15);

fn busy(rps: f64) -> SimConfig {
    SimConfig {
        models: 4,
        engines: 2,
        requests_per_second: rps,
        ..SimConfig::default()
    }
}

fn all_series() -> Vec<Matcher> {
    vec![Matcher::regex(METRIC_NAME, ".+").expect("valid regex")]
}

type Expected = BTreeMap<Labels, Vec<(i64, u64)>>;

/// What the store should hold for one scrape: every sample but `_created`.
fn expect_scrape(text: &str, key: &TargetKey, ts: i64, into: &mut Expected) {
    for entry in Parser::new(text) {
        let Ok(Entry::Sample(s)) = entry else {
            continue;
        };
        if is_created_series(s.name) {
            continue;
        }
        let labels = Labels::new(
            s.labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.into_owned()))
                .chain([
                    (METRIC_NAME.to_string(), s.name.to_string()),
                    ("job".to_string(), key.job.clone()),
                    ("instance".to_string(), key.instance.clone()),
                ]),
        );
        into.entry(labels)
            .or_default()
            .push((ts, s.value.to_bits()));
    }
}

fn stored(store: &Store) -> Expected {
    store
        .select(&all_series(), i64::MIN, i64::MAX)
        .into_iter()
        .map(|s| {
            let pts = s.samples.iter().map(|(t, v)| (*t, v.to_bits())).collect();
            ((*s.labels).clone(), pts)
        })
        .collect()
}

#[test]
fn every_scraped_sample_reads_back_exactly() {
    let store = Store::new(StoreConfig::default());
    let key = TargetKey::new("vllm", "sim:8000");
    let mut sim = Simulator::new(&busy(6.0)).expect("valid config");
    let mut want = Expected::new();
    let rounds = 300; // more than one block of 240 scrapes
    for i in 0..rounds {
        sim.advance(INTERVAL);
        let ts = BASE_MS + i * 15_000 + (i * 37) % 200;
        let text = sim.render();
        expect_scrape(&text, &key, ts, &mut want);
        let mut samples = ScrapeSamples::new(&text);
        let st = store.ingest(&key, ts, samples.by_ref()).expect("in order");
        assert_eq!(samples.bad_lines, 0);
        assert!(
            samples.created_dropped > 0,
            "the simulator prints _created families"
        );
        assert_eq!(st.duplicates, 0);
    }
    let got = stored(&store);
    assert_eq!(got.len(), want.len(), "series count");
    let total: usize = want.values().map(Vec::len).sum();
    for (labels, pts) in &want {
        assert_eq!(got.get(labels), Some(pts), "{labels}");
    }
    assert_eq!(store.stats().samples as usize, total);
    println!(
        "read back {total} samples of {} series over {rounds} scrapes",
        want.len()
    );
}

#[test]
fn busy_vllm_compresses_to_at_most_one_and_a_half_bytes_per_sample() {
    let store = Store::new(StoreConfig::default());
    let key = TargetKey::new("vllm", "busy:8000");
    let mut sim = Simulator::new(&busy(12.0)).expect("valid config");
    let rounds = 4 * 61; // an hour and a minute of 15 s scrapes
    let mut changed = 0usize;
    let mut last: BTreeMap<String, f64> = BTreeMap::new();
    let mut total = 0usize;
    for i in 0..rounds {
        sim.advance(INTERVAL);
        let ts = BASE_MS + i * 15_000 + (i * 37) % 200;
        let text = sim.render();
        for entry in Parser::new(&text) {
            if let Ok(Entry::Sample(s)) = entry {
                let id = format!("{}{}", s.name, s.labels.as_str());
                if last.insert(id, s.value) != Some(s.value) {
                    changed += 1;
                }
                total += 1;
            }
        }
        store
            .ingest(&key, ts, ScrapeSamples::new(&text))
            .expect("in order");
        let report = ScrapeReport {
            up: true,
            duration_seconds: 0.004 + (i % 5) as f64 * 0.001,
            samples_scraped: 3000,
        };
        record_report(&store, &key, ts, &report).expect("same scrape");
    }
    let stats = store.stats();
    let bps = stats.bytes_per_sample();
    println!(
        "busy vLLM (4 models x 2 engines, {rounds} scrapes): {} series, {} samples, {:.0}% of values changed per scrape, {:.3} bytes/sample (chunks), index {} KiB",
        stats.series,
        stats.samples,
        100.0 * changed as f64 / total as f64,
        bps,
        stats.index_bytes / 1024
    );
    assert!(
        changed * 2 > total,
        "the load must be busy: most values change"
    );
    assert!(bps <= 1.5, "{bps:.3} bytes/sample");
    assert!(bps > 0.1, "{bps:.3} bytes/sample is implausibly small");
}

#[test]
fn a_target_that_goes_down_and_a_vanished_series_go_stale() {
    let store = Store::new(StoreConfig::default());
    let key = TargetKey::new("vllm", "flaky:8000");
    let mut sim = Simulator::new(&busy(2.0)).expect("valid config");
    let mut ts = BASE_MS;
    for _ in 0..4 {
        sim.advance(INTERVAL);
        ts += 15_000;
        store
            .ingest(&key, ts, ScrapeSamples::new(&sim.render()))
            .expect("in order");
    }
    let before = stored(&store).len();
    ts += 15_000;
    let marked = store.mark_down(&key, ts).expect("in order");
    assert_eq!(marked, before);
    for s in store.select(&all_series(), ts, ts) {
        assert_eq!(s.samples.len(), 1, "{}", s.labels);
        assert!(is_stale(s.samples[0].1), "{}", s.labels);
    }
    // Down twice: no second marker.
    assert_eq!(store.mark_down(&key, ts + 15_000), Ok(0));

    // Back up without one model's running gauge: that series alone goes stale.
    sim.advance(INTERVAL * 3);
    let text = sim.render();
    let running = names::NUM_REQUESTS_RUNNING;
    let dropped_model = "meta-llama/Llama-3.1-8B-Instruct";
    let keep = |s: &(&str, vllm_grafana::exposition::RawLabels<'_>, f64)| {
        !(s.0 == running && s.1.get("model_name").as_deref() == Some(dropped_model))
    };
    ts += 30_000;
    store
        .ingest(&key, ts, ScrapeSamples::new(&text))
        .expect("in order");
    ts += 15_000;
    let st = store
        .ingest(&key, ts, ScrapeSamples::new(&text).filter(keep))
        .expect("in order");
    assert_eq!(st.stale_markers, 2, "two engines of the dropped model");
    let sel = [
        Matcher::equal(METRIC_NAME, running),
        Matcher::equal("model_name", dropped_model),
    ];
    for s in store.select(&sel, ts, ts) {
        assert!(is_stale(s.samples[0].1));
    }
}

#[test]
fn readers_run_while_a_writer_ingests() {
    let store = Arc::new(Store::new(StoreConfig::default()));
    let key = TargetKey::new("vllm", "rw:8000");
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            let mut sim = Simulator::new(&busy(4.0)).expect("valid config");
            for i in 0..120 {
                sim.advance(INTERVAL);
                store
                    .ingest(
                        &key,
                        BASE_MS + i * 15_000,
                        ScrapeSamples::new(&sim.render()),
                    )
                    .expect("in order");
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                let sel = [Matcher::equal(METRIC_NAME, names::GENERATION_TOKENS)];
                let mut last = 0;
                for _ in 0..200 {
                    let n: usize = store
                        .select(&sel, i64::MIN, i64::MAX)
                        .iter()
                        .map(|s| s.samples.len())
                        .sum();
                    assert!(n >= last, "samples never disappear within retention");
                    last = n;
                }
            })
        })
        .collect();
    writer.join().expect("writer");
    for r in readers {
        r.join().expect("reader");
    }
    let n: usize = store
        .select(
            &[Matcher::equal(METRIC_NAME, names::GENERATION_TOKENS)],
            i64::MIN,
            i64::MAX,
        )
        .iter()
        .map(|s| s.samples.len())
        .sum();
    assert_eq!(n, 120 * 8);
}

#[test]
fn retention_and_memory_budget_drop_the_oldest_data_only() {
    let hour = 3_600_000;
    let cfg = SimConfig {
        models: 1,
        engines: 1,
        ..SimConfig::default()
    };
    let gen = [Matcher::equal(METRIC_NAME, names::GENERATION_TOKENS)];
    let run = |config: StoreConfig, scrapes: i64| {
        let store = Store::new(config);
        let key = TargetKey::new("vllm", "old:8000");
        let mut sim = Simulator::new(&cfg).expect("valid config");
        for i in 0..scrapes {
            sim.advance(INTERVAL);
            store
                .ingest(
                    &key,
                    BASE_MS + i * 15_000,
                    ScrapeSamples::new(&sim.render()),
                )
                .expect("in order");
        }
        store
    };

    // 2.5 h of scrapes, 1 h retention: the last hour is complete, and at
    // most one block (an hour of scrapes) beyond it is kept.
    let store = run(
        StoreConfig {
            retention: Duration::from_secs(3600),
            ..StoreConfig::default()
        },
        600,
    );
    let newest = BASE_MS + 599 * 15_000;
    let s = &store.select(&gen, i64::MIN, i64::MAX)[0].samples;
    assert!(
        s[0].0 >= newest - 2 * hour,
        "oldest kept {}",
        newest - s[0].0
    );
    let last_hour = s.iter().filter(|(t, _)| *t > newest - hour).count();
    assert_eq!(last_hour, 240);
    assert!(store.stats().evicted_blocks >= 1);

    // A budget with room for half the compressed data keeps the newest blocks.
    let full = run(StoreConfig::default(), 600).stats();
    let budget = full.index_bytes + full.chunk_bytes / 2;
    let store = run(
        StoreConfig {
            memory_budget_bytes: budget,
            ..StoreConfig::default()
        },
        600,
    );
    let st = store.stats();
    assert!(st.chunk_bytes + st.index_bytes <= budget, "{st:?}");
    assert!(st.samples <= full.samples / 2 && st.samples > 0, "{st:?}");
    let s = &store.select(&gen, i64::MIN, i64::MAX)[0].samples;
    assert_eq!(s.last().map(|x| x.0), Some(newest));
}
