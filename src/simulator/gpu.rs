//! A simulated NVIDIA DCGM exporter: the GPU metrics of every engine's GPUs,
//! as the exporter prints them, with values that follow the load model.
//!
//! The metric set is the catalog's ([`crate::catalog::dcgm`]); this module
//! decides values and labels. The simulated GPUs are H100 SXM boards of one
//! node: engines get consecutive GPUs, `gpus_per_engine` each (their
//! tensor-parallel shards run in lockstep).

use super::format::{escape_help, escape_label_value};
use super::load::{batch_fill, EngineSim};
use super::{mix_seed, Simulator};
use crate::catalog::dcgm::{labels, GpuMetricDef, ValueFormat, DCGM_METRICS};
use crate::catalog::{names, Kind};
use std::fmt::Write;

/// The board every simulated GPU is.
pub const GPU_MODEL_NAME: &str = "NVIDIA H100 80GB HBM3";
/// The node the simulated exporter runs on.
pub const GPU_HOSTNAME: &str = "gpu-node-01";
/// The driver version the exporter prints as a label.
pub const DRIVER_VERSION: &str = "570.133.20";
/// The Kubernetes namespace and container of the vLLM pods (pod mapping).
pub const POD_NAMESPACE: &str = "llm-serving";
pub const POD_CONTAINER: &str = "vllm";

/// Framebuffer of an H100 80GB as the driver reports it, and the share the
/// driver reserves for itself (MiB).
const FB_TOTAL_MIB: f64 = 81_559.0;
const FB_RESERVED_MIB: f64 = 545.0;
/// CUDA context, activations and CUDA graphs per GPU (MiB).
const FB_OVERHEAD_MIB: f64 = 3_200.0;
/// vLLM's default `--gpu-memory-utilization`.
const GPU_MEMORY_UTILIZATION: f64 = 0.9;
/// Power at idle and the board's limit (W).
const POWER_IDLE_W: f64 = 72.0;
const POWER_LIMIT_W: f64 = 700.0;
/// Share of the dynamic power a lone request already draws.
const POWER_BUSY_FLOOR: f64 = 0.3;
/// Clocks (MHz): SM idle and boost, HBM3.
const SM_CLOCK_IDLE: f64 = 345.0;
const SM_CLOCK_BOOST: f64 = 1980.0;
const MEM_CLOCK: f64 = 2619.0;
/// The driver had been up this long when the simulated server started (s).
const UPTIME_AT_START: f64 = 3.0 * 86_400.0;
/// PCI buses of the eight GPUs of an HGX board.
const PCI_BUSES: [u8; 8] = [0x18, 0x2A, 0x3A, 0x5D, 0x9A, 0xAB, 0xBA, 0xDB];
/// NVLink bytes exchanged per token between tensor-parallel shards.
const NVLINK_BYTES_PER_TOKEN: f64 = 262_144.0;

/// One simulated GPU: who it is and what it is doing.
struct Gpu<'a> {
    index: usize,
    /// Its shard number within the engine (0..gpus_per_engine).
    shard: usize,
    engine: &'a EngineSim,
    /// The engine's `engine` label and model, for the pod name.
    engine_index: usize,
    model: &'a str,
    params_b: f64,
    tensor_parallel: usize,
}

