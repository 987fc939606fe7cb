//! `vllm-grafana simulate`: a fake vLLM server whose `/metrics` looks exactly
//! like a chosen vLLM release's, driven by a small deterministic load model.
//!
//! The metric set comes from the catalog ([`crate::catalog::metrics_at`]); this
//! module only decides values. [`Simulator`] is the pure part (load model plus
//! exposition writer); [`bind`]/[`serve`] put it behind HTTP. With
//! `gpus_per_engine` set it also plays the NVIDIA DCGM exporter beside the
//! server ([`Simulator::render_dcgm`]), on its own port as the real one runs.

mod config;
mod format;
mod gpu;
mod histogram;
mod http;
mod load;
mod models;
mod process;
mod render;
mod stats;

pub use config::{SimConfig, SimError, DCGM_DEFAULT_PORT};
pub use format::{go_float, python_repr};
pub use gpu::{DRIVER_VERSION, GPU_HOSTNAME, GPU_MODEL_NAME, POD_CONTAINER, POD_NAMESPACE};
pub use http::{bind, serve, SimServer, CONTENT_TYPE};

use crate::catalog::{self, names, Engine, Features, MetricDef};
use load::{EngineSetup, EngineSim};
use models::ModelProfile;
use stats::EngineStats;
use std::time::{Duration, SystemTime};

/// Simulated time is advanced in ticks of this many seconds, so all engines
/// stay within one tick of each other.
const TICK: f64 = 1.0;
/// At most this much simulated time is computed per `advance`; a longer gap
/// (a scrape after hours) is skipped as if the server had been idle.
const MAX_ADVANCE: f64 = 3600.0;
/// Fixed start time so that a config and seed always give the same text.
const DEFAULT_START_UNIX: f64 = 1_767_225_600.0;
/// Draft tokens per step with `--speculative-config` (`position` 0..3).
const SPEC_TOKENS: usize = 3;
/// The secondary offload tier with `kv_offload` (the `tier` label).
const OFFLOAD_TIER: &str = "1:fs";
/// LoRA adapters served with `--enable-lora`.
const LORA_ADAPTERS: &[&str] = &[
    "sql-lora",
    "tweet-summary",
    "chat-support-v2",
    "code-review",
];

/// The load model and metric state of a simulated deployment.
pub struct Simulator {
    cfg: SimConfig,
    engine: Engine,
    metrics: Vec<&'static MetricDef>,
    profiles: Vec<ModelProfile>,
    /// Model-major: the engines of model `m` are `m * cfg.engines ..`.
    engines: Vec<EngineSim>,
    elapsed: f64,
    start_unix: f64,
}

