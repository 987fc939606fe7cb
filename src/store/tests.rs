use super::*;
use crate::catalog::names;

fn key() -> TargetKey {
    TargetKey::new("vllm", "a:8000")
}

type Raw<'a> = (&'a str, Vec<(&'a str, &'a str)>, f64);

fn scrape(store: &Store, ts: i64, samples: &[Raw<'_>]) -> IngestStats {
    store
        .ingest(
            &key(),
            ts,
            samples.iter().map(|(n, l, v)| (*n, l.clone(), *v)),
        )
        .expect("in order")
}

fn by_name(name: &str) -> Vec<Matcher> {
    vec![Matcher::equal(METRIC_NAME, name)]
}

#[test]
fn missing_series_and_failed_scrapes_get_staleness_markers() {
    let store = Store::new(StoreConfig::default());
    let run = names::NUM_REQUESTS_RUNNING;
    let wait = names::NUM_REQUESTS_WAITING;
    scrape(
        &store,
        1000,
        &[(run, vec![("model_name", "m")], 1.0), (wait, vec![], 2.0)],
    );
    let st = scrape(&store, 2000, &[(run, vec![("model_name", "m")], 3.0)]);
    assert_eq!(st.stale_markers, 1);
    let w = store.select(&by_name(wait), 0, 10_000);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].samples.len(), 2);
    assert!(is_stale(w[0].samples[1].1));
    assert_eq!(w[0].samples[1].0, 2000);
    // Comes back later: a normal value again, and only one marker written.
    scrape(&store, 3000, &[(run, vec![("model_name", "m")], 3.0)]);
    scrape(
        &store,
        4000,
        &[(run, vec![("model_name", "m")], 3.0), (wait, vec![], 5.0)],
    );
    let w = store.select(&by_name(wait), 0, 10_000);
    assert_eq!(w[0].samples.len(), 3);
    assert_eq!(w[0].samples[2], (4000, 5.0));

    // Appended samples share the scrape's row and never go stale themselves.
    store
        .append(&key(), 4000, &[(names::UP, 1.0)])
        .expect("same row");
    assert_eq!(store.mark_down(&key(), 5000), Ok(2));
    store
        .append(&key(), 5000, &[(names::UP, 0.0)])
        .expect("in order");
    for name in [run, wait] {
        let s = store.select(&by_name(name), 5000, 5000);
        assert!(is_stale(s[0].samples[0].1), "{name}");
    }
    let up = store.select(&by_name(names::UP), 0, 10_000);
    assert_eq!(up[0].samples, vec![(4000, 1.0), (5000, 0.0)]);
    assert_eq!(up[0].labels.get("job"), Some("vllm"));
    assert_eq!(up[0].labels.get("instance"), Some("a:8000"));
}

#[test]
fn repeated_series_are_dropped_and_target_labels_win() {
    let store = Store::new(StoreConfig::default());
    let st = scrape(
        &store,
        1,
        &[
            (names::PROMPT_TOKENS, vec![("job", "inner")], 4.0),
            (names::PROMPT_TOKENS, vec![("job", "inner")], 5.0),
        ],
    );
    assert_eq!((st.samples, st.duplicates), (1, 1));
    assert_eq!(store.metric_names(), vec![names::PROMPT_TOKENS.to_string()]);
    let s = store.select(&by_name(names::PROMPT_TOKENS), 0, 1);
    assert_eq!(s[0].labels.get("job"), Some("vllm"));
    assert_eq!(s[0].labels.get("exported_job"), Some("inner"));
    assert_eq!(
        store.label_values("exported_job", &[]),
        vec!["inner".to_string()]
    );
    assert!(store.label_names().contains(&"instance".to_string()));
}

