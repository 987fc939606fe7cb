//! Version sniffing: from one parsed scrape, estimate which vLLM releases could
//! have produced it and which optional features are on.
//!
//! Each known release (per engine generation) is scored against the scrape:
//! a metric present that the release never exposed, a HELP text the release
//! never printed, or a label the release never used is a contradiction;
//! the releases with the fewest contradictions win. Absent metrics only narrow
//! the range when the scrape looks complete (a cut scrape says little by omission).

use super::{
    lookup, names, Condition, Engine, Kind, MetricDef, Scope, Version, CONNECTOR_PREFIXES,
    ENGINE_LABEL_FROM, METRICS, RELEASES, V0_LAST, V1_METRICS_FROM,
};
use crate::exposition::{Exposition, MetricType};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Optional features seen in a scrape.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SeenFeatures {
    pub spec_decode: bool,
    pub lora: bool,
    /// `--api-server-count > 1`: no `python_*`, `process_*` or `_created` families.
    pub multi_api_server: bool,
    pub kv_connector: bool,
    pub kv_cache_metrics: bool,
    pub multimodal_cache: bool,
}

/// What a scrape says about the server that produced it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Sniffed {
    /// Any `vllm:` family at all?
    pub is_vllm: bool,
    pub engine: Option<Engine>,
    /// Oldest and newest release consistent with the scrape.
    pub oldest: Option<Version>,
    pub newest: Option<Version>,
    /// Why, in a few words each.
    pub evidence: Vec<String>,
    pub features: SeenFeatures,
    pub models: BTreeSet<String>,
    pub engines: BTreeSet<String>,
    /// Catalog metrics present in the scrape.
    pub present: Vec<&'static str>,
    /// `vllm:` families the catalog does not know.
    pub unknown: Vec<String>,
    /// Does the scrape look complete (no bad lines, every histogram closed by `+Inf`)?
    pub complete: bool,
}

impl Sniffed {
    /// "0.11.0", "0.20.0 – 0.29.0", or "unknown".
    pub fn range(&self) -> String {
        match (self.oldest, self.newest) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a} – {b}"),
            _ => "unknown".to_string(),
        }
    }

    /// The newest plausible release, used to judge deprecations.
    pub fn assumed(&self) -> Option<(Version, Engine)> {
        Some((self.newest?, self.engine?))
    }
}

/// Facts gathered from the scrape once, before scoring releases.
struct Observed<'s> {
    present: BTreeMap<&'static str, Option<&'s str>>,
    has_engine_label: bool,
    finished_reasons: BTreeSet<String>,
    python: bool,
    process: bool,
    created: bool,
}

pub fn sniff(exposition: &Exposition<'_>) -> Sniffed {
    let mut out = Sniffed {
        complete: exposition.bad_lines.is_empty(),
        ..Sniffed::default()
    };
    let mut seen = Observed {
        present: BTreeMap::new(),
        has_engine_label: false,
        finished_reasons: BTreeSet::new(),
        python: false,
        process: false,
        created: false,
    };
    for family in &exposition.families {
        if family.name.starts_with("vllm:") {
            out.is_vllm = true;
        }
        seen.python |= family.name.starts_with("python_");
        seen.process |= family.name.starts_with("process_");
        if family.name.ends_with("_created") && family.metric_type == MetricType::Gauge {
            seen.created = true;
            continue;
        }
        if family.metric_type == MetricType::Histogram
            && !family.samples.is_empty()
            && !family.samples.iter().any(|s| s.label("le") == Some("+Inf"))
        {
            out.complete = false;
        }
        let def = lookup(family.name).or_else(|| {
            family
                .samples
                .first()
                .and_then(|s| lookup(s.name))
                .filter(|_| family.metric_type == MetricType::Untyped)
        });
        match def {
            Some(def) => {
                seen.present
                    .insert(def.name, family.help.as_deref().filter(|h| !h.is_empty()));
            }
            None if family.name.starts_with("vllm:") => {
                if CONNECTOR_PREFIXES
                    .iter()
                    .any(|p| family.name.starts_with(p))
                {
                    out.features.kv_connector = true;
                } else {
                    out.unknown.push(family.name.to_string());
                }
            }
            None => {}
        }
        for sample in &family.samples {
            if let Some(m) = sample.label("model_name") {
                out.models.insert(m.to_string());
            }
            if family.name.starts_with("vllm:") {
                if let Some(e) = sample.label("engine") {
                    seen.has_engine_label = true;
                    if family.name != names::CACHE_CONFIG_INFO {
                        out.engines.insert(e.to_string());
                    }
                }
            }
            if def.is_some_and(|d| d.name == names::REQUEST_SUCCESS) {
                if let Some(r) = sample.label("finished_reason") {
                    seen.finished_reasons.insert(r.to_string());
                }
            }
        }
    }
    out.present = seen.present.keys().copied().collect();
    // Only a complete scrape can show that the runtime families are really absent.
    out.features.multi_api_server = out.is_vllm && out.complete && !seen.python && !seen.created;
    for name in &out.present {
        let Some(def) = lookup(name) else { continue };
        if def.requires.contains(&Condition::SpecDecode) {
            out.features.spec_decode = true;
        }
        if def.requires.contains(&Condition::Lora) {
            out.features.lora = true;
        }
        if def.requires.iter().any(|c| {
            matches!(
                c,
                Condition::KvConnector | Condition::KvOffload | Condition::KvOffloadTiering
            )
        }) {
            out.features.kv_connector = true;
        }
        if def.requires.contains(&Condition::KvCacheMetrics) {
            out.features.kv_cache_metrics = true;
        }
    }
    out.features.multimodal_cache = seen.present.contains_key(names::MM_CACHE_QUERIES);
    if !out.is_vllm {
        return out;
    }
    score_releases(&seen, &mut out);
    out
}

