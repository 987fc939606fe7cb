//! `promtool test rules` cases: for every alert, one input that must fire
//! (with its exact labels and annotations) and one that must not.

use super::rules::{rules, AlertConfig, AlertRule};
use super::AlertsError;
use crate::catalog::names;
use crate::promql::{MatchOp, Matcher};
use serde::Serialize;
use std::collections::BTreeMap;

const INSTANCE: &str = "gpu-1:8000";
const MODEL: &str = "llama";
const ENGINE: &str = "0";
/// The GPU of the DCGM cases: its index and node.
const GPU: &str = "0";
const GPU_HOST: &str = "gpu-1";

/// One input scenario for one alert.
struct Case {
    alert: &'static str,
    what: &'static str,
    series: Vec<(String, &'static str)>,
    /// The value as the annotation shows it, when the alert must fire.
    fires_with: Option<&'static str>,
}

/// A series in promtool notation with the standard labels plus `extra`.
/// The scoping and the job are applied when the file is assembled
/// ([`Labelling::series`]).
fn series(name: &str, extra: &[(&str, &str)]) -> String {
    let mut labels = vec![
        ("instance", INSTANCE),
        ("model_name", MODEL),
        ("engine", ENGINE),
    ];
    labels.extend_from_slice(extra);
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

/// The labels a deployment's rules select on, given values that match.
struct Labelling {
    /// `label="value"` pairs every input series gets.
    added: Vec<(String, String)>,
    instance_label: String,
}

impl Labelling {
    /// `None` when a matcher accepts no value this generator can invent
    /// (a regex that is not a plain alternative of words).
    fn new(cfg: &AlertConfig) -> Option<Labelling> {
        let job = Matcher {
            label: "job".into(),
            op: MatchOp::Regex,
            value: cfg.job_regex.clone(),
        };
        let mut added = Vec::new();
        for m in std::iter::once(&job).chain(&cfg.scoping.extra) {
            match m.op {
                MatchOp::Equal => added.push((m.label.clone(), m.value.clone())),
                MatchOp::Regex => added.push((m.label.clone(), plain_alternative(&m.value)?)),
                // A series without the label passes these unless they
                // reject the empty value, which a plain value cannot tell.
                MatchOp::NotEqual if !m.value.is_empty() => {}
                MatchOp::NotRegex if plain_alternative(&m.value).is_some() => {}
                _ => return None,
            }
        }
        Some(Labelling {
            added,
            instance_label: cfg.scoping.instance_label.clone(),
        })
    }

    fn series(&self, text: &str) -> String {
        let renamed = text.replacen("{instance=", &format!("{{{}=", self.instance_label), 1);
        let pairs: String = self
            .added
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\","))
            .collect();
        renamed.replacen('{', &format!("{{{pairs}"), 1)
    }
}

/// The first alternative of `a|b|c` when every alternative is a plain word.
fn plain_alternative(regex: &str) -> Option<String> {
    let plain = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '/'))
    };
    let mut alternatives = regex.split('|');
    let first = alternatives.next()?;
    (plain(first) && alternatives.all(plain)).then(|| first.to_string())
}