#[test]
fn label_order_and_out_of_order_scrapes() {
    let store = Store::new(StoreConfig::default());
    let run = names::NUM_REQUESTS_RUNNING;
    scrape(&store, 10, &[(run, vec![("a", "1"), ("b", "2")], 1.0)]);
    let st = scrape(&store, 20, &[(run, vec![("b", "2"), ("a", "1")], 2.0)]);
    assert_eq!(st.series_created, 0);
    assert_eq!(store.stats().series, 1);
    let err = store.ingest(&key(), 5, std::iter::empty::<Raw<'_>>());
    assert_eq!(
        err,
        Err(StoreError::OutOfOrder {
            ts_ms: 5,
            last_ms: 20
        })
    );
    let bad = Matcher::regex("a", "1|2").expect("valid");
    assert_eq!(
        store.select(&[bad], 0, 100)[0].samples,
        vec![(10, 1.0), (20, 2.0)]
    );
    assert!(store
        .select(
            &[
                Matcher::regex("a", "1|").expect("valid"),
                Matcher::equal("b", "3")
            ],
            0,
            100
        )
        .is_empty());
    assert_eq!(
        store.select_limited(&by_name(run), 0, 100, 1),
        Err(StoreError::TooManySamples)
    );
}

#[test]
fn retention_and_budget_drop_oldest_blocks() {
    let hour = 3_600_000;
    let store = Store::new(StoreConfig {
        retention: Duration::from_secs(3600),
        memory_budget_bytes: usize::MAX,
    });
    let run = names::NUM_REQUESTS_RUNNING;
    for i in 0..(4 * 240) {
        scrape(&store, i * 15_000, &[(run, vec![], i as f64)]);
    }
    let s = store.select(&by_name(run), i64::MIN, i64::MAX);
    let first = s[0].samples[0].0;
    let last = s[0].samples.last().map_or(0, |x| x.0);
    assert!(last - first <= 2 * hour, "kept {first}..{last}");
    assert!(last - first >= hour);
    assert!(store.stats().evicted_blocks >= 2);

    let tight = Store::new(StoreConfig {
        retention: Duration::from_secs(1 << 30),
        memory_budget_bytes: 1,
    });
    for i in 0..(3 * 240) {
        tight
            .ingest(
                &key(),
                i * 15_000,
                [(run, [("a", "b")], (i * i) as f64 * 1.37)],
            )
            .expect("in order");
    }
    // Only the open block survives an impossible budget.
    let s = tight.select(&by_name(run), i64::MIN, i64::MAX);
    assert!(s[0].samples.len() <= 240, "{}", s[0].samples.len());
    assert_eq!(tight.stats().samples as usize, s[0].samples.len());
}

#[test]
fn sparse_series_read_back_exactly_across_blocks() {
    let store = Store::new(StoreConfig::default());
    let run = names::NUM_REQUESTS_RUNNING;
    let mut want = Vec::new();
    for i in 0..700i64 {
        let present = i % 7 != 3 && !(300..420).contains(&i);
        let v = if i % 11 == 0 {
            f64::NAN
        } else {
            (i * 3 % 17) as f64 + 0.25 * (i % 2) as f64
        };
        let samples: Vec<Raw<'_>> = if present {
            vec![(run, vec![], v)]
        } else {
            vec![]
        };
        store
            .backfill(
                &key(),
                i * 1000 + i % 3,
                samples.iter().map(|(n, l, v)| (*n, l.clone(), *v)),
            )
            .expect("in order");
        if present {
            want.push((i * 1000 + i % 3, v));
        }
    }
    let got = &store.select(&by_name(run), i64::MIN, i64::MAX)[0].samples;
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.0, w.0);
        assert!(
            g.1 == w.1 || g.1.is_nan() && w.1.is_nan() && !is_stale(g.1),
            "{g:?} vs {w:?}"
        );
    }
    let mid = store.select(&by_name(run), 100_000, 200_000);
    assert!(mid[0]
        .samples
        .iter()
        .all(|s| (100_000..=200_000).contains(&s.0)));
}

