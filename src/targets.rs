//! `vllm-grafana config --targets`: the list of vLLM endpoints to monitor,
//! written where Prometheus (file_sd) reads it.

use crate::scrape::{Scheme, ScrapeTarget, TargetError as ScrapeTargetError, DEFAULT_PATH};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Prometheus's file_sd target list, relative to the repository root.
pub const FILE_SD: &str = "prometheus/targets/vllm.json";
/// Grafana provisioning of the plugin datasources, relative to the repository root.
pub const PLUGIN_DATASOURCES: &str = "provisioning/datasources/vllm.yml";
/// The Prometheus server of the compose stack, as Grafana reaches it.
pub const STACK_PROMETHEUS_URL: &str = "http://prometheus:9090";
/// Uid of the plugin datasource in Prometheus mode.
pub const PROMETHEUS_MODE_UID: &str = "vllm-prometheus";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("no targets given: pass --targets host:port[,host:port...] or URLs")]
    Empty,
    #[error("target {index}: {error}")]
    Invalid {
        index: usize,
        error: ScrapeTargetError,
    },
    #[error("target {index} ({url}) has the same host:port as target {first} ({first_url}): their series would mix; list each vLLM server once")]
    SameInstance {
        index: usize,
        url: String,
        first: usize,
        first_url: String,
    },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// A parsed `--targets` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetList {
    pub targets: Vec<ScrapeTarget>,
    /// Entries that repeated an earlier one (after normalisation), dropped.
    pub duplicates: Vec<String>,
}

/// Parses `host:port,https://host:8443/custom/metrics,...` with the scrape
/// module's one target parser: schemes and paths are kept, exact repeats
/// dropped, and two entries on one host:port refused.
pub fn parse_targets(list: &str) -> Result<TargetList, TargetError> {
    let mut targets: Vec<ScrapeTarget> = Vec::new();
    let mut duplicates = Vec::new();
    for (i, raw) in list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        let index = i + 1;
        let target =
            ScrapeTarget::parse(raw).map_err(|error| TargetError::Invalid { index, error })?;
        if targets.contains(&target) {
            duplicates.push(target.url());
            continue;
        }
        if let Some(j) = targets
            .iter()
            .position(|t| t.instance() == target.instance())
        {
            return Err(TargetError::SameInstance {
                index,
                url: target.url(),
                first: j + 1,
                first_url: targets[j].url(),
            });
        }
        targets.push(target);
    }
    if targets.is_empty() {
        return Err(TargetError::Empty);
    }
    Ok(TargetList {
        targets,
        duplicates,
    })
}

#[derive(Serialize)]
struct FileSdGroup {
    targets: Vec<String>,
    labels: BTreeMap<String, String>,
}

/// The file_sd JSON for `targets`, labelled with `environment`. Targets
/// with another scheme, path or query than the job's (`http`, `/metrics`)
/// go in groups of their own whose `__scheme__`, `__metrics_path__` and
/// `__param_<name>` labels Prometheus applies to them.
pub fn file_sd_json(targets: &[ScrapeTarget], environment: &str) -> String {
    let mut groups: Vec<FileSdGroup> = Vec::new();
    for t in targets {
        let mut labels = BTreeMap::from([("environment".to_string(), environment.to_string())]);
        if t.scheme() != Scheme::Http {
            labels.insert("__scheme__".into(), t.scheme().as_str().into());
        }
        if t.path() != DEFAULT_PATH {
            labels.insert("__metrics_path__".into(), t.path().into());
        }
        for (name, value) in t.params() {
            labels.insert(format!("__param_{name}"), value);
        }
        match groups.iter_mut().find(|g| g.labels == labels) {
            Some(g) => g.targets.push(t.instance()),
            None => groups.push(FileSdGroup {
                targets: vec![t.instance()],
                labels,
            }),
        }
    }
    let mut text = serde_json::to_string_pretty(&groups).unwrap_or_else(|_| "[]".to_string());
    text.push('\n');
    text
}

