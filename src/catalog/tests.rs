use super::*;
use std::collections::HashSet;

#[test]
fn names_are_unique() {
    let mut seen = HashSet::new();
    for m in METRICS.iter() {
        assert!(seen.insert(m.name), "{} listed twice", m.name);
    }
}

#[test]
fn every_metric_has_help_meaning_and_a_span() {
    for m in METRICS.iter() {
        assert!(!m.help.is_empty(), "{} has no HELP", m.name);
        assert!(!m.meaning.is_empty(), "{} has no meaning", m.name);
        assert!(m.v0.is_some() || m.v1.is_some(), "{} never exposed", m.name);
        if m.kind == Kind::Counter && m.name.starts_with("vllm:") {
            assert!(
                m.name.ends_with("_total"),
                "counter {} lacks _total",
                m.name
            );
        }
        if m.kind == Kind::Histogram {
            assert!(m.buckets.is_some(), "histogram {} has no buckets", m.name);
        }
    }
}

#[test]
fn successors_exist_and_are_exposed_when_the_old_name_goes() {
    for m in METRICS.iter() {
        let Some(next) = m.successor else { continue };
        let succ = lookup(next).unwrap_or_else(|| panic!("{} -> unknown {next}", m.name));
        if let Some(removed) = m.v1.and_then(|s| s.removed) {
            assert!(
                succ.exposed_at(removed, Engine::V1, false),
                "{next} must exist when {} is removed",
                m.name
            );
        }
    }
}

#[test]
fn renames_have_the_documented_history() {
    let old = lookup(names::GPU_CACHE_USAGE_PERC).expect("in catalog");
    assert_eq!(old.successor, Some(names::KV_CACHE_USAGE_PERC));
    assert!(old.exposed_at(v(0, 10, 0), Engine::V1, false));
    assert!(old.deprecated_at(v(0, 10, 0), Engine::V1));
    assert!(
        !old.exposed_at(v(0, 11, 0), Engine::V1, false),
        "hidden in 0.11"
    );
    assert!(
        old.exposed_at(v(0, 11, 2), Engine::V1, true),
        "shown with the flag"
    );
    assert!(
        !old.exposed_at(v(0, 12, 0), Engine::V1, true),
        "removed in 0.12"
    );

    let tpot = lookup(names::TIME_PER_OUTPUT_TOKEN).expect("in catalog");
    assert_eq!(tpot.successor, Some(names::INTER_TOKEN_LATENCY));
    assert!(tpot.exposed_at(v(0, 11, 0), Engine::V1, false));
    assert!(!tpot.exposed_at(v(0, 15, 0), Engine::V1, true));
    assert!(tpot
        .help_at(v(0, 11, 0), Engine::V1)
        .contains("DEPRECATED: Use vllm:inter_token_latency_seconds"));
    assert!(!tpot.help_at(v(0, 9, 0), Engine::V1).contains("DEPRECATED"));
}

#[test]
fn lookup_finds_histogram_sample_names() {
    let m = lookup("vllm:time_to_first_token_seconds_bucket").expect("bucket name");
    assert_eq!(m.name, names::TIME_TO_FIRST_TOKEN);
    assert!(lookup("vllm:time_to_first_token_seconds_total").is_none());
    assert_eq!(
        lookup("vllm:iteration_tokens_total_count").map(|m| m.name),
        Some(names::ITERATION_TOKENS)
    );
}

#[test]
fn finished_reason_values_follow_releases() {
    let m = lookup(names::REQUEST_SUCCESS).expect("in catalog");
    assert_eq!(
        m.label_values_at("finished_reason", v(0, 12, 0)),
        ["stop", "length", "abort"]
    );
    assert_eq!(
        m.label_values_at("finished_reason", v(0, 17, 0)),
        ["stop", "length", "abort", "error", "repetition"]
    );
}

#[test]
fn engine_label_appears_in_0_8_3_on_v1_only() {
    let m = lookup(names::NUM_REQUESTS_RUNNING).expect("in catalog");
    assert_eq!(m.common_labels(v(0, 8, 2), Engine::V1), ["model_name"]);
    assert_eq!(
        m.common_labels(v(0, 8, 3), Engine::V1),
        ["engine", "model_name"]
    );
    assert_eq!(m.common_labels(v(0, 8, 3), Engine::V0), ["model_name"]);
}