#[test]
fn label_strings_are_shared_across_targets() {
    let store = Store::new(StoreConfig::default());
    let run = names::NUM_REQUESTS_RUNNING;
    for i in 0..3 {
        let t = TargetKey::new("vllm", format!("h{i}:8000"));
        store
            .ingest(&t, 1000, [(run, [("model_name", "m")], 1.0)])
            .expect("in order");
    }
    let s = store.select(&by_name(run), 0, 10_000);
    assert_eq!(s.len(), 3);
    for pair in s.windows(2) {
        let (a, b) = (pair[0].labels.as_slice(), pair[1].labels.as_slice());
        assert_eq!(a.len(), b.len());
        // Same names and equal values are one allocation.
        for ((ka, va), (kb, vb)) in a.iter().zip(b) {
            assert!(Arc::ptr_eq(ka, kb), "{ka}");
            if va == vb {
                assert!(Arc::ptr_eq(va, vb), "{ka}={va}");
            }
        }
    }
    // __name__, the metric, job, vllm, instance, model_name, m and 3
    // instances: one copy each.
    assert_eq!(store.stats().interned_strings, 10);
}

#[test]
fn churning_label_values_are_freed_with_their_series() {
    // A target inventing a new request id every scrape: series come and go
    // with their blocks, their ids and strings are reused or freed, and
    // memory stays within the budget.
    let budget = 64 << 10;
    let store = Store::new(StoreConfig {
        retention: Duration::from_secs(1 << 30),
        memory_budget_bytes: budget,
    });
    let run = names::NUM_REQUESTS_RUNNING;
    let rows = 12 * BLOCK_ROWS as i64;
    let mut peak_strings = 0;
    for i in 0..rows {
        let id = format!("req-{i}");
        let st = store
            .ingest(
                &key(),
                i * 1000,
                [
                    (run, vec![("model_name", "m")], 1.0),
                    (run, vec![("request_id", id.as_str())], i as f64),
                ],
            )
            .expect("in order");
        assert_eq!(st.samples, 2);
        peak_strings = peak_strings.max(store.stats().interned_strings);
    }
    let st = store.stats();
    assert!(st.evicted_blocks > 0, "{st:?}");
    // Only the blocks kept hold request ids: at most two blocks' worth of
    // live series, and the interner keeps at most about twice what is used.
    assert!(st.series <= 2 * BLOCK_ROWS + 1, "{st:?}");
    assert!(
        peak_strings <= 16 * 256 + 4 * BLOCK_ROWS + 16,
        "{peak_strings}"
    );
    assert!(st.chunk_bytes + st.index_bytes <= 2 * budget, "{st:?}");
    // Series still held read back exactly, through reused ids.
    let last = format!("req-{}", rows - 1);
    let s = store.select(&[Matcher::equal("request_id", &last)], 0, i64::MAX);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].samples[0], ((rows - 1) * 1000, (rows - 1) as f64));
    let before = format!("req-{}", rows - 2);
    let s = store.select(&[Matcher::equal("request_id", &before)], 0, i64::MAX);
    assert_eq!(s[0].samples.len(), 2);
    assert!(is_stale(s[0].samples[1].1));
    let kept = store.select(&[Matcher::equal("model_name", "m")], 0, i64::MAX);
    assert_eq!(kept.len(), 1);
    assert_eq!(store.label_values("request_id", &[]).len(), st.series - 1);
    // Forgotten values are gone from lookups.
    assert!(store
        .select(&[Matcher::equal("request_id", "req-0")], 0, i64::MAX)
        .is_empty());
}

#[test]
fn series_reached_by_several_input_orders_are_forgotten_cleanly() {
    let store = Store::new(StoreConfig {
        retention: Duration::from_secs(3600),
        memory_budget_bytes: usize::MAX,
    });
    let run = names::NUM_REQUESTS_RUNNING;
    let wait = names::NUM_REQUESTS_WAITING;
    scrape(&store, 0, &[(run, vec![("a", "1"), ("b", "2")], 1.0)]);
    scrape(&store, 1000, &[(run, vec![("b", "2"), ("a", "1")], 2.0)]);
    // Hours later the series is long gone; a new one takes its id.
    for i in 1..(3 * BLOCK_ROWS as i64) {
        scrape(&store, i * 15_000, &[(wait, vec![], 1.0)]);
    }
    assert!(store.select(&by_name(run), i64::MIN, i64::MAX).is_empty());
    let t = 3 * BLOCK_ROWS as i64 * 15_000;
    let st = scrape(&store, t, &[(run, vec![("b", "2"), ("a", "1")], 7.0)]);
    assert_eq!(st.series_created, 1);
    let s = store.select(&by_name(run), i64::MIN, i64::MAX);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].samples, vec![(t, 7.0)]);
    assert_eq!(s[0].labels.get("a"), Some("1"));
}

