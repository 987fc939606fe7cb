//! Alert rules, generated from the catalog with the same PromQL builders as
//! the dashboards: Prometheus rule files (with `promtool` unit tests) and the
//! same rules as Grafana-managed alerts for users without Prometheus.

mod grafana;
mod prometheus;
pub mod recording;
mod rules;
pub mod slo;
mod unit_tests;

pub use grafana::{
    grafana_rules_json, grafana_rules_yaml, grafana_rules_yaml_for,
    DATASOURCE_UID as GRAFANA_DATASOURCE_UID, FOLDER as GRAFANA_FOLDER,
    INTERVAL as GRAFANA_INTERVAL,
};
pub use prometheus::prometheus_rules_yaml;
pub use rules::{
    rule_names, rules, AlertConfig, AlertOverride, AlertRule, Severity, DEFAULT_RUNBOOK_BASE,
};
pub use unit_tests::promtool_tests_yaml;

use std::path::{Path, PathBuf};

/// Files the generator owns, relative to the repository root.
pub const PROMETHEUS_RULES: &str = "prometheus/rules.yml";
pub const RECORDING_RULES: &str = "prometheus/recording.yml";
pub const PROMTOOL_TESTS: &str = "prometheus/rules.test.yml";
pub const GRAFANA_RULES: &str = "provisioning/alerting/vllm-rules.yml";

#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is out of date: run `vllm-grafana alerts` to regenerate it")]
    Stale { path: PathBuf },
    #[error("cannot encode rules as YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("cannot encode rules as JSON: {0}")]
    Json(String),
}

/// Every generated file and its content.
pub fn files(cfg: &AlertConfig) -> Result<Vec<(&'static str, String)>, AlertsError> {
    Ok(vec![
        (PROMETHEUS_RULES, prometheus_rules_yaml(cfg)?),
        (RECORDING_RULES, recording::recording_rules_yaml(cfg)?),
        (PROMTOOL_TESTS, promtool_tests_yaml(cfg)?),
        (GRAFANA_RULES, grafana_rules_yaml(cfg)?),
    ])
}

/// Write the generated files under `root`.
pub fn write_all(root: &Path, cfg: &AlertConfig) -> Result<Vec<PathBuf>, AlertsError> {
    let mut written = Vec::new();
    for (rel, text) in files(cfg)? {
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| AlertsError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, text).map_err(|source| AlertsError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Fail when a file under `root` differs from what the generator writes.
pub fn check_all(root: &Path, cfg: &AlertConfig) -> Result<(), AlertsError> {
    for (rel, text) in files(cfg)? {
        let path = root.join(rel);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            return Err(AlertsError::Stale { path });
        }
    }
    Ok(())
}
