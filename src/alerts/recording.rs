//! Recording rules: per-model and per-instance rates of the counters and
//! histogram buckets that fleet dashboards aggregate, over 1m and 5m, so a
//! dashboard over many engines reads a few pre-summed series instead of
//! every engine's raw samples (`prometheus/recording.yml`).
//!
//! Names follow Prometheus's `level:metric:operations` convention, e.g.
//! `job_model_name:vllm_time_to_first_token_seconds_bucket:rate5m`. A metric
//! vLLM renamed is recorded once, under its current name, from whichever
//! name a server exposes, so queries on recorded series need no fallback.

use super::rules::AlertConfig;
use super::AlertsError;
use crate::catalog::names;
use crate::promql::{self, fallback, sum, Selector};
use serde::Serialize;

/// The windows each rate is recorded over.
pub const WINDOWS: [&str; 2] = ["1m", "5m"];

/// The group's evaluation interval.
pub const INTERVAL: &str = "30s";

/// How far the recorded series are aggregated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// One series per job and model: the fleet view.
    Model,
    /// One series per job, server and model.
    Instance,
}

impl Level {
    pub const ALL: [Level; 2] = [Level::Model, Level::Instance];

    /// The labels kept, in the default scoping.
    pub fn labels(self) -> &'static [&'static str] {
        match self {
            Level::Model => &["job", "model_name"],
            Level::Instance => &["job", "instance", "model_name"],
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Level::Model => "job_model_name",
            Level::Instance => "job_instance_model_name",
        }
    }
}

/// One recorded series family: a counter, or one part of a histogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The catalog name (current name of a renamed metric).
    pub base: &'static str,
    /// `""` for a counter, `_bucket`, `_count` or `_sum` of a histogram.
    pub suffix: &'static str,
    /// Labels of the metric kept beside the level's (`le`, `finished_reason`).
    pub keep: &'static [&'static str],
}

const HISTOGRAM_PARTS: [(&str, &[&str]); 3] =
    [("_bucket", &["le"]), ("_count", &[]), ("_sum", &[])];

/// Everything recorded.
pub fn recorded() -> Vec<Recorded> {
    let mut out = vec![Recorded {
        base: names::REQUEST_SUCCESS,
        suffix: "",
        keep: &["finished_reason"],
    }];
    for base in [
        names::GENERATION_TOKENS,
        names::PROMPT_TOKENS,
        names::NUM_PREEMPTIONS,
        names::PREFIX_CACHE_HITS,
        names::PREFIX_CACHE_QUERIES,
    ] {
        out.push(Recorded {
            base,
            suffix: "",
            keep: &[],
        });
    }
    for base in [
        names::TIME_TO_FIRST_TOKEN,
        names::INTER_TOKEN_LATENCY,
        names::E2E_REQUEST_LATENCY,
    ] {
        for (suffix, keep) in HISTOGRAM_PARTS {
            out.push(Recorded { base, suffix, keep });
        }
    }
    out
}

impl Recorded {
    /// The metric as exposed under its current name.
    pub fn metric(&self) -> String {
        format!("{}{}", self.base, self.suffix)
    }

    /// The recorded series name at `level` over `window`.
    pub fn record(&self, level: Level, window: &str) -> String {
        // The `:` of `vllm:` would read as a level separator.
        let metric = self.metric().replace(':', "_");
        format!("{}:{metric}:rate{window}", level.prefix())
    }

    /// The labels the recorded series keep.
    pub fn labels(&self, level: Level) -> Vec<&'static str> {
        let mut labels = level.labels().to_vec();
        labels.extend_from_slice(self.keep);
        labels
    }

    /// The rule's expression: the summed rate, under both names of a
    /// renamed metric.
    fn expr(&self, cfg: &AlertConfig, level: Level, window: &str) -> String {
        // Keep the labels a deployment's matchers select on (`namespace`),
        // or its scoped dashboards would find no recorded series.
        let mut labels = self.labels(level);
        for m in &cfg.scoping.extra {
            if !labels.contains(&m.label.as_str()) {
                labels.push(&m.label);
            }
        }
        let summed = |name: String| {
            let sel = Selector::bare(&name).re("job", &cfg.job_regex);
            sum(&labels, promql::rate(&sel))
        };
        let current = summed(self.metric());
        let e = match promql::counterpart(self.base) {
            Some(old) if promql::is_successor(self.base) => {
                fallback(current, summed(format!("{old}{}", self.suffix)))
            }
            _ => current,
        };
        let fixed = promql::inspect::interpolate(e.as_str(), |var| {
            (var == "__rate_interval").then(|| window.to_string())
        });
        cfg.scoping.expr(&fixed)
    }
}