/// splitmix64: independent per-engine seeds from one user seed.
fn mix_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Simulator {
    /// Validates `cfg` and sets up an idle deployment at simulated time 0.
    pub fn new(cfg: &SimConfig) -> Result<Self, SimError> {
        cfg.validate()?;
        let version = cfg.version;
        let engine = Engine::default_for(version);
        let features = Features {
            spec_decode: cfg.spec_decode,
            lora: cfg.lora,
            multi_api_server: cfg.api_servers > 1,
            linux: true,
            traffic: true,
            kv_offload: cfg.kv_offload,
        };
        let metrics: Vec<_> = catalog::metrics_at(version, engine, features).collect();
        let reasons = catalog::lookup(names::REQUEST_SUCCESS)
            .map(|m| m.label_values_at("finished_reason", version))
            .unwrap_or_default();
        let spec_tokens = if cfg.spec_decode { SPEC_TOKENS } else { 0 };
        let lora_adapters = if cfg.lora { LORA_ADAPTERS.len() } else { 0 };
        let profiles = models::profiles(cfg.models, cfg.max_model_len);
        let mut engines = Vec::with_capacity(cfg.models * cfg.engines);
        for (m, profile) in profiles.iter().enumerate() {
            for e in 0..cfg.engines {
                let index = engines.len();
                let setup = EngineSetup {
                    profile: profile.clone(),
                    rate: cfg.requests_per_second / cfg.engines as f64,
                    phase: m as f64 * 2.399 + e as f64 * 0.7,
                    max_model_len: cfg.max_model_len,
                    spec_tokens,
                    lora_adapters,
                    has_error: reasons.contains(&"error"),
                    has_repetition: reasons.contains(&"repetition"),
                    polls_models: index == 0,
                };
                let stats = EngineStats::new(version, cfg.max_model_len, spec_tokens);
                engines.push(EngineSim::new(
                    setup,
                    mix_seed(cfg.seed, index as u64),
                    stats,
                ));
            }
        }
        Ok(Simulator {
            cfg: cfg.clone(),
            engine,
            metrics,
            profiles,
            engines,
            elapsed: 0.0,
            start_unix: DEFAULT_START_UNIX,
        })
    }

    /// Uses `start` as the server's start time (process start, `_created`
    /// series) instead of the fixed default that keeps snapshots reproducible.
    pub fn with_start_time(mut self, start: SystemTime) -> Self {
        if let Ok(d) = start.duration_since(SystemTime::UNIX_EPOCH) {
            self.start_unix = d.as_secs_f64();
        }
        self
    }

    /// Steps the load model by `dt` of simulated time.
    pub fn advance(&mut self, dt: Duration) {
        let mut dt = dt.as_secs_f64();
        if dt > MAX_ADVANCE {
            let resume = self.elapsed + (dt - MAX_ADVANCE);
            for e in &mut self.engines {
                e.skip_to(resume);
            }
            self.elapsed = resume;
            dt = MAX_ADVANCE;
        }
        let end = self.elapsed + dt;
        let ticks = (dt / TICK).ceil() as usize;
        for tick in 1..=ticks {
            let t = (self.elapsed + tick as f64 * TICK).min(end);
            for e in &mut self.engines {
                e.run_until(t);
            }
        }
        self.elapsed = end;
    }

    /// Advances to `since_start` of simulated time (no-op if already past it).
    pub fn advance_to(&mut self, since_start: Duration) {
        let target = since_start.as_secs_f64();
        if target > self.elapsed {
            self.advance(Duration::from_secs_f64(target - self.elapsed));
        }
    }

    /// Simulated time since start.
    pub fn elapsed(&self) -> Duration {
        Duration::from_secs_f64(self.elapsed)
    }

    /// The `/metrics` text, exactly as the configured vLLM release serves it.
    pub fn render(&self) -> String {
        render::render(self)
    }

    /// The DCGM exporter's `/metrics` text for the engines' GPUs (empty when
    /// `gpus_per_engine` is 0): utilisation and SM activity follow the running
    /// requests, framebuffer use the KV-cache usage, power and temperature
    /// the utilisation.
    pub fn render_dcgm(&self) -> String {
        gpu::render(self)
    }

    /// Served model names (`--served-model-name`), one per model.
    pub fn model_names(&self) -> Vec<String> {
        self.profiles.iter().map(|p| p.name.clone()).collect()
    }

    /// The LoRA adapters requests may name (empty without `lora`).
    pub fn lora_adapters(&self) -> Vec<String> {
        let n = if self.cfg.lora {
            LORA_ADAPTERS.len()
        } else {
            0
        };
        LORA_ADAPTERS[..n].iter().map(|s| s.to_string()).collect()
    }

    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// The engines of model `m`.
    fn engines_of(&self, m: usize) -> &[EngineSim] {
        let n = self.cfg.engines;
        &self.engines[m * n..(m + 1) * n]
    }
}

/// A deterministic scrape after `simulated` time: `new`, `advance`, `render`.
/// An invalid config yields an empty string (use [`Simulator::new`] to see why).
pub fn snapshot(cfg: &SimConfig, simulated: Duration) -> String {
    match Simulator::new(cfg) {
        Ok(mut sim) => {
            sim.advance(simulated);
            sim.render()
        }
        Err(_) => String::new(),
    }
}

/// Like [`snapshot`], for the DCGM exporter's text.
pub fn dcgm_snapshot(cfg: &SimConfig, simulated: Duration) -> String {
    match Simulator::new(cfg) {
        Ok(mut sim) => {
            sim.advance(simulated);
            sim.render_dcgm()
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_deterministic_and_seed_dependent() {
        let cfg = SimConfig::default();
        let a = snapshot(&cfg, Duration::from_secs(60));
        assert_eq!(a, snapshot(&cfg, Duration::from_secs(60)));
        let other = SimConfig { seed: 2, ..cfg };
        assert_ne!(a, snapshot(&other, Duration::from_secs(60)));
    }

    #[test]
    fn advancing_in_pieces_equals_advancing_at_once() {
        let cfg = SimConfig::default();
        let mut sim = Simulator::new(&cfg).expect("valid");
        for _ in 0..4 {
            sim.advance(Duration::from_millis(15_250));
        }
        assert_eq!(sim.render(), snapshot(&cfg, Duration::from_secs(61)));
    }

    #[test]
    fn long_gaps_are_bounded() {
        let mut sim = Simulator::new(&SimConfig::default()).expect("valid");
        sim.advance(Duration::from_secs(30 * 24 * 3600));
        assert_eq!(sim.elapsed(), Duration::from_secs(30 * 24 * 3600));
    }

    #[test]
    fn model_names_are_realistic_and_unique() {
        let sim = Simulator::new(&SimConfig {
            models: 3,
            ..SimConfig::default()
        })
        .expect("valid");
        let names = sim.model_names();
        assert_eq!(names[0], "meta-llama/Llama-3.1-8B-Instruct");
        assert_eq!(names.len(), 3);
        assert!(names.iter().all(|n| n.contains('/')));
    }
}
