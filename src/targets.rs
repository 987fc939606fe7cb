//! `vllm-grafana config --targets`: the list of vLLM endpoints to monitor,
//! written where Prometheus (file_sd) reads it.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Prometheus's file_sd target list, relative to the repository root.
pub const FILE_SD: &str = "prometheus/targets/vllm.json";

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

/// Write the target list under `root`.
pub fn write_targets(
    root: &Path,
    endpoints: &[Endpoint],
    environment: &str,
) -> Result<PathBuf, TargetError> {
    let path = root.join(FILE_SD);
    let fail = |e: std::io::Error| TargetError::Write {
        path: path.clone(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    std::fs::write(&path, file_sd_json(endpoints, environment)).map_err(fail)?;
    Ok(path)
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
    fn file_sd_is_what_prometheus_reads() {
        let t = parse_targets("a:1,b:2").expect("valid");
        let v: serde_json::Value = serde_json::from_str(&file_sd_json(&t, "prod")).expect("json");
        assert_eq!(v[0]["targets"], serde_json::json!(["a:1", "b:2"]));
        assert_eq!(v[0]["labels"]["environment"], "prod");
    }
}
