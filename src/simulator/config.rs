//! Simulator settings and their validation.

use crate::catalog::{self, Version};
use std::net::{Ipv4Addr, SocketAddr};

/// What to simulate: a vLLM deployment of `models` models, each served by
/// `engines` data-parallel engines, as a given vLLM release exposes it.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Number of models (at least 1).
    pub models: usize,
    /// Data-parallel engines per model (at least 1).
    pub engines: usize,
    /// The vLLM release whose `/metrics` is reproduced.
    pub version: Version,
    /// `--speculative-config` is set.
    pub spec_decode: bool,
    /// `--enable-lora` is set.
    pub lora: bool,
    /// The offloading connector is configured (`--kv-transfer-config` with
    /// `OffloadingConnector`: a CPU primary tier and one file-system secondary
    /// tier, `1:fs`), so its metrics appear.
    pub kv_offload: bool,
    /// `--api-server-count`; above 1 prometheus_client runs in multiprocess
    /// mode: no `python_*`, `process_*` or `_created` families.
    pub api_servers: usize,
    /// Seed of the load model; equal configs give equal scrapes.
    pub seed: u64,
    /// Average request arrival rate per model (spread over its engines).
    pub requests_per_second: f64,
    /// `--max-model-len`: caps prompts and sizes the token histograms.
    pub max_model_len: u32,
    /// Simulated seconds per wall-clock second when served over HTTP (1 =
    /// real time). Above 1 the load model runs fast-forward: a sustained
    /// overload, its client timeouts and a full `rate()` window of history
    /// build up in seconds, for demos and alert tests. Durations (latency
    /// histograms) stay in simulated time; counters grow this many times
    /// faster per wall-clock second. [`Simulator::render`](super::Simulator)
    /// output does not depend on it.
    pub time_scale: f64,
    /// GPUs per engine (its tensor-parallel size) that a simulated NVIDIA
    /// DCGM exporter reports; 0 (the default) serves no exporter. Like the
    /// real exporter, it is its own endpoint: [`Self::dcgm_listen`], `/metrics`.
    pub gpus_per_engine: usize,
    /// Where the DCGM exporter listens (the real one's default port is 9400).
    pub dcgm_listen: SocketAddr,
    /// The exporter maps GPUs to Kubernetes pods: `pod`, `namespace`,
    /// `container` and `pod_uid` labels on every GPU series.
    pub dcgm_pod_labels: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8000)),
            models: 1,
            engines: 1,
            version: catalog::LATEST,
            spec_decode: false,
            lora: false,
            kv_offload: false,
            api_servers: 1,
            seed: 1,
            requests_per_second: 4.0,
            max_model_len: 32768,
            time_scale: 1.0,
            gpus_per_engine: 0,
            dcgm_listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DCGM_DEFAULT_PORT)),
            dcgm_pod_labels: false,
        }
    }
}

/// Upper limits keep every loop of the load model bounded.
pub const MAX_MODELS: usize = 256;
pub const MAX_ENGINES: usize = 64;
pub const MAX_ENGINE_INSTANCES: usize = 4096;
pub const MAX_API_SERVERS: usize = 64;
pub const MAX_REQUESTS_PER_SECOND: f64 = 10_000.0;
pub const MIN_MAX_MODEL_LEN: u32 = 256;
pub const MAX_MAX_MODEL_LEN: u32 = 2_097_152;
pub const MAX_TIME_SCALE: f64 = 1000.0;
/// The DCGM exporter's default port.
pub const DCGM_DEFAULT_PORT: u16 = 9400;
/// GPUs per engine: tensor parallelism within one node of 16 at most.
pub const MAX_GPUS_PER_ENGINE: usize = 16;
/// GPUs one simulated exporter reports in all.
pub const MAX_GPUS: usize = 1024;

/// Why the simulator could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid simulator setting `{field}`: {reason}")]
    InvalidConfig { field: &'static str, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("simulator HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SimError {
    SimError::InvalidConfig {
        field,
        reason: reason.into(),
    }
}

