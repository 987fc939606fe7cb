//! The generator's configuration file (`--config FILE`, YAML), read by
//! `dashboard`, `alerts` and `kubernetes`: which series the generated
//! queries select, which label names a server, alert thresholds and `for`
//! durations, where the runbooks live, and how Kubernetes scrapes vLLM.
//!
//! Every key is optional; an empty file reproduces the committed output.
//! `docs/CONFIG.md` documents the keys, `examples/` holds complete files.

use crate::alerts::{self, AlertConfig, AlertOverride};
use crate::kubernetes::KubeConfig;
use crate::promql::{MatchOp, Matcher, Scoping};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Everything the generators take from the file.
#[derive(Clone, Debug, Default)]
pub struct GeneratorConfig {
    /// Alert settings, including the scoping the dashboards share.
    pub alerts: AlertConfig,
    pub kube: KubeConfig,
}

impl GeneratorConfig {
    pub fn scoping(&self) -> &Scoping {
        &self.alerts.scoping
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Slo {
        path: PathBuf,
        source: crate::alerts::slo::SloError,
    },
    #[error("{}: `{key}`: {message}", path.display())]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// The file as written; unknown keys are errors, so a typo is not ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct File {
    selector: SelectorFile,
    instance_label: Option<String>,
    rate_window: Option<String>,
    runbook_url: Option<String>,
    alerts: BTreeMap<String, AlertOverride>,
    slo: Option<crate::alerts::slo::SloConfig>,
    cost: CostFile,
    kubernetes: KubeFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct CostFile {
    gpu_hour: Option<f64>,
    gpus_per_instance: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SelectorFile {
    job: Option<String>,
    matchers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct KubeFile {
    job: Option<String>,
    pod_labels: Option<BTreeMap<String, String>>,
    port_name: Option<String>,
    scrape_interval: Option<String>,
    scrape_timeout: Option<String>,
    release: Option<String>,
    namespace: Option<String>,
    prometheus_url: Option<String>,
    grafana_instance_labels: Option<BTreeMap<String, String>>,
    grafana_datasource_uid: Option<String>,
    plugin_url: Option<String>,
    dcgm_pod_labels: Option<BTreeMap<String, String>>,
    dcgm_port_name: Option<String>,
}

/// Reads and validates `path`.
pub fn load(path: &Path) -> Result<GeneratorConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Validates `text`, naming `path` in errors.
pub fn parse(text: &str, path: &Path) -> Result<GeneratorConfig, ConfigError> {
    let invalid = |key: &str, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        message,
    };
    let file: File = if text.trim().is_empty() {
        File::default()
    } else {
        serde_yaml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?
    };
    let mut cfg = GeneratorConfig::default();
    let a = &mut cfg.alerts;

    if let Some(job) = file.selector.job {
        anchored_regex(&job).map_err(|m| invalid("selector.job", m))?;
        a.job_regex = job;
    }
    for (i, text) in file.selector.matchers.iter().enumerate() {
        let m = matcher(text).map_err(|m| invalid(&format!("selector.matchers[{i}]"), m))?;
        a.scoping.extra.push(m);
    }
    if let Some(label) = file.instance_label {
        if !is_label_name(&label) {
            return Err(invalid(
                "instance_label",
                format!("{label:?} is not a label name (letters, digits, `_`; not starting with a digit)"),
            ));
        }
        a.scoping.instance_label = label;
    }
    if let Some(window) = file.rate_window {
        duration(&window).map_err(|m| invalid("rate_window", m))?;
        a.rate_window = window;
    }
    if let Some(url) = file.runbook_url {
        if url.is_empty() || url.contains(char::is_whitespace) || url.contains('#') {
            return Err(invalid(
                "runbook_url",
                format!("{url:?}: give the runbook page's address without spaces or `#`; each rule appends `#<alert name>`"),
            ));
        }
        a.runbook_base = url;
    }
    let known = alerts::rule_names();
    for (name, o) in &file.alerts {
        let key = format!("alerts.{name}");
        if !known.contains(&name.as_str()) {
            return Err(invalid(
                &key,
                format!("no such alert; the alerts are {}", known.join(", ")),
            ));
        }
        if let Some(t) = o.threshold {
            if !t.is_finite() {
                return Err(invalid(
                    &format!("{key}.threshold"),
                    "must be a finite number".into(),
                ));
            }
        }
        if let Some(f) = &o.for_ {
            duration(f).map_err(|m| invalid(&format!("{key}.for"), m))?;
        }
    }
    a.overrides = file.alerts;
    if let Some(slo) = file.slo {
        slo.validate().map_err(|source| ConfigError::Slo {
            path: path.to_path_buf(),
            source,
        })?;
        a.slo = Some(slo);
    }

    if let Some(price) = file.cost.gpu_hour {
        if !(price.is_finite() && price > 0.0) {
            return Err(invalid(
                "cost.gpu_hour",
                format!("{price} is not a price: give the cost of one GPU-hour, a positive number"),
            ));
        }
        a.cost.gpu_hour = price;
    }
    if let Some(gpus) = file.cost.gpus_per_instance {
        if gpus == 0 {
            return Err(invalid(
                "cost.gpus_per_instance",
                "must be at least 1 (a vLLM server runs on one GPU or more)".into(),
            ));
        }
        a.cost.gpus_per_instance = gpus;
    }

    let k = &mut cfg.kube;
    let kf = file.kubernetes;
    if let Some(job) = kf.job {
        k.job = job;
    }
    let job_re = anchored_regex(&cfg.alerts.job_regex).map_err(|m| invalid("selector.job", m))?;
    if !job_re.is_match(&k.job) {
        return Err(invalid(
            "kubernetes.job",
            format!(
                "the monitors name the job {:?}, which selector.job {:?} does not match: the alert rules would see no series",
                k.job, cfg.alerts.job_regex
            ),
        ));
    }
    if let Some(labels) = kf.pod_labels {
        if labels.is_empty() {
            return Err(invalid(
                "kubernetes.pod_labels",
                "needs at least one label, or the monitors select every pod".into(),
            ));
        }
        k.pod_labels = labels.into_iter().collect();
    }
    for (key, value, slot) in [
        (
            "kubernetes.scrape_interval",
            kf.scrape_interval,
            &mut k.scrape_interval,
        ),
        (
            "kubernetes.scrape_timeout",
            kf.scrape_timeout,
            &mut k.scrape_timeout,
        ),
    ] {
        if let Some(v) = value {
            duration(&v).map_err(|m| invalid(key, m))?;
            *slot = v;
        }
    }
    let interval =
        duration(&k.scrape_interval).map_err(|m| invalid("kubernetes.scrape_interval", m))?;
    let timeout =
        duration(&k.scrape_timeout).map_err(|m| invalid("kubernetes.scrape_timeout", m))?;
    if timeout > interval {
        return Err(invalid(
            "kubernetes.scrape_timeout",
            format!(
                "{} is longer than scrape_interval {}; Prometheus refuses that",
                k.scrape_timeout, k.scrape_interval
            ),
        ));
    }
    for (key, value, slot) in [
        (
            "kubernetes.prometheus_url",
            kf.prometheus_url,
            &mut k.prometheus_url,
        ),
        ("kubernetes.plugin_url", kf.plugin_url, &mut k.plugin_url),
    ] {
        if let Some(v) = value {
            let ok = v.starts_with("http://") || v.starts_with("https://");
            if !ok || v.contains(char::is_whitespace) {
                return Err(invalid(key, format!("{v:?} is not an http(s) address")));
            }
            *slot = v;
        }
    }
    if let Some(labels) = kf.dcgm_pod_labels {
        if labels.is_empty() {
            return Err(invalid(
                "kubernetes.dcgm_pod_labels",
                "needs at least one label, or the monitor selects every pod".into(),
            ));
        }
        k.dcgm_pod_labels = labels.into_iter().collect();
    }
    if let Some(labels) = kf.grafana_instance_labels {
        if labels.is_empty() {
            return Err(invalid(
                "kubernetes.grafana_instance_labels",
                "needs at least one label of the Grafana resource to attach to".into(),
            ));
        }
        k.grafana_instance_labels = labels.into_iter().collect();
    }
    for (key, value, slot) in [
        ("kubernetes.port_name", kf.port_name, &mut k.port_name),
        (
            "kubernetes.dcgm_port_name",
            kf.dcgm_port_name,
            &mut k.dcgm_port_name,
        ),
        ("kubernetes.release", kf.release, &mut k.release),
        ("kubernetes.namespace", kf.namespace, &mut k.namespace),
        (
            "kubernetes.grafana_datasource_uid",
            kf.grafana_datasource_uid,
            &mut k.grafana_datasource_uid,
        ),
    ] {
        if let Some(v) = value {
            if v.is_empty() || v.contains(char::is_whitespace) {
                return Err(invalid(key, format!("{v:?} is not a Kubernetes name")));
            }
            *slot = v;
        }
    }
    Ok(cfg)
}

fn anchored_regex(re: &str) -> Result<regex::Regex, String> {
    if re.is_empty() {
        return Err(
            "an empty regex matches only series without the label; use \".+\" for any".into(),
        );
    }
    regex::Regex::new(&format!("^(?:{re})$")).map_err(|e| format!("not a valid regex: {e}"))
}

fn duration(text: &str) -> Result<std::time::Duration, String> {
    match promql_parser::util::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(format!(
            "{text:?} is zero; give a positive duration such as 5m"
        )),
        Err(e) => Err(format!(
            "{text:?} is not a Prometheus duration such as 30s, 5m or 1h: {e}"
        )),
    }
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One PromQL label matcher, e.g. `namespace="inference"`.
fn matcher(text: &str) -> Result<Matcher, String> {
    use promql_parser::label::MatchOp as Op;
    use promql_parser::parser::{self, Expr};
    let hint = "write one PromQL label matcher, e.g. namespace=\"inference\"";
    let parsed =
        parser::parse(&format!("x{{{text}}}")).map_err(|e| format!("{text:?}: {e}; {hint}"))?;
    let Expr::VectorSelector(vs) = parsed else {
        return Err(format!("{text:?}: {hint}"));
    };
    let [m] = vs.matchers.matchers.as_slice() else {
        return Err(format!("{text:?}: one matcher per entry; {hint}"));
    };
    if !vs.matchers.or_matchers.is_empty() || m.name == "__name__" {
        return Err(format!("{text:?}: {hint}"));
    }
    let op = match m.op {
        Op::Equal => MatchOp::Equal,
        Op::NotEqual => MatchOp::NotEqual,
        Op::Re(_) => MatchOp::Regex,
        Op::NotRe(_) => MatchOp::NotRegex,
    };
    Ok(Matcher {
        label: m.name.clone(),
        op,
        value: m.value.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<GeneratorConfig, String> {
        parse(text, Path::new("vllm-grafana.yaml")).map_err(|e| e.to_string())
    }

    #[test]
    fn an_empty_file_is_the_default() {
        let cfg = p("").expect("empty");
        assert_eq!(cfg.alerts.job_regex, AlertConfig::default().job_regex);
        assert!(cfg.scoping().is_default());
        assert!(cfg.alerts.overrides.is_empty());
    }

    #[test]
    fn every_key_is_read() {
        let cfg = p(r#"
selector:
  job: vllm|llm
  matchers: ['namespace="inference"', 'cluster=~"eu-.*"']
instance_label: pod
rate_window: 2m
runbook_url: https://wiki.example/vllm/runbooks
alerts:
  VllmHighRequestQueue: {threshold: 25, for: 10m, severity: critical}
kubernetes:
  job: llm
  pod_labels: {app: vllm}
  port_name: metrics
  scrape_interval: 30s
  scrape_timeout: 20s
  release: prom
  namespace: observability
"#)
        .expect("valid");
        assert_eq!(cfg.alerts.job_regex, "vllm|llm");
        assert_eq!(cfg.scoping().extra.len(), 2);
        assert_eq!(cfg.scoping().extra[1].to_string(), r#"cluster=~"eu-.*""#);
        assert_eq!(cfg.scoping().instance_label, "pod");
        assert_eq!(cfg.alerts.rate_window, "2m");
        assert_eq!(
            cfg.alerts.runbook_base,
            "https://wiki.example/vllm/runbooks"
        );
        let rules = alerts::rules(&cfg.alerts);
        let queue = rules
            .iter()
            .find(|r| r.name == "VllmHighRequestQueue")
            .expect("rule");
        assert_eq!((queue.threshold, queue.for_.as_str()), (25.0, "10m"));
        assert_eq!(queue.severity, alerts::Severity::Critical);
        assert_eq!(cfg.kube.job, "llm");
        assert_eq!(
            cfg.kube.pod_labels,
            [("app".to_string(), "vllm".to_string())]
        );
        assert_eq!(
            (
                cfg.kube.port_name.as_str(),
                cfg.kube.release.as_str(),
                cfg.kube.namespace.as_str()
            ),
            ("metrics", "prom", "observability")
        );
    }

    #[test]
    fn mistakes_name_the_key_and_the_fix() {
        let cases = [
            ("selectr: {}", "unknown field `selectr`"),
            (
                "selector: {matchers: ['namespace']}",
                "selector.matchers[0]",
            ),
            (
                "selector: {matchers: ['a=\"1\", b=\"2\"']}",
                "one matcher per entry",
            ),
            ("selector: {job: '('}", "`selector.job`: not a valid regex"),
            ("selector: {job: ''}", "use \".+\" for any"),
            ("instance_label: 9pod", "`instance_label`"),
            ("rate_window: five", "`rate_window`"),
            ("runbook_url: 'a b'", "`runbook_url`"),
            (
                "alerts: {VllmQueue: {threshold: 1}}",
                "no such alert; the alerts are VllmHighRequestQueue",
            ),
            (
                "alerts: {VllmHighRequestQueue: {for: 0s}}",
                "`alerts.VllmHighRequestQueue.for`",
            ),
            (
                "alerts: {VllmHighRequestQueue: {treshold: 1}}",
                "unknown field `treshold`",
            ),
            (
                "alerts: {VllmHighRequestQueue: {severity: page}}",
                "unknown variant `page`",
            ),
            ("kubernetes: {job: other}", "`kubernetes.job`"),
            (
                "kubernetes: {scrape_timeout: 1m}",
                "longer than scrape_interval",
            ),
            ("kubernetes: {pod_labels: {}}", "`kubernetes.pod_labels`"),
            (
                "kubernetes: {plugin_url: 'ftp://x/p.zip'}",
                "`kubernetes.plugin_url`",
            ),
            (
                "kubernetes: {grafana_instance_labels: {}}",
                "`kubernetes.grafana_instance_labels`",
            ),
        ];
        for (text, expected) in cases {
            let err = p(text).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
            assert!(err.starts_with("vllm-grafana.yaml"), "{err}");
        }
    }
}