fn ttft_buckets(counts: [&'static str; 4]) -> Vec<(String, &'static str)> {
    let bucket = format!("{}_bucket", names::TIME_TO_FIRST_TOKEN);
    ["0.1", "2.5", "5.0", "+Inf"]
        .iter()
        .zip(counts)
        .map(|(le, values)| (series(&bucket, &[("le", le)]), values))
        .collect()
}

fn success(stop: &'static str, failed: &'static str) -> Vec<(String, &'static str)> {
    vec![
        (
            series(names::REQUEST_SUCCESS, &[("finished_reason", "stop")]),
            stop,
        ),
        (
            series(names::REQUEST_SUCCESS, &[("finished_reason", "length")]),
            "0+0x30",
        ),
        (
            series(names::REQUEST_SUCCESS, &[("finished_reason", "abort")]),
            failed,
        ),
        (
            series(names::REQUEST_SUCCESS, &[("finished_reason", "error")]),
            failed,
        ),
    ]
}

fn stalled(generated: &'static str) -> Vec<(String, &'static str)> {
    vec![
        (series(names::NUM_REQUESTS_RUNNING, &[]), "3x30"),
        (series(names::NUM_REQUESTS_WAITING, &[]), "2x30"),
        (series(names::GENERATION_TOKENS, &[]), generated),
    ]
}

/// A DCGM exporter series of one GPU (no vLLM labels).
fn gpu_series(name: &str) -> String {
    use crate::catalog::dcgm::labels;
    format!(
        "{name}{{instance=\"{INSTANCE}\",{}=\"{GPU}\",{}=\"{GPU_HOST}\"}}",
        labels::GPU,
        labels::HOSTNAME
    )
}

fn framebuffer(used: &'static str, free: &'static str) -> Vec<(String, &'static str)> {
    vec![
        (gpu_series(names::DCGM_FB_USED), used),
        (gpu_series(names::DCGM_FB_FREE), free),
    ]
}

/// Only vLLM's series: no DCGM exporter is scraped.
fn no_exporter() -> Vec<(String, &'static str)> {
    vec![(series(names::NUM_REQUESTS_RUNNING, &[]), "3x30")]
}

fn up(value: &'static str) -> Vec<(String, &'static str)> {
    vec![(format!("{}{{instance=\"{INSTANCE}\"}}", names::UP), value)]
}

/// Cases of the SLO burn-rate alerts of `slo` (both speeds fire on a 50 %
/// error ratio; none fires without errors, across a counter reset, or
/// without traffic).
fn slo_cases(slo: &super::slo::SloConfig) -> Vec<Case> {
    use super::slo::Sli;
    let mut out = Vec::new();
    for sli in slo.slis() {
        let scenario =
            |good: &'static str, bad_or_total: &'static str| -> Vec<(String, &'static str)> {
                match (sli, slo.ttft, slo.itl) {
                    (Sli::Ttft, Some(o), _) | (Sli::Itl, _, Some(o)) => {
                        let base = if sli == Sli::Ttft {
                            names::TIME_TO_FIRST_TOKEN
                        } else {
                            names::INTER_TOKEN_LATENCY
                        };
                        let le = super::slo::le_text(o.threshold);
                        vec![
                            (
                                series(&format!("{base}_bucket"), &[("le", le.as_str())]),
                                good,
                            ),
                            (series(&format!("{base}_count"), &[]), bad_or_total),
                        ]
                    }
                    _ => vec![
                        (
                            series(names::REQUEST_SUCCESS, &[("finished_reason", "stop")]),
                            good,
                        ),
                        (
                            series(names::REQUEST_SUCCESS, &[("finished_reason", "error")]),
                            bad_or_total,
                        ),
                    ],
                }
            };
        let latency = sli != Sli::Success;
        for speed in ["Fast", "Slow"] {
            let alert = super::slo::alert_name(sli, speed);
            // Latency: good observations and all observations; success:
            // stopped and errored requests.
            let (half_good, half_total) = if latency {
                ("0+5x60", "0+10x60")
            } else {
                ("0+5x60", "0+5x60")
            };
            out.push(Case {
                alert,
                what: "half of the requests missing the objective",
                series: scenario(half_good, half_total),
                fires_with: Some("50%"),
            });
            out.push(Case {
                alert,
                what: "every request meeting the objective",
                series: scenario("0+10x60", if latency { "0+10x60" } else { "0x60" }),
                fires_with: None,
            });
            out.push(Case {
                alert,
                what: "a restart (counters reset) with every request meeting it",
                series: scenario(
                    "0+10x30 0+10x29",
                    if latency { "0+10x30 0+10x29" } else { "0x60" },
                ),
                fires_with: None,
            });
            out.push(Case {
                alert,
                what: "no traffic",
                series: scenario("0x60", "0x60"),
                fires_with: None,
            });
        }
    }
    out
}

fn cases() -> Vec<Case> {
    let one = |name: &str, values: &'static str| vec![(series(name, &[]), values)];
    vec![
        Case {
            alert: "VllmHighRequestQueue",
            what: "a long queue",
            series: one(names::NUM_REQUESTS_WAITING, "50x30"),
            fires_with: Some("50"),
        },
        Case {
            alert: "VllmHighRequestQueue",
            what: "a short queue",
            series: one(names::NUM_REQUESTS_WAITING, "5x30"),
            fires_with: None,
        },
        Case {
            alert: "VllmKvCacheNearlyFull",
            what: "a full cache",
            series: one(names::KV_CACHE_USAGE_PERC, "0.95x30"),
            fires_with: Some("95%"),
        },
        Case {
            alert: "VllmKvCacheNearlyFull",
            what: "a full cache under the pre-0.9.2 name",
            series: one(names::GPU_CACHE_USAGE_PERC, "0.95x30"),
            fires_with: Some("95%"),
        },
        Case {
            alert: "VllmKvCacheNearlyFull",
            what: "a half-full cache",
            series: one(names::KV_CACHE_USAGE_PERC, "0.5x30"),
            fires_with: None,
        },
        Case {
            alert: "VllmTimeToFirstTokenHigh",
            what: "slow first tokens",
            series: ttft_buckets(["0+0x30", "0+2x30", "0+10x30", "0+10x30"]),
            fires_with: Some("4.84"),
        },
        Case {
            alert: "VllmTimeToFirstTokenHigh",
            what: "fast first tokens",
            series: ttft_buckets(["0+10x30", "0+10x30", "0+10x30", "0+10x30"]),
            fires_with: None,
        },
        Case {
            alert: "VllmRequestFailureRatioHigh",
            what: "many aborts and errors",
            series: success("0+10x30", "0+1x30"),
            fires_with: Some("16.67%"),
        },
        Case {
            alert: "VllmRequestFailureRatioHigh",
            what: "only successes",
            series: success("0+10x30", "0+0x30"),
            fires_with: None,
        },
        Case {
            alert: "VllmPreemptionStorm",
            what: "constant preemption",
            series: one(names::NUM_PREEMPTIONS, "0+120x30"),
            fires_with: Some("2.00"),
        },
        Case {
            alert: "VllmPreemptionStorm",
            what: "rare preemption",
            series: one(names::NUM_PREEMPTIONS, "0+6x30"),
            fires_with: None,
        },
        Case {
            alert: "VllmTargetDown",
            what: "a failing scrape",
            series: up("0x30"),
            fires_with: Some("0"),
        },
        Case {
            alert: "VllmTargetDown",
            what: "a healthy scrape",
            series: up("1x30"),
            fires_with: None,
        },
        Case {
            alert: "VllmEngineStalled",
            what: "requests but no tokens",
            series: stalled("0+0x30"),
            fires_with: Some("5"),
        },
        Case {
            alert: "VllmEngineStalled",
            what: "requests and tokens",
            series: stalled("0+600x30"),
            fires_with: None,
        },
        Case {
            alert: "VllmGpuMemoryNearlyFull",
            what: "a GPU with 500 MiB left",
            series: framebuffer("80000x30", "500x30"),
            fires_with: Some("99.38%"),
        },
        Case {
            alert: "VllmGpuMemoryNearlyFull",
            what: "vLLM's own reservation (gpu_memory_utilization 0.9)",
            series: framebuffer("73403x30", "7611x30"),
            fires_with: None,
        },
        Case {
            alert: "VllmGpuMemoryNearlyFull",
            what: "no DCGM exporter",
            series: no_exporter(),
            fires_with: None,
        },
        Case {
            alert: "VllmGpuTemperatureHigh",
            what: "a GPU at 88 °C",
            series: vec![(gpu_series(names::DCGM_GPU_TEMP), "88x30")],
            fires_with: Some("88"),
        },
        Case {
            alert: "VllmGpuTemperatureHigh",
            what: "a brief spike to 90 °C",
            series: vec![(gpu_series(names::DCGM_GPU_TEMP), "70x15 90x5 70x10")],
            fires_with: None,
        },
        Case {
            alert: "VllmGpuTemperatureHigh",
            what: "a GPU at 70 °C",
            series: vec![(gpu_series(names::DCGM_GPU_TEMP), "70x30")],
            fires_with: None,
        },
        Case {
            alert: "VllmGpuTemperatureHigh",
            what: "no DCGM exporter",
            series: no_exporter(),
            fires_with: None,
        },
    ]
}

#[derive(Serialize)]
struct TestFile {
    rule_files: Vec<&'static str>,
    evaluation_interval: &'static str,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    name: String,
    interval: &'static str,
    input_series: Vec<InputSeries>,
    alert_rule_test: Vec<AlertTest>,
}

#[derive(Serialize)]
struct InputSeries {
    series: String,
    values: &'static str,
}

#[derive(Serialize)]
struct AlertTest {
    eval_time: &'static str,
    alertname: &'static str,
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Serialize)]
struct ExpAlert {
    exp_labels: BTreeMap<String, String>,
    exp_annotations: BTreeMap<&'static str, String>,
}