/// A UUID-shaped identifier, stable for a seed and index.
fn uuid_like(seed: u64, salt: u64, index: usize) -> String {
    let a = mix_seed(seed ^ salt, index as u64);
    let b = mix_seed(a, 1);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// `meta-llama/Llama-3.1-8B-Instruct` → `llama-3-1-8b-instruct`.
fn slug(model: &str) -> String {
    let base = model.rsplit('/').next().unwrap_or(model);
    let mut out = String::new();
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(40);
    out.trim_matches('-').to_string()
}

impl Gpu<'_> {
    fn active(&self) -> bool {
        self.engine.running() > 0
    }

    /// How full the engine's batch keeps this GPU (0 when idle).
    fn fill(&self) -> f64 {
        batch_fill(self.engine.running())
    }

    /// A small, stable difference between GPUs (0..1).
    fn spread(&self) -> f64 {
        ((self.index * 37 + 11) % 17) as f64 / 16.0
    }

    fn util_percent(&self) -> f64 {
        if !self.active() {
            return 0.0;
        }
        (62.0 + 38.0 * self.fill() - 2.0 * self.spread())
            .round()
            .clamp(0.0, 100.0)
    }

    fn sm_active(&self) -> f64 {
        if !self.active() {
            return 0.0;
        }
        (0.18 + 0.72 * self.fill()) * (1.0 - 0.02 * self.spread())
    }

    fn tensor_active(&self) -> f64 {
        self.sm_active() * (0.35 + 0.45 * self.engine.prefill_share())
    }

    fn dram_active(&self) -> f64 {
        if !self.active() {
            return 0.0;
        }
        (0.25 + 0.55 * self.fill()) * (1.0 - 0.5 * self.engine.prefill_share())
    }

    fn power_w(&self) -> f64 {
        let load = if self.active() {
            POWER_BUSY_FLOOR + (1.0 - POWER_BUSY_FLOOR) * self.fill()
        } else {
            0.0
        };
        POWER_IDLE_W + (POWER_LIMIT_W - POWER_IDLE_W) * load * 0.97 + 3.0 * self.spread()
    }

    fn gpu_temp(&self) -> f64 {
        (29.0 + 0.058 * self.power_w() + 2.0 * self.spread()).round()
    }

    fn sm_clock(&self) -> f64 {
        if !self.active() {
            return SM_CLOCK_IDLE;
        }
        // Near the power limit the boost clock gives way.
        let headroom = (POWER_LIMIT_W - 40.0 - self.power_w()).min(0.0);
        (SM_CLOCK_BOOST + 3.0 * headroom).round()
    }

    /// Framebuffer used (MiB): weights and overhead, plus the KV-cache pool
    /// in proportion to its use.
    fn fb_used(&self) -> f64 {
        let budget = FB_TOTAL_MIB * GPU_MEMORY_UTILIZATION;
        let weights = (self.params_b * 1e9 * 2.0 / self.tensor_parallel as f64 / 1_048_576.0)
            .min(budget * 0.8);
        let pool = (budget - weights - FB_OVERHEAD_MIB).max(0.0);
        (weights + FB_OVERHEAD_MIB + pool * self.engine.kv_usage().clamp(0.0, 1.0)).round()
    }

    fn fb_free(&self) -> f64 {
        (FB_TOTAL_MIB - FB_RESERVED_MIB - self.fb_used()).max(0.0)
    }

    /// Energy since the driver loaded (mJ), the integral of [`Self::power_w`].
    fn energy_mj(&self, elapsed: f64) -> f64 {
        let dynamic = (POWER_LIMIT_W - POWER_IDLE_W) * 0.97;
        let busy = POWER_BUSY_FLOOR * self.engine.busy_seconds()
            + (1.0 - POWER_BUSY_FLOOR) * self.engine.load_seconds();
        let baseline = POWER_IDLE_W + 3.0 * self.spread();
        ((baseline * (UPTIME_AT_START + elapsed) + dynamic * busy) * 1000.0).floor()
    }

    fn nvlink_total(&self) -> f64 {
        if self.tensor_parallel < 2 {
            return 0.0;
        }
        let s = &self.engine.stats;
        ((s.prompt_tokens_computed + s.generation_tokens) * NVLINK_BYTES_PER_TOKEN).floor()
    }

    fn pcie_rx(&self) -> f64 {
        if self.active() {
            (2.0e6 + 38.0e6 * self.fill()).round()
        } else {
            150_000.0
        }
    }

    fn pcie_tx(&self) -> f64 {
        if self.active() {
            (1.0e6 + 9.0e6 * self.fill()).round()
        } else {
            90_000.0
        }
    }

    fn value(&self, name: &str, elapsed: f64) -> f64 {
        match name {
            names::DCGM_SM_CLOCK => self.sm_clock(),
            names::DCGM_MEM_CLOCK => MEM_CLOCK,
            names::DCGM_MEMORY_TEMP => self.gpu_temp() + 6.0,
            names::DCGM_GPU_TEMP => self.gpu_temp(),
            names::DCGM_POWER_USAGE => self.power_w(),
            names::DCGM_TOTAL_ENERGY_CONSUMPTION => self.energy_mj(elapsed),
            names::DCGM_GPU_UTIL => self.util_percent(),
            names::DCGM_MEM_COPY_UTIL => (self.dram_active() * 90.0).round(),
            names::DCGM_FB_FREE => self.fb_free(),
            names::DCGM_FB_USED => self.fb_used(),
            names::DCGM_FB_RESERVED => FB_RESERVED_MIB,
            names::DCGM_NVLINK_BANDWIDTH_TOTAL => self.nvlink_total(),
            names::DCGM_GR_ENGINE_ACTIVE => self.util_percent() / 100.0,
            names::DCGM_SM_ACTIVE => self.sm_active(),
            names::DCGM_PIPE_TENSOR_ACTIVE => self.tensor_active(),
            names::DCGM_DRAM_ACTIVE => self.dram_active(),
            names::DCGM_PCIE_TX_BYTES => self.pcie_tx(),
            names::DCGM_PCIE_RX_BYTES => self.pcie_rx(),
            // Error counters and the last XID: a healthy fleet.
            _ => 0.0,
        }
    }

    /// The label set, in the exporter's order.
    fn labels(&self, sim: &Simulator) -> String {
        let seed = sim.cfg.seed;
        let domain = self.index / PCI_BUSES.len();
        let bus = PCI_BUSES[self.index % PCI_BUSES.len()];
        let mut pairs: Vec<(&str, String)> = vec![
            (labels::GPU, self.index.to_string()),
            (
                labels::UUID,
                format!("GPU-{}", uuid_like(seed, 0xD6C3, self.index)),
            ),
            (labels::PCI_BUS_ID, format!("{domain:08X}:{bus:02X}:00.0")),
            (labels::DEVICE, format!("nvidia{}", self.index)),
            (labels::MODEL_NAME, GPU_MODEL_NAME.to_string()),
            (labels::HOSTNAME, GPU_HOSTNAME.to_string()),
            (labels::DRIVER_VERSION, DRIVER_VERSION.to_string()),
        ];
        if sim.cfg.dcgm_pod_labels {
            pairs.push((labels::CONTAINER, POD_CONTAINER.to_string()));
            pairs.push((labels::NAMESPACE, POD_NAMESPACE.to_string()));
            pairs.push((
                labels::POD,
                format!("vllm-{}-{}", slug(self.model), self.engine_index),
            ));
            pairs.push((
                labels::POD_UID,
                uuid_like(seed, 0x90D, self.index - self.shard),
            ));
        }
        let mut out = String::new();
        for (i, (name, value)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{name}=\"");
            escape_label_value(&mut out, value);
            out.push('"');
        }
        out
    }
}