/// Contradictions of one release with the scrape; lower is better.
fn contradictions(seen: &Observed<'_>, release: Version, engine: Engine, complete: bool) -> u32 {
    let mut bad = 0;
    for (name, help) in &seen.present {
        let Some(def) = lookup(name) else { continue };
        if def.span(engine).is_none() {
            continue; // runtime families are judged by their own spans below
        }
        if !def.exposed_at(release, engine, true) {
            bad += 3;
        } else if let Some(help) = help {
            if help.trim_end() != def.help_at(release, engine).trim_end() {
                bad += 2;
            }
        }
    }
    let engine_label_expected = engine == Engine::V1 && release >= ENGINE_LABEL_FROM;
    if seen.has_engine_label != engine_label_expected {
        bad += 3;
    }
    if let Some(def) = lookup(names::REQUEST_SUCCESS) {
        let valid = def.label_values_at("finished_reason", release);
        for reason in &seen.finished_reasons {
            if !valid.contains(&reason.as_str()) {
                bad += 3;
            }
        }
        // V1 creates every finished_reason child up front.
        if engine == Engine::V1 && !seen.finished_reasons.is_empty() {
            bad += valid
                .iter()
                .filter(|v| !seen.finished_reasons.contains(**v))
                .count() as u32;
        }
    }
    if complete {
        bad += METRICS
            .iter()
            .filter(|m| m.name.starts_with("vllm:"))
            .filter(|m| expected_unconditionally(m, seen))
            .filter(|m| m.exposed_at(release, engine, false))
            .filter(|m| !seen.present.contains_key(m.name))
            .count() as u32;
    }
    bad
}

/// Would this metric appear whatever the server's configuration?
fn expected_unconditionally(m: &MetricDef, seen: &Observed<'_>) -> bool {
    m.requires.iter().all(|c| match c {
        Condition::SingleApiServer => seen.python,
        Condition::Linux => seen.process,
        _ => false,
    }) && !(m.kind == Kind::Gauge && m.scope == Scope::Own)
}

fn score_releases(seen: &Observed<'_>, out: &mut Sniffed) {
    let mut best: Option<u32> = None;
    let mut winners: Vec<(Version, Engine)> = Vec::new();
    for &release in RELEASES {
        for engine in [Engine::V0, Engine::V1] {
            let runs = match engine {
                Engine::V0 => release <= V0_LAST,
                Engine::V1 => release >= V1_METRICS_FROM,
            };
            if !runs {
                continue;
            }
            let score = contradictions(seen, release, engine, out.complete);
            match best {
                Some(b) if score > b => {}
                Some(b) if score == b => winners.push((release, engine)),
                _ => {
                    best = Some(score);
                    winners = vec![(release, engine)];
                }
            }
        }
    }
    // Prefer the engine generation most winners agree on (ties go to V1, the default).
    let v1 = winners.iter().filter(|(_, e)| *e == Engine::V1).count();
    let engine = if v1 * 2 >= winners.len() {
        Engine::V1
    } else {
        Engine::V0
    };
    let versions: Vec<Version> = winners
        .iter()
        .filter(|(_, e)| *e == engine)
        .map(|(v, _)| *v)
        .collect();
    out.engine = Some(engine);
    out.oldest = versions.iter().min().copied();
    out.newest = versions.iter().max().copied();
    if let Some(b) = best {
        if b > 0 {
            out.evidence.push(format!(
                "no known release matches exactly ({b} contradiction points at best)"
            ));
        }
    }
    explain(seen, out, engine);
}

