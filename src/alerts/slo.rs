//! Service-level objectives per model (opt-in, `slo:` in the generator
//! configuration): time to first token, inter-token latency and request
//! success. Generated: recording rules for each SLI's error ratio over the
//! alert windows and the whole period, and multi-window, multi-burn-rate
//! alerts (fast: 14.4× the budget over 1 h and 5 m; slow: 6× over 6 h and
//! 30 m, for a 30-day period; the windows scale with the period).
//!
//! A latency threshold must be a bucket bound of the histogram in every
//! release since 0.4 that has it, or the SLI would count a different share.

use super::rules::{AlertRule, Severity, ValueFormat};
use crate::catalog::{self, names, Engine, Features, Version};
use crate::promql::{self, sum_rate, Cmp, Expr, Selector};
use serde::Deserialize;

/// The `slo:` section.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloConfig {
    /// The compliance period, e.g. `30d`.
    #[serde(default = "default_period")]
    pub period: String,
    pub ttft: Option<LatencyObjective>,
    pub itl: Option<LatencyObjective>,
    pub success: Option<SuccessObjective>,
}

fn default_period() -> String {
    "30d".to_string()
}

/// "`objective` of requests within `threshold` seconds".
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyObjective {
    pub threshold: f64,
    pub objective: f64,
}

/// "`objective` of finished requests without an engine error".
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessObjective {
    pub objective: f64,
}

/// One service-level indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sli {
    Ttft,
    Itl,
    Success,
}

impl Sli {
    pub const ALL: [Sli; 3] = [Sli::Ttft, Sli::Itl, Sli::Success];

    pub fn key(self) -> &'static str {
        match self {
            Sli::Ttft => "ttft",
            Sli::Itl => "itl",
            Sli::Success => "success",
        }
    }

    fn histogram(self) -> Option<&'static str> {
        match self {
            Sli::Ttft => Some(names::TIME_TO_FIRST_TOKEN),
            Sli::Itl => Some(names::INTER_TOKEN_LATENCY),
            Sli::Success => None,
        }
    }
}

/// Labels the SLIs are computed by.
const BY: &[&str] = &["job", "model_name"];

/// Which series the SLIs read and which labels they keep.
#[derive(Clone, Debug)]
pub struct Scope {
    pub job_regex: String,
    /// [`BY`] plus the labels a deployment's matchers select on, which the
    /// recorded ratios must keep for its scoped queries to find them.
    pub by: Vec<String>,
}

impl Scope {
    pub fn new(job_regex: &str, extra_labels: &[&str]) -> Scope {
        let mut by: Vec<String> = BY.iter().map(|s| s.to_string()).collect();
        for l in extra_labels {
            if !by.iter().any(|b| b == l) {
                by.push(l.to_string());
            }
        }
        Scope {
            job_regex: job_regex.to_string(),
            by,
        }
    }
}

/// The two alerts of each SLI: burn-rate factor, long and short window
/// (for a 30-day period), severity.
const BURNS: [(&str, f64, u64, u64, Severity); 2] = [
    ("Fast", 14.4, 3600, 300, Severity::Critical),
    ("Slow", 6.0, 6 * 3600, 1800, Severity::Warning),
];