/// The recorded series a Prometheus has when it scrapes servers exposing
/// the metrics for which `exposed` is true (under either name).
pub fn records_of(exposed: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for r in recorded() {
        let old = promql::counterpart(r.base).map(|o| format!("{o}{}", r.suffix));
        if exposed(&r.metric()) || old.is_some_and(|o| exposed(&o)) {
            for level in Level::ALL {
                for window in WINDOWS {
                    out.push(r.record(level, window));
                }
            }
        }
    }
    out
}

#[derive(Serialize)]
struct RuleFile {
    groups: Vec<Group>,
}

#[derive(Serialize)]
struct Group {
    name: &'static str,
    interval: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
struct Rule {
    record: String,
    expr: String,
}

/// The rule groups' names.
pub const GROUP: &str = "vllm-recording";
pub const SLO_GROUP: &str = "vllm-slo";

/// `(record, expr)` of every rule.
pub fn recording_rules(cfg: &AlertConfig) -> Vec<(String, String)> {
    rules_over(cfg, &WINDOWS)
}

fn rules_over(cfg: &AlertConfig, windows: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for level in Level::ALL {
        for window in windows {
            for r in recorded() {
                out.push((r.record(level, window), r.expr(cfg, level, window)));
            }
        }
    }
    out
}

pub fn recording_rules_yaml(cfg: &AlertConfig) -> Result<String, AlertsError> {
    recording_rules_yaml_over(cfg, &WINDOWS)
}

/// The rule file with only the rates over `windows` (e.g. to backfill the
/// ones a dashboard reads).
pub fn recording_rules_yaml_over(
    cfg: &AlertConfig,
    windows: &[&str],
) -> Result<String, AlertsError> {
    let mut groups = vec![Group {
        name: GROUP,
        interval: INTERVAL,
        rules: rules_over(cfg, windows)
            .into_iter()
            .map(|(record, expr)| Rule { record, expr })
            .collect(),
    }];
    if let Some(slo) = &cfg.slo {
        // Validated when the configuration is read.
        let slis = super::slo::recording_rules(slo, &cfg.slo_scope()).unwrap_or_default();
        groups.push(Group {
            name: SLO_GROUP,
            interval: INTERVAL,
            rules: slis
                .into_iter()
                .map(|(record, expr)| Rule {
                    record,
                    expr: cfg.scoping.expr(&expr),
                })
                .collect(),
        });
    }
    let file = RuleFile { groups };
    Ok(format!(
        "# Generated by `vllm-grafana alerts` from the metric catalog; do not edit.\n# Per-model and per-instance rates for large fleets (the vLLM / Fleet dashboard reads them).\n{}",
        serde_yaml::to_string(&file)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_metrics_are_recorded_once_from_either_name() {
        let rules = recording_rules(&AlertConfig::default());
        let itl: Vec<_> = rules
            .iter()
            .filter(|(record, _)| record.contains("inter_token_latency_seconds_bucket"))
            .collect();
        assert_eq!(itl.len(), 4, "two levels, two windows");
        assert_eq!(
            itl[0].0,
            "job_model_name:vllm_inter_token_latency_seconds_bucket:rate1m"
        );
        assert!(
            itl[0].1.contains(names::TIME_PER_OUTPUT_TOKEN),
            "{}",
            itl[0].1
        );
        assert!(!rules
            .iter()
            .any(|(r, _)| r.contains("time_per_output_token")));
        for (record, expr) in &rules {
            promql_parser::parser::parse(expr).unwrap_or_else(|e| panic!("{record}: {e}"));
            assert!(!expr.contains('$'), "{record}: {expr}");
        }
    }

    #[test]
    fn buckets_keep_le_and_outcomes_keep_the_reason() {
        let rules = recording_rules(&AlertConfig::default());
        let find = |part: &str| {
            rules
                .iter()
                .find(|(r, _)| r.starts_with("job_instance_model_name:") && r.contains(part))
                .map(|(_, e)| e.clone())
                .expect(part)
        };
        assert!(find("time_to_first_token_seconds_bucket")
            .starts_with("sum by (job, instance, model_name, le)"));
        assert!(find("request_success_total").contains("finished_reason)"));
    }
}