#[test]
fn matchers_on_target_and_own_labels() {
    let store = Store::new(StoreConfig::default());
    let run = names::NUM_REQUESTS_RUNNING;
    scrape(
        &store,
        1,
        &[
            (run, vec![("model_name", "m1")], 1.0),
            (run, vec![("model_name", "m2")], 2.0),
            (run, vec![], 3.0),
        ],
    );
    let count = |ms: &[Matcher]| store.select(ms, 0, 10).len();
    assert_eq!(count(&[Matcher::equal("job", "vllm")]), 3);
    assert_eq!(count(&[Matcher::equal("job", "other")]), 0);
    assert_eq!(count(&[Matcher::not_equal("model_name", "m1")]), 2);
    assert_eq!(count(&[Matcher::equal("model_name", "")]), 1);
    assert_eq!(count(&[Matcher::equal("no_such_label", "")]), 3);
    assert_eq!(count(&[Matcher::equal("no_such_label", "x")]), 0);
    let both = [
        Matcher::equal(METRIC_NAME, run),
        Matcher::not_equal(METRIC_NAME, run),
    ];
    assert_eq!(count(&both), 0);
    assert_eq!(
        store.label_values("model_name", &[Matcher::equal("job", "vllm")]),
        vec!["m1".to_string(), "m2".to_string()]
    );
    assert_eq!(store.label_values("job", &[]), vec!["vllm".to_string()]);
    let names_ = store.label_names();
    assert_eq!(names_, {
        let mut v = names_.clone();
        v.sort();
        v
    });
    assert!(names_.contains(&"model_name".to_string()));
}

#[test]
fn sealed_blocks_read_back_every_series_exactly() {
    // Several series of different widths and gaps, over sealed (packed)
    // blocks and the open one, with a series that starts mid-block.
    let store = Store::new(StoreConfig::default());
    let run = names::NUM_REQUESTS_RUNNING;
    let rows = 2 * BLOCK_ROWS as i64 + 77;
    let mut want: Vec<Vec<(i64, f64)>> = vec![Vec::new(); 4];
    for i in 0..rows {
        let ts = i * 15_000;
        let mut samples = Vec::new();
        for (k, w) in want.iter_mut().enumerate() {
            let present = match k {
                0 => true,
                1 => i % 3 != 0,
                2 => i >= 100,
                _ => i % 50 < 10,
            };
            if present {
                let v = match k {
                    0 => i as f64,
                    1 => (i as f64).sqrt() * 1e9,
                    2 => ((i * 7919) % 1000) as f64 - 500.5,
                    _ => f64::from_bits(0x4000_0000_0000_0000 ^ (i as u64 * 0x9E37)),
                };
                samples.push((run, vec![("k", ["a", "b", "c", "d"][k])], v));
                w.push((ts, v));
            }
        }
        store
            .backfill(
                &key(),
                ts,
                samples.iter().map(|(n, l, v)| (*n, l.clone(), *v)),
            )
            .expect("in order");
    }
    for (k, w) in want.iter().enumerate() {
        let m = [Matcher::equal("k", ["a", "b", "c", "d"][k])];
        let got = store.select(&m, i64::MIN, i64::MAX);
        assert_eq!(got.len(), 1);
        let bits = |v: &[(i64, f64)]| -> Vec<(i64, u64)> {
            v.iter().map(|&(t, x)| (t, x.to_bits())).collect()
        };
        assert_eq!(bits(&got[0].samples), bits(w), "series {k}");
    }
}
