//! The catalog as `vllm-grafana catalog` prints it: every field of a
//! [`MetricDef`], plus `facts`, what each engine's source defines release by
//! release (HELP text, label names, bucket bounds), so that a reader needs no
//! copy of the rules in this module (`scripts/catalog_drift.py` compares them
//! with a vLLM release's source).

use super::buckets::BucketBounds;
use super::{Engine, MetricDef, Version, RELEASES};
use serde::ser::{Serialize, SerializeStruct, Serializer};

/// What one engine's source defines from `from` on, until the next fact of
/// the same engine or the metric's removal.
#[derive(Debug, PartialEq, serde::Serialize)]
pub struct Fact {
    pub from: Version,
    /// `"v0"` or `"v1"`.
    pub engine: &'static str,
    pub help: &'static str,
    /// Common labels, then the metric's own, in exposition order
    /// (`vllm:cache_config_info` adds one label per config key besides).
    pub labels: Vec<&'static str>,
    /// Histograms only.
    pub buckets: Option<BucketBounds>,
}

impl MetricDef {
    /// The facts of each engine, oldest first, one whenever one changes.
    /// Hidden releases count: their source still defines the metric.
    pub fn facts(&self) -> Vec<Fact> {
        let mut out = Vec::new();
        for (engine, key) in [(Engine::V0, "v0"), (Engine::V1, "v1")] {
            let Some(span) = self.span(engine) else {
                continue;
            };
            let mut releases: Vec<Version> = RELEASES
                .iter()
                .copied()
                .filter(|r| *r > span.added && span.exposed_at(*r, true))
                .collect();
            releases.insert(0, span.added);
            let mut last: Option<Fact> = None;
            for release in releases {
                let mut labels = self.common_labels(release, engine).to_vec();
                labels.extend(self.extra_labels.iter().map(|l| l.name));
                let fact = Fact {
                    from: release,
                    engine: key,
                    help: self.help_at(release, engine),
                    labels,
                    buckets: self.buckets.map(|b| b.bounds_spec(release)),
                };
                let same = last.as_ref().is_some_and(|l| {
                    l.help == fact.help && l.labels == fact.labels && l.buckets == fact.buckets
                });
                if !same {
                    if let Some(l) = last.replace(fact) {
                        out.push(l);
                    }
                }
            }
            out.extend(last);
        }
        out
    }
}

impl Serialize for MetricDef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("MetricDef", 15)?;
        s.serialize_field("name", self.name)?;
        s.serialize_field("kind", &self.kind)?;
        s.serialize_field("unit", &self.unit)?;
        s.serialize_field("scope", &self.scope)?;
        s.serialize_field("extra_labels", self.extra_labels)?;
        s.serialize_field("help", self.help)?;
        s.serialize_field("older_help", self.older_help)?;
        s.serialize_field("v0_help", &self.v0_help)?;
        s.serialize_field("meaning", self.meaning)?;
        s.serialize_field("v0", &self.v0)?;
        s.serialize_field("v1", &self.v1)?;
        s.serialize_field("successor", &self.successor)?;
        s.serialize_field("requires", self.requires)?;
        s.serialize_field("buckets", &self.buckets)?;
        s.serialize_field("facts", &self.facts())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{lookup, names, v};

    #[test]
    fn facts_follow_help_label_and_bucket_changes() {
        let tpot = lookup(names::TIME_PER_OUTPUT_TOKEN).expect("in catalog");
        let facts = tpot.facts();
        let v1: Vec<&Fact> = facts.iter().filter(|f| f.engine == "v1").collect();
        // 0.7.3 first V1 release; 0.8.3 adds `engine`; 0.8.4 widens the
        // buckets; 0.10.2 deprecates the name in its HELP.
        let from: Vec<Version> = v1.iter().map(|f| f.from).collect();
        assert_eq!(from, [v(0, 7, 3), v(0, 8, 3), v(0, 8, 4), v(0, 10, 2)]);
        assert_eq!(v1[0].labels, ["model_name"]);
        assert_eq!(v1[1].labels, ["engine", "model_name"]);
        assert!(v1[3].help.contains("DEPRECATED"));
        let Some(BucketBounds::List(wide)) = &v1[2].buckets else {
            panic!("bounds of a latency histogram: {:?}", v1[2].buckets);
        };
        assert_eq!(wide.last(), Some(&80.0));
    }

    #[test]
    fn token_histograms_name_their_series_not_bounds() {
        let m = lookup(names::REQUEST_PROMPT_TOKENS).expect("in catalog");
        let facts = m.facts();
        let last = facts.last().expect("facts");
        assert_eq!(last.buckets, Some(BucketBounds::OneTwoFive));
        let json = serde_json::to_value(m).expect("json");
        assert_eq!(
            json["facts"]
                .as_array()
                .and_then(|f| f.last())
                .map(|f| f["buckets"].clone()),
            Some(serde_json::json!({"series": "1-2-5", "up_to": "max_model_len"}))
        );
        assert_eq!(json["buckets"], "request_tokens");
    }

    #[test]
    fn json_has_every_field() {
        let m = lookup(names::REQUEST_SUCCESS).expect("in catalog");
        let json = serde_json::to_value(m).expect("json");
        for key in [
            "name",
            "kind",
            "unit",
            "scope",
            "extra_labels",
            "help",
            "older_help",
            "v0_help",
            "meaning",
            "v0",
            "v1",
            "successor",
            "requires",
            "buckets",
            "facts",
        ] {
            assert!(json.get(key).is_some(), "{key} missing");
        }
        assert_eq!(json["v1"]["added"], "0.7.3");
    }
}