impl SimConfig {
    /// Checks every setting; the first problem found is returned.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.models == 0 || self.models > MAX_MODELS {
            return Err(invalid(
                "models",
                format!("must be between 1 and {MAX_MODELS}, got {}", self.models),
            ));
        }
        if self.engines == 0 || self.engines > MAX_ENGINES {
            return Err(invalid(
                "engines",
                format!("must be between 1 and {MAX_ENGINES}, got {}", self.engines),
            ));
        }
        if self.models * self.engines > MAX_ENGINE_INSTANCES {
            return Err(invalid(
                "engines",
                format!(
                    "models × engines must not exceed {MAX_ENGINE_INSTANCES}, got {}",
                    self.models * self.engines
                ),
            ));
        }
        if self.api_servers == 0 || self.api_servers > MAX_API_SERVERS {
            return Err(invalid(
                "api_servers",
                format!(
                    "must be between 1 and {MAX_API_SERVERS}, got {}",
                    self.api_servers
                ),
            ));
        }
        let rps = self.requests_per_second;
        if !rps.is_finite() || !(0.0..=MAX_REQUESTS_PER_SECOND).contains(&rps) {
            return Err(invalid(
                "requests_per_second",
                format!("must be between 0 and {MAX_REQUESTS_PER_SECOND}, got {rps}"),
            ));
        }
        if !(MIN_MAX_MODEL_LEN..=MAX_MAX_MODEL_LEN).contains(&self.max_model_len) {
            return Err(invalid(
                "max_model_len",
                format!(
                    "must be between {MIN_MAX_MODEL_LEN} and {MAX_MAX_MODEL_LEN}, got {}",
                    self.max_model_len
                ),
            ));
        }
        let scale = self.time_scale;
        if !scale.is_finite() || scale <= 0.0 || scale > MAX_TIME_SCALE {
            return Err(invalid(
                "time_scale",
                format!("must be above 0 and at most {MAX_TIME_SCALE}, got {scale}"),
            ));
        }
        if self.gpus_per_engine > MAX_GPUS_PER_ENGINE {
            return Err(invalid(
                "gpus_per_engine",
                format!(
                    "must be between 0 and {MAX_GPUS_PER_ENGINE}, got {}",
                    self.gpus_per_engine
                ),
            ));
        }
        let gpus = self.models * self.engines * self.gpus_per_engine;
        if gpus > MAX_GPUS {
            return Err(invalid(
                "gpus_per_engine",
                format!(
                    "models × engines × GPUs per engine must not exceed {MAX_GPUS}, got {gpus}"
                ),
            ));
        }
        if self.gpus_per_engine > 0 && self.dcgm_listen == self.listen && self.listen.port() != 0 {
            return Err(invalid(
                "dcgm_listen",
                format!("must differ from the vLLM address {}", self.listen),
            ));
        }
        let first = catalog::RELEASES[0];
        if self.version < first {
            return Err(invalid(
                "version",
                format!(
                    "vLLM {} predates the first release with /metrics ({first})",
                    self.version
                ),
            ));
        }
        if self.version > catalog::LATEST {
            return Err(invalid(
                "version",
                format!(
                    "vLLM {} is newer than the newest release the catalog describes ({}); pick one up to {}",
                    self.version,
                    catalog::LATEST,
                    catalog::LATEST
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert!(SimConfig::default().validate().is_ok());
    }

    #[test]
    fn time_scale_must_be_positive_and_bounded() {
        for scale in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_TIME_SCALE * 2.0] {
            let cfg = SimConfig {
                time_scale: scale,
                ..SimConfig::default()
            };
            match cfg.validate() {
                Err(SimError::InvalidConfig { field, .. }) => assert_eq!(field, "time_scale"),
                other => panic!("time_scale {scale}: expected InvalidConfig, got {other:?}"),
            }
        }
        let fast = SimConfig {
            time_scale: 60.0,
            ..SimConfig::default()
        };
        assert!(fast.validate().is_ok());
    }

    #[test]
    fn gpu_settings_are_bounded() {
        let ok = SimConfig {
            gpus_per_engine: 8,
            ..SimConfig::default()
        };
        assert!(ok.validate().is_ok());
        for bad in [
            SimConfig {
                gpus_per_engine: MAX_GPUS_PER_ENGINE + 1,
                ..SimConfig::default()
            },
            SimConfig {
                models: 200,
                engines: 2,
                gpus_per_engine: 8,
                ..SimConfig::default()
            },
        ] {
            match bad.validate() {
                Err(SimError::InvalidConfig { field, .. }) => assert_eq!(field, "gpus_per_engine"),
                other => panic!("expected InvalidConfig, got {other:?}"),
            }
        }
        let same_port = SimConfig {
            gpus_per_engine: 1,
            dcgm_listen: SimConfig::default().listen,
            ..SimConfig::default()
        };
        match same_port.validate() {
            Err(SimError::InvalidConfig { field, .. }) => assert_eq!(field, "dcgm_listen"),
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn rejects_out_of_range_settings() {
        let bad = [
            SimConfig {
                models: 0,
                ..SimConfig::default()
            },
            SimConfig {
                engines: 0,
                ..SimConfig::default()
            },
            SimConfig {
                api_servers: 0,
                ..SimConfig::default()
            },
            SimConfig {
                requests_per_second: f64::NAN,
                ..SimConfig::default()
            },
            SimConfig {
                requests_per_second: -1.0,
                ..SimConfig::default()
            },
            SimConfig {
                max_model_len: 8,
                ..SimConfig::default()
            },
            SimConfig {
                version: catalog::v(0, 1, 0),
                ..SimConfig::default()
            },
        ];
        let fields = [
            "models",
            "engines",
            "api_servers",
            "requests_per_second",
            "requests_per_second",
            "max_model_len",
            "version",
        ];
        for (cfg, field) in bad.iter().zip(fields) {
            match cfg.validate() {
                Err(SimError::InvalidConfig { field: f, reason }) => {
                    assert_eq!(f, field, "{reason}");
                }
                other => panic!("{field}: expected InvalidConfig, got {other:?}"),
            }
        }
    }
}