/// What the alert's annotations say once Prometheus fills in `value`.
fn expected(rule: &AlertRule, cfg: &AlertConfig, labelling: &Labelling, value: &str) -> ExpAlert {
    let suffix = match rule.value_format {
        super::rules::ValueFormat::Seconds => "s",
        super::rules::ValueFormat::PerSecond => "/s",
        _ => "",
    };
    let mut labels = BTreeMap::from([(
        "severity".to_string(),
        format!("{:?}", rule.severity).to_lowercase(),
    )]);
    for label in rule.by {
        let v = match *label {
            "job" => labelling
                .added
                .iter()
                .find(|(k, _)| k == "job")
                .map_or(String::new(), |(_, v)| v.clone()),
            "instance" => INSTANCE.to_string(),
            "model_name" => MODEL.to_string(),
            crate::catalog::dcgm::labels::GPU => GPU.to_string(),
            crate::catalog::dcgm::labels::HOSTNAME => GPU_HOST.to_string(),
            _ => ENGINE.to_string(),
        };
        labels.insert(cfg.scoping.label(label), v);
    }
    // A rule on a bare selector (`up`) keeps every label of its series,
    // including those the deployment's matchers select on.
    let bare = matches!(
        promql_parser::parser::parse(&rule.query(cfg)),
        Ok(promql_parser::parser::Expr::VectorSelector(_))
    );
    // The SLO rules keep the labels the matchers select on too.
    if bare || rule.name.starts_with("VllmSlo") {
        for (k, v) in &labelling.added {
            labels.insert(k.clone(), v.clone());
        }
    }
    ExpAlert {
        exp_labels: labels,
        exp_annotations: BTreeMap::from([
            ("summary", rule.summary.to_string()),
            (
                "description",
                rule.description_with(&format!("{value}{suffix}"), INSTANCE, MODEL)
                    .replace("{gpu}", GPU),
            ),
            ("runbook_url", rule.runbook_url(cfg)),
        ]),
    }
}