#[test]
fn created_family_names_follow_prometheus_client() {
    let c = lookup(names::PROMPT_TOKENS).expect("in catalog");
    assert_eq!(c.created_name(), "vllm:prompt_tokens_created");
    let h = lookup(names::ITERATION_TOKENS).expect("in catalog");
    assert_eq!(h.created_name(), "vllm:iteration_tokens_total_created");
    assert!(!lookup(names::PROCESS_CPU_SECONDS)
        .expect("in catalog")
        .has_created_series());
}

#[test]
fn v1_0_11_core_set_matches_capture_01() {
    // Capture 01 is a full scrape of vLLM ~0.11.0; its vLLM family names
    // (without the `_created` siblings) must be exactly the catalog's set.
    let text =
        include_str!("../../tests/fixtures/vllm-metrics/01-v1-0.11-full-hardware-aware-router.txt");
    let from_capture: HashSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .filter(|n| n.starts_with("vllm:") && !n.ends_with("_created"))
        .collect();
    let features = Features {
        linux: true,
        traffic: true,
        ..Features::default()
    };
    let from_catalog: HashSet<&str> = metrics_at(v(0, 11, 0), Engine::V1, features)
        .map(|m| m.name)
        .filter(|n| n.starts_with("vllm:"))
        .collect();
    let missing: Vec<_> = from_capture.difference(&from_catalog).collect();
    let extra: Vec<_> = from_catalog.difference(&from_capture).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
}

#[test]
fn docs_metrics_md_is_generated_from_the_catalog() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/METRICS.md");
    let expected = markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &expected).expect("write docs/METRICS.md");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == expected,
        "docs/METRICS.md is out of date: run `UPDATE_DOCS=1 cargo test --lib catalog`"
    );
}

#[test]
fn release_0_34_adds_three_families_and_drops_none() {
    let names_at = |version| -> HashSet<&'static str> {
        METRICS
            .iter()
            .filter(|m| m.exposed_at(version, Engine::V1, true))
            .map(|m| m.name)
            .collect()
    };
    let (before, after) = (names_at(v(0, 33, 0)), names_at(v(0, 34, 0)));
    let mut added: Vec<_> = after.difference(&before).copied().collect();
    added.sort_unstable();
    assert_eq!(
        added,
        [
            names::KV_OFFLOAD_TIERING_DEFERRED_RELEASE_CHUNKS,
            names::KV_OFFLOAD_TIERING_DEFERRED_RELEASE_HOLD,
            names::REQUEST_RENDER_DURATION,
        ]
    );
    assert!(before.is_subset(&after), "0.34 renamed or removed nothing");
    assert_eq!(LATEST, v(0, 34, 0));

    let render = lookup(names::REQUEST_RENDER_DURATION).expect("in catalog");
    assert_eq!(render.kind, Kind::Histogram);
    assert_eq!(render.common_labels(LATEST, Engine::V1), ["model_name"]);
    assert_eq!(
        render.label_values_at("request_type", LATEST),
        ["chat", "completion"]
    );
    assert_eq!(
        render.buckets.map(|b| b.bounds(LATEST, 0).len()),
        Some(16),
        "0.1 ms to 10 s"
    );

    // The tiering families exist only with the offloading connector's tiers.
    let plain = Features {
        linux: true,
        traffic: true,
        ..Features::default()
    };
    let offload = Features {
        kv_offload: true,
        ..plain
    };
    for name in [
        names::KV_OFFLOAD_TIERING_DEFERRED_RELEASE_CHUNKS,
        names::KV_OFFLOAD_TIERING_DEFERRED_RELEASE_HOLD,
    ] {
        let m = lookup(name).expect("in catalog");
        assert!(m.requires.contains(&Condition::KvOffloadTiering), "{name}");
        let labels: Vec<_> = m.extra_labels.iter().map(|l| l.name).collect();
        assert_eq!(labels, ["tier"], "{name}");
        assert!(!metrics_at(LATEST, Engine::V1, plain).any(|d| d.name == name));
        assert!(metrics_at(LATEST, Engine::V1, offload).any(|d| d.name == name));
    }
}