fn format_value(def: &GpuMetricDef, v: f64) -> String {
    match def.format {
        ValueFormat::Integer => format!("{}", v as i64),
        ValueFormat::Decimal => format!("{v:.6}"),
    }
}

/// The exporter's `/metrics` text for the simulator's current state (empty
/// when `gpus_per_engine` is 0).
pub(super) fn render(sim: &Simulator) -> String {
    let per_engine = sim.cfg.gpus_per_engine;
    let mut gpus = Vec::with_capacity(sim.engines.len() * per_engine);
    for (m, profile) in sim.profiles.iter().enumerate() {
        for (e, engine) in sim.engines_of(m).iter().enumerate() {
            for shard in 0..per_engine {
                gpus.push(Gpu {
                    index: gpus.len(),
                    shard,
                    engine,
                    engine_index: e,
                    model: &profile.name,
                    params_b: profile.params_b,
                    tensor_parallel: per_engine,
                });
            }
        }
    }
    if gpus.is_empty() {
        return String::new();
    }
    let label_sets: Vec<String> = gpus.iter().map(|g| g.labels(sim)).collect();
    let mut out = String::new();
    for def in DCGM_METRICS {
        out.push_str("# HELP ");
        out.push_str(def.name);
        out.push(' ');
        escape_help(&mut out, def.help);
        let kind = match def.kind {
            Kind::Counter => "counter",
            _ => "gauge",
        };
        let _ = writeln!(out, "\n# TYPE {} {kind}", def.name);
        for (gpu, labels) in gpus.iter().zip(&label_sets) {
            let v = gpu.value(def.name, sim.elapsed);
            let _ = writeln!(out, "{}{{{labels}}} {}", def.name, format_value(def, v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::SimConfig;
    use std::time::Duration;

    #[test]
    fn slugs_are_pod_name_safe() {
        assert_eq!(
            slug("meta-llama/Llama-3.1-8B-Instruct"),
            "llama-3-1-8b-instruct"
        );
        assert_eq!(slug("x//A__b"), "a-b");
    }

    #[test]
    fn uuids_are_stable_and_distinct() {
        assert_eq!(uuid_like(1, 2, 3), uuid_like(1, 2, 3));
        assert_ne!(uuid_like(1, 2, 3), uuid_like(1, 2, 4));
        assert_eq!(uuid_like(1, 2, 3).len(), 36);
    }

    #[test]
    fn off_by_default() {
        let sim = Simulator::new(&SimConfig::default()).expect("valid");
        assert_eq!(sim.render_dcgm(), "");
    }

    #[test]
    fn idle_gpus_are_cool_and_quiet() {
        let cfg = SimConfig {
            gpus_per_engine: 2,
            requests_per_second: 0.0,
            ..SimConfig::default()
        };
        let mut sim = Simulator::new(&cfg).expect("valid");
        sim.advance(Duration::from_secs(60));
        let text = sim.render_dcgm();
        assert!(text.contains(&format!("{}{{gpu=\"1\",", names::DCGM_GPU_UTIL)));
        for line in text.lines().filter(|l| l.starts_with(names::DCGM_GPU_UTIL)) {
            assert!(line.ends_with(" 0"), "{line}");
        }
    }
}