/// The plugin's datasources for the stack: direct mode scraping `endpoints`
/// itself, and Prometheus mode reading the stack's Prometheus.
pub fn plugin_datasources_yaml(targets: &[ScrapeTarget]) -> String {
    // JSON strings are YAML strings: quoting keeps any URL intact.
    let urls: Vec<String> = targets
        .iter()
        .map(|t| format!("        - {}\n", serde_json::Value::String(t.url())))
        .collect();
    format!(
        "# Written by `vllm-grafana config --targets`; the plugin's datasources for the stack.\n\
         apiVersion: 1\n\n\
         datasources:\n\
         \x20 - name: vLLM (direct)\n\
         \x20   uid: {direct}\n\
         \x20   type: {plugin}\n\
         \x20   access: proxy\n\
         \x20   jsonData:\n\
         \x20     mode: direct\n\
         \x20     scrapeInterval: 10s\n\
         \x20     targets:\n{targets}\
         \x20 - name: vLLM (via Prometheus)\n\
         \x20   uid: {prom}\n\
         \x20   type: {plugin}\n\
         \x20   access: proxy\n\
         \x20   url: {url}\n\
         \x20   jsonData:\n\
         \x20     mode: prometheus\n\
         \x20     timeInterval: 10s\n",
        direct = crate::alerts::GRAFANA_DATASOURCE_UID,
        prom = PROMETHEUS_MODE_UID,
        plugin = crate::dashboard::PLUGIN_ID,
        url = STACK_PROMETHEUS_URL,
        targets = urls.concat(),
    )
}

fn write(path: PathBuf, text: &str) -> Result<PathBuf, TargetError> {
    let fail = |e: std::io::Error| TargetError::Write {
        path: path.clone(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    std::fs::write(&path, text).map_err(fail)?;
    Ok(path)
}

/// Write the target list under `root`: Prometheus's file_sd list and the
/// plugin's direct-mode datasource.
pub fn write_targets(
    root: &Path,
    targets: &[ScrapeTarget],
    environment: &str,
) -> Result<Vec<PathBuf>, TargetError> {
    Ok(vec![
        write(root.join(FILE_SD), &file_sd_json(targets, environment))?,
        write(
            root.join(PLUGIN_DATASOURCES),
            &plugin_datasources_yaml(targets),
        )?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &TargetList) -> Vec<String> {
        list.targets.iter().map(ScrapeTarget::url).collect()
    }

    #[test]
    fn parses_lists_keeping_schemes_and_paths() {
        let t = parse_targets("10.0.0.5:8000, https://gpu-2:8443/custom/metrics,").expect("valid");
        assert_eq!(
            urls(&t),
            [
                "http://10.0.0.5:8000/metrics",
                "https://gpu-2:8443/custom/metrics"
            ]
        );
        let t = parse_targets("a:1,http://a:1/metrics,A:1").expect("valid");
        assert_eq!(urls(&t), ["http://a:1/metrics"]);
        assert_eq!(t.duplicates.len(), 2);
    }

    #[test]
    fn bad_entries_name_their_position() {
        assert_eq!(parse_targets(" , "), Err(TargetError::Empty));
        let e = parse_targets("a:1,::1:8000").expect_err("bare IPv6");
        assert!(e.to_string().starts_with("target 2: \"::1:8000\""), "{e}");
        assert!(e.to_string().contains("[::1:8000]"), "{e}");
        assert!(parse_targets("a:70000").is_err());
        assert!(parse_targets(":80").is_err());
        let e = parse_targets("a:1,https://a:1/other").expect_err("same instance");
        assert!(e.to_string().contains("same host:port as target 1"), "{e}");
    }

    #[test]
    fn plugin_datasources_list_the_targets_for_direct_mode() {
        let t = parse_targets("a:1,https://[::1]:2/x?k=v").expect("valid");
        let doc: serde_json::Value =
            serde_yaml::from_str(&plugin_datasources_yaml(&t.targets)).expect("yaml");
        let direct = &doc["datasources"][0];
        assert_eq!(direct["jsonData"]["mode"], "direct");
        assert_eq!(
            direct["jsonData"]["targets"],
            serde_json::json!(["http://a:1/metrics", "https://[::1]:2/x?k=v"])
        );
        assert_eq!(doc["datasources"][1]["url"], STACK_PROMETHEUS_URL);
    }

    #[test]
    fn file_sd_groups_carry_scheme_path_and_params() {
        let t = parse_targets("a:1,b:2,https://c:3/custom?x=1,https://d:4/custom?x=1,https://e:5")
            .expect("valid");
        let v: serde_json::Value =
            serde_json::from_str(&file_sd_json(&t.targets, "prod")).expect("json");
        assert_eq!(v[0]["targets"], serde_json::json!(["a:1", "b:2"]));
        assert_eq!(v[0]["labels"], serde_json::json!({"environment": "prod"}));
        assert_eq!(v[1]["targets"], serde_json::json!(["c:3", "d:4"]));
        assert_eq!(
            v[1]["labels"],
            serde_json::json!({"environment": "prod", "__scheme__": "https", "__metrics_path__": "/custom", "__param_x": "1"})
        );
        assert_eq!(v[2]["targets"], serde_json::json!(["e:5"]));
    }
}