/// A few human-readable reasons for the verdict.
fn explain(seen: &Observed<'_>, out: &mut Sniffed, engine: Engine) {
    let ev = &mut out.evidence;
    if let Some(Some(help)) = seen.present.get(names::NUM_REQUESTS_RUNNING) {
        let v0_text = lookup(names::NUM_REQUESTS_RUNNING).and_then(|d| d.v0_help);
        if Some(*help) == v0_text {
            ev.push("HELP of vllm:num_requests_running is the V0 engine's".into());
        } else {
            ev.push("HELP of vllm:num_requests_running is the V1 engine's".into());
        }
    }
    if seen.has_engine_label {
        ev.push("`engine` label present (V1 ≥ 0.8.3)".into());
    }
    if !seen.finished_reasons.is_empty() {
        let list: Vec<&str> = seen.finished_reasons.iter().map(String::as_str).collect();
        ev.push(format!("finished_reason values: {}", list.join(", ")));
    }
    // The metrics that bound the range: the newest addition and the earliest removal.
    let spans = seen
        .present
        .keys()
        .filter(|n| n.starts_with("vllm:"))
        .filter_map(|n| Some((*n, *lookup(n)?.span(engine)?)));
    let newest_added = spans.clone().max_by_key(|(_, s)| s.added);
    let first_removed = spans
        .filter(|(_, s)| {
            s.removed
                .is_some_and(|r| engine == Engine::V1 || r <= V0_LAST)
        })
        .min_by_key(|(_, s)| s.removed);
    if let Some((name, span)) = newest_added {
        ev.push(format!("{name} present (added in {})", span.added));
    }
    if let Some((name, Some(removed))) = first_removed.map(|(n, s)| (n, s.removed)) {
        ev.push(format!("{name} present (removed in {removed})"));
    }
    if !out.complete {
        ev.push("scrape looks incomplete: absent metrics were not used as evidence".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::v;
    use crate::exposition::{parse, Mode};

    fn sniff_fixture(text: &str) -> Sniffed {
        let exp = parse(text, Mode::Lenient).expect("lenient parse never fails");
        sniff(&exp)
    }

    #[test]
    fn capture_01_is_v1_0_11() {
        let s = sniff_fixture(include_str!(
            "../../tests/fixtures/vllm-metrics/01-v1-0.11-full-hardware-aware-router.txt"
        ));
        assert!(s.is_vllm);
        assert_eq!(s.engine, Some(Engine::V1));
        assert_eq!((s.oldest, s.newest), (Some(v(0, 11, 0)), Some(v(0, 11, 0))));
        assert_eq!(s.engines.iter().collect::<Vec<_>>(), ["0"]);
        assert_eq!(
            s.models.iter().collect::<Vec<_>>(),
            ["Qwen/Qwen1.5-0.5B-Chat"]
        );
        assert!(!s.features.multi_api_server);
        assert!(s.complete);
    }

    #[test]
    fn capture_02_is_v1_0_2x() {
        let s = sniff_fixture(include_str!(
            "../../tests/fixtures/vllm-metrics/02-v1-0.2x-full-vllm-metal-macos.txt"
        ));
        assert_eq!(s.engine, Some(Engine::V1));
        let (a, b) = (s.oldest.expect("range"), s.newest.expect("range"));
        assert!(a >= v(0, 20, 0) && b <= v(0, 29, 0), "{}", s.range());
        assert!(s.features.multimodal_cache);
    }

    #[test]
    fn capture_03_is_the_v0_engine() {
        let s = sniff_fixture(include_str!(
            "../../tests/fixtures/vllm-metrics/03-v0-0.7-aibrix-runtime-doc.txt"
        ));
        assert_eq!(s.engine, Some(Engine::V0));
        let (a, b) = (s.oldest.expect("range"), s.newest.expect("range"));
        assert!(a <= v(0, 7, 0) && v(0, 7, 0) <= b, "{}", s.range());
        assert!(
            b < v(0, 9, 1),
            "swapped requests gone in 0.9.1: {}",
            s.range()
        );
        assert!(!s.complete);
        assert!(s.features.lora);
    }

    #[test]
    fn dcgm_families_change_nothing_about_the_vllm_verdict() {
        let vllm = include_str!(
            "../../tests/fixtures/vllm-metrics/01-v1-0.11-full-hardware-aware-router.txt"
        );
        let gpus = include_str!("../../tests/fixtures/dcgm-exporter/simulated-h100-tp2-pods.txt");
        let alone = sniff_fixture(vllm);
        let both = sniff_fixture(&format!("{vllm}{gpus}"));
        assert_eq!((both.oldest, both.newest), (alone.oldest, alone.newest));
        assert_eq!(both.present, alone.present);
        assert_eq!(both.unknown, alone.unknown);
        assert_eq!(both.features, alone.features);
        let only_gpus = sniff_fixture(gpus);
        assert!(!only_gpus.is_vllm);
        assert!(only_gpus.present.is_empty() && only_gpus.unknown.is_empty());
        assert_eq!(only_gpus.range(), "unknown");
    }

    #[test]
    fn non_vllm_text_is_not_vllm() {
        let s = sniff_fixture("# TYPE up gauge\nup 1\n");
        assert!(!s.is_vllm);
        assert_eq!(s.range(), "unknown");
    }
}
