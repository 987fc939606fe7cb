//! `vllm-grafana config --targets`: the list of vLLM endpoints to monitor,
//! written where Prometheus (file_sd) reads it.

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
    #[error("no targets given: pass --targets host:port[,host:port...]")]
    Empty,
    #[error("target {index} ({text:?}): {reason}")]
    Invalid {
        index: usize,
        text: String,
        reason: &'static str,
    },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// One scrape target, as Prometheus wants it: `host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Inside the compose stack `localhost` is the Prometheus container.
    pub fn is_loopback(&self) -> bool {
        matches!(
            self.host.as_str(),
            "localhost" | "127.0.0.1" | "::1" | "[::1]"
        )
    }
}

/// Parse `host:port,host:port` (an `http://` prefix and a `/metrics` path are accepted and dropped).
pub fn parse_targets(list: &str) -> Result<Vec<Endpoint>, TargetError> {
    let mut out = Vec::new();
    for (i, raw) in list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        let invalid = |reason| TargetError::Invalid {
            index: i + 1,
            text: raw.to_string(),
            reason,
        };
        let rest = raw
            .strip_prefix("http://")
            .or_else(|| raw.strip_prefix("https://"))
            .unwrap_or(raw);
        let hostport = rest.split('/').next().unwrap_or(rest);
        let (host, port) = hostport
            .rsplit_once(':')
            .ok_or_else(|| invalid("expected host:port, e.g. 10.0.0.5:8000"))?;
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '"') {
            return Err(invalid("invalid host"));
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| invalid("port must be a number from 1 to 65535"))?;
        out.push(Endpoint {
            host: host.to_string(),
            port,
        });
    }
    if out.is_empty() {
        return Err(TargetError::Empty);
    }
    Ok(out)
}

#[derive(Serialize)]
struct FileSdGroup<'a> {
    targets: Vec<String>,
    labels: BTreeMap<&'a str, &'a str>,
}

/// The file_sd JSON for `endpoints`, labelled with `environment`.
pub fn file_sd_json(endpoints: &[Endpoint], environment: &str) -> String {
    let group = FileSdGroup {
        targets: endpoints.iter().map(Endpoint::address).collect(),
        labels: BTreeMap::from([("environment", environment)]),
    };
    let mut text = serde_json::to_string_pretty(&[group]).unwrap_or_else(|_| "[]".to_string());
    text.push('\n');
    text
}

/// The plugin's datasources for the stack: direct mode scraping `endpoints`
/// itself, and Prometheus mode reading the stack's Prometheus.
pub fn plugin_datasources_yaml(endpoints: &[Endpoint]) -> String {
    let urls: Vec<String> = endpoints
        .iter()
        .map(|e| format!("        - http://{}/metrics\n", e.address()))
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
    endpoints: &[Endpoint],
    environment: &str,
) -> Result<Vec<PathBuf>, TargetError> {
    Ok(vec![
        write(root.join(FILE_SD), &file_sd_json(endpoints, environment))?,
        write(
            root.join(PLUGIN_DATASOURCES),
            &plugin_datasources_yaml(endpoints),
        )?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_with_schemes_and_paths() {
        let t = parse_targets("10.0.0.5:8000, http://gpu-2:8001/metrics,").expect("valid");
        assert_eq!(
            t.iter().map(Endpoint::address).collect::<Vec<_>>(),
            ["10.0.0.5:8000", "gpu-2:8001"]
        );
    }

    #[test]
    fn bad_entries_name_their_position() {
        assert_eq!(parse_targets(" , "), Err(TargetError::Empty));
        let e = parse_targets("a:1,b").expect_err("no port");
        assert!(e.to_string().starts_with("target 2 (\"b\")"), "{e}");
        assert!(parse_targets("a:70000").is_err());
        assert!(parse_targets(":80").is_err());
    }

    #[test]
    fn plugin_datasources_list_the_targets_for_direct_mode() {
        let t = parse_targets("a:1,b:2").expect("valid");
        let doc: serde_json::Value =
            serde_yaml::from_str(&plugin_datasources_yaml(&t)).expect("yaml");
        let direct = &doc["datasources"][0];
        assert_eq!(direct["jsonData"]["mode"], "direct");
        assert_eq!(
            direct["jsonData"]["targets"],
            serde_json::json!(["http://a:1/metrics", "http://b:2/metrics"])
        );
        assert_eq!(doc["datasources"][1]["url"], STACK_PROMETHEUS_URL);
    }

    #[test]
    fn file_sd_is_what_prometheus_reads() {
        let t = parse_targets("a:1,b:2").expect("valid");
        let v: serde_json::Value = serde_json::from_str(&file_sd_json(&t, "prod")).expect("json");
        assert_eq!(v[0]["targets"], serde_json::json!(["a:1", "b:2"]));
        assert_eq!(v[0]["labels"]["environment"], "prod");
    }
}