pub fn promtool_tests_yaml(cfg: &AlertConfig) -> Result<String, AlertsError> {
    let rules = rules(cfg);
    let labelling = Labelling::new(cfg);
    let mut skipped: Vec<&str> = Vec::new();
    let mut tests = Vec::new();
    let mut all = cases();
    if let Some(slo) = &cfg.slo {
        all.extend(slo_cases(slo));
    }
    for case in all {
        let Some(rule) = rules.iter().find(|r| r.name == case.alert) else {
            continue;
        };
        let kept = cfg.overrides.get(rule.name).is_none_or(|o| o.keeps_cases());
        let Some(labelling) = labelling.as_ref().filter(|_| kept) else {
            if skipped.last() != Some(&rule.name) {
                skipped.push(rule.name);
            }
            continue;
        };
        tests.push(Test {
            name: format!(
                "{} {} on {}",
                case.alert,
                if case.fires_with.is_some() {
                    "fires"
                } else {
                    "stays silent"
                },
                case.what
            ),
            interval: "1m",
            input_series: case
                .series
                .into_iter()
                .map(|(series, values)| InputSeries {
                    series: labelling.series(&series),
                    values,
                })
                .collect(),
            alert_rule_test: vec![AlertTest {
                // The slow burn's `for` (15 m) after enough of a 30 m window.
                eval_time: if case.alert.starts_with("VllmSlo") {
                    "50m"
                } else {
                    "25m"
                },
                alertname: rule.name,
                exp_alerts: case
                    .fires_with
                    .map(|v| expected(rule, cfg, labelling, v))
                    .into_iter()
                    .collect(),
            }],
        });
    }
    let mut header = String::from(
        "# Generated by `vllm-grafana alerts`; run with `promtool test rules prometheus/rules.test.yml`.\n",
    );
    if labelling.is_none() {
        header.push_str(
            "# No cases: a configured regex matcher admits no value the generator can invent.\n",
        );
    } else if !skipped.is_empty() {
        header.push_str(&format!(
            "# No cases for {}: their threshold or `for` is configured, and the cases are written for the defaults.\n",
            skipped.join(", ")
        ));
    }
    let file = TestFile {
        rule_files: vec!["rules.yml", "recording.yml"],
        evaluation_interval: "1m",
        tests,
    };
    Ok(format!("{header}{}", serde_yaml::to_string(&file)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alert_has_a_firing_and_a_silent_case() {
        let all = cases();
        for rule in rules(&AlertConfig::default()) {
            let mine: Vec<_> = all.iter().filter(|c| c.alert == rule.name).collect();
            assert!(
                mine.iter().any(|c| c.fires_with.is_some()),
                "{} never fires",
                rule.name
            );
            assert!(
                mine.iter().any(|c| c.fires_with.is_none()),
                "{} never silent",
                rule.name
            );
        }
        assert!(all.iter().all(|c| rules(&AlertConfig::default())
            .iter()
            .any(|r| r.name == c.alert)));
    }
}

#[cfg(test)]
mod labelling_tests {
    use super::*;
    use crate::promql::Scoping;

    fn with(extra: &[(&str, MatchOp, &str)]) -> AlertConfig {
        AlertConfig {
            scoping: Scoping {
                extra: extra
                    .iter()
                    .map(|(l, op, v)| Matcher {
                        label: l.to_string(),
                        op: *op,
                        value: v.to_string(),
                    })
                    .collect(),
                instance_label: "pod".into(),
            },
            ..AlertConfig::default()
        }
    }

    #[test]
    fn input_series_get_values_the_matchers_accept() {
        let cfg = with(&[
            ("cluster", MatchOp::Regex, "eu1|eu2"),
            ("tier", MatchOp::NotEqual, "dev"),
        ]);
        let l = Labelling::new(&cfg).expect("satisfiable");
        assert_eq!(
            l.series(r#"x{instance="a",model_name="m"}"#),
            r#"x{job="vllm",cluster="eu1",pod="a",model_name="m"}"#
        );
    }

    #[test]
    fn a_regex_the_generator_cannot_satisfy_leaves_no_cases_and_says_so() {
        let cfg = with(&[("cluster", MatchOp::Regex, "eu-.*")]);
        assert!(Labelling::new(&cfg).is_none());
        let text = promtool_tests_yaml(&cfg).expect("yaml");
        assert!(
            text.contains("# No cases: a configured regex matcher"),
            "{text}"
        );
        assert!(text.contains("tests: []"), "{text}");
    }
}