const THIRTY_DAYS: u64 = 30 * 86400;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SloError {
    #[error("`slo.period`: {0:?} is not a duration such as 28d or 30d")]
    Period(String),
    #[error("`slo.{sli}.objective`: {value} must be between 0 and 1 (e.g. 0.99), exclusive")]
    Objective { sli: &'static str, value: f64 },
    #[error("`slo.{sli}.threshold`: {value} s is not a bucket bound of {metric} in vLLM {release}, whose bounds are {bounds}; pick a bound every release has, e.g. {suggestion}")]
    NotABucket {
        sli: &'static str,
        value: f64,
        metric: &'static str,
        release: Version,
        bounds: String,
        suggestion: String,
    },
}

impl SloConfig {
    pub fn objective(&self, sli: Sli) -> Option<f64> {
        match sli {
            Sli::Ttft => self.ttft.map(|o| o.objective),
            Sli::Itl => self.itl.map(|o| o.objective),
            Sli::Success => self.success.map(|o| o.objective),
        }
    }

    fn threshold(&self, sli: Sli) -> Option<f64> {
        match sli {
            Sli::Ttft => self.ttft.map(|o| o.threshold),
            Sli::Itl => self.itl.map(|o| o.threshold),
            Sli::Success => None,
        }
    }

    /// The SLIs with an objective.
    pub fn slis(&self) -> Vec<Sli> {
        Sli::ALL
            .into_iter()
            .filter(|s| self.objective(*s).is_some())
            .collect()
    }

    fn period_s(&self) -> Result<u64, SloError> {
        promql_parser::util::parse_duration(&self.period)
            .ok()
            .map(|d| d.as_secs())
            .filter(|s| *s >= 3600)
            .ok_or_else(|| SloError::Period(self.period.clone()))
    }

    /// Checks objectives and that thresholds are bucket bounds.
    pub fn validate(&self) -> Result<(), SloError> {
        self.period_s()?;
        for sli in self.slis() {
            let objective = self.objective(sli).unwrap_or(0.0);
            if !(objective > 0.0 && objective < 1.0) {
                return Err(SloError::Objective {
                    sli: sli.key(),
                    value: objective,
                });
            }
            if let (Some(metric), Some(t)) = (sli.histogram(), self.threshold(sli)) {
                check_bucket(sli, metric, t)?;
            }
        }
        Ok(())
    }
}

/// Every release from 0.4 on that serves `metric` (or the name it replaced)
/// must have `threshold` among its bucket bounds.
fn check_bucket(sli: Sli, metric: &'static str, threshold: f64) -> Result<(), SloError> {
    let names_of = [Some(metric), promql::counterpart(metric)];
    let mut common: Option<Vec<f64>> = None;
    let mut missing = None;
    for &release in catalog::RELEASES
        .iter()
        .filter(|r| **r >= catalog::v(0, 4, 0))
    {
        let served =
            catalog::metrics_at(release, Engine::default_for(release), Features::default())
                .find(|m| names_of.contains(&Some(m.name)));
        let Some(bounds) = served
            .and_then(|m| m.buckets)
            .map(|b| b.bounds(release, 4096))
        else {
            continue;
        };
        if missing.is_none() && !bounds.iter().any(|b| (b - threshold).abs() < 1e-12) {
            missing = Some((release, bounds.clone()));
        }
        common = Some(match common {
            None => bounds,
            Some(c) => c.into_iter().filter(|b| bounds.contains(b)).collect(),
        });
    }
    match missing {
        None => Ok(()),
        Some((release, bounds)) => Err(SloError::NotABucket {
            sli: sli.key(),
            value: threshold,
            metric,
            release,
            bounds: bounds
                .iter()
                .map(|b| le_text(*b))
                .collect::<Vec<_>>()
                .join(", "),
            suggestion: common
                .unwrap_or_default()
                .iter()
                .map(|b| le_text(*b))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// A bound as vLLM's exporter prints it in `le` (`1.0`, `2.5`, `0.1`).
pub fn le_text(bound: f64) -> String {
    crate::simulator::go_float(bound)
}

/// A Prometheus duration for `secs` (`1h`, `5m`, `30d`, `90s`).
fn duration(secs: u64) -> String {
    for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60)] {
        if secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// The error ratio of `sli` per job and model over `window`, from raw
/// series: 1 − good/total for latencies, errors/finished for success. No
/// traffic gives NaN, which no alert fires on.
pub fn error_ratio(cfg: &SloConfig, sli: Sli, scope: &Scope, window: &str) -> Expr {
    let sel = |name: &str| Selector::bare(name).re("job", &scope.job_regex);
    let by: Vec<&str> = scope.by.iter().map(String::as_str).collect();
    let by = by.as_slice();
    let ratio = match (sli.histogram(), cfg.threshold(sli)) {
        (Some(metric), Some(t)) => {
            let le = le_text(t);
            promql::version_proof(metric, |m| {
                Expr::num(1.0)
                    - sum_rate(&sel(m).bucket().eq("le", &le), by) / sum_rate(&sel(m).count(), by)
            })
        }
        _ => {
            let finished = sel(names::REQUEST_SUCCESS);
            sum_rate(&finished.clone().eq("finished_reason", "error"), by) / sum_rate(&finished, by)
        }
    };
    let text = promql::inspect::interpolate(ratio.as_str(), |v| {
        (v == "__rate_interval").then(|| window.to_string())
    });
    Expr::parenthesised(&text)
}

/// The recorded error ratio's name.
pub fn record(sli: Sli, window: &str) -> String {
    format!(
        "job_model_name:vllm_slo_{}_errors:ratio_rate{window}",
        sli.key()
    )
}

/// The windows recorded: both windows of both burn rates, and the period.
pub fn windows(cfg: &SloConfig) -> Result<Vec<String>, SloError> {
    let period = cfg.period_s()?;
    let mut out: Vec<String> = Vec::new();
    for (_, _, long, short, _) in BURNS {
        for w in [long, short] {
            let d = duration((w * period / THIRTY_DAYS).max(60));
            if !out.contains(&d) {
                out.push(d);
            }
        }
    }
    out.push(duration(period));
    Ok(out)
}

/// `(record, expr)` of the SLI recording rules.
pub fn recording_rules(cfg: &SloConfig, scope: &Scope) -> Result<Vec<(String, String)>, SloError> {
    let mut out = Vec::new();
    for sli in cfg.slis() {
        for w in windows(cfg)? {
            out.push((
                record(sli, &w),
                error_ratio(cfg, sli, scope, &w).to_string(),
            ));
        }
    }
    Ok(out)
}

/// The burn-rate alerts: on recorded ratios for Prometheus, on raw ones for
/// Grafana (which has no recording rules in direct mode).
pub fn alert_rules(cfg: &SloConfig, scope: &Scope) -> Result<Vec<AlertRule>, SloError> {
    let period = cfg.period_s()?;
    let mut out = Vec::new();
    for sli in cfg.slis() {
        let objective = cfg.objective(sli).unwrap_or(0.99);
        for (speed, factor, long, short, severity) in BURNS {
            let long = duration((long * period / THIRTY_DAYS).max(60));
            let short = duration((short * period / THIRTY_DAYS).max(60));
            // Rounded, so that 14.4 × 0.01 reads 0.144 in the rules.
            let bound = Expr::num((factor * (1.0 - objective) * 1e12).round() / 1e12);
            let recorded = |w: &str| Expr::select(&Selector::bare(&record(sli, w)));
            let query = recorded(&long)
                .cmp(Cmp::Gt, bound.clone())
                .and(recorded(&short).cmp(Cmp::Gt, bound.clone()));
            let raw = error_ratio(cfg, sli, scope, &long)
                .cmp(Cmp::Gt, bound.clone())
                .and(error_ratio(cfg, sli, scope, &short).cmp(Cmp::Gt, bound));
            out.push(AlertRule {
                name: alert_name(sli, speed),
                query,
                grafana_query: Some(raw),
                cmp: Cmp::Gt,
                threshold: 0.0,
                for_: if speed == "Fast" { "2m" } else { "15m" }.into(),
                severity,
                summary: summary(sli, speed),
                description: "Model {model} is spending its error budget: {value} of its requests missed the objective over the alert's long window.",
                value_format: ValueFormat::Percent,
                by: BY,
            });
        }
    }
    Ok(out)
}

/// Names are static: three SLIs, two speeds.
pub(super) fn alert_name(sli: Sli, speed: &str) -> &'static str {
    match (sli, speed) {
        (Sli::Ttft, "Fast") => "VllmSloTtftFastBurn",
        (Sli::Ttft, _) => "VllmSloTtftSlowBurn",
        (Sli::Itl, "Fast") => "VllmSloItlFastBurn",
        (Sli::Itl, _) => "VllmSloItlSlowBurn",
        (Sli::Success, "Fast") => "VllmSloSuccessFastBurn",
        (Sli::Success, _) => "VllmSloSuccessSlowBurn",
    }
}

fn summary(sli: Sli, speed: &str) -> &'static str {
    match (sli, speed) {
        (Sli::Ttft, "Fast") => "Time-to-first-token SLO: error budget burning fast",
        (Sli::Ttft, _) => "Time-to-first-token SLO: error budget burning",
        (Sli::Itl, "Fast") => "Inter-token latency SLO: error budget burning fast",
        (Sli::Itl, _) => "Inter-token latency SLO: error budget burning",
        (Sli::Success, "Fast") => "Request success SLO: error budget burning fast",
        (Sli::Success, _) => "Request success SLO: error budget burning",
    }
}
