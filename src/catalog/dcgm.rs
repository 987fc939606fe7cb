//! GPU metrics of NVIDIA's DCGM exporter, the usual companion of a vLLM
//! server: it runs as its own endpoint (a DaemonSet in Kubernetes, port 9400,
//! `/metrics`) and reports every GPU of its node.
//!
//! Kept apart from [`super::METRICS`] on purpose: these are not vLLM's
//! metrics, have no vLLM release history, and take no part in sniffing a vLLM
//! release or in the catalog drift check. Names, types and HELP texts are the
//! exporter's documented default counter list (`etc/default-counters.csv`),
//! plus `DCGM_FI_PROF_SM_ACTIVE`, which that list ships commented out and LLM
//! deployments commonly enable with a custom counter file. The exporter has no
//! clock-throttle-reason field in its defaults (the `*_VIOLATION` counters are
//! commented out there), so none is listed.

use super::names::*;
use super::Kind;
use serde::Serialize;

/// What a DCGM field measures, in the exporter's own units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuUnit {
    Megahertz,
    Celsius,
    Watts,
    Millijoules,
    /// 0..100.
    Percent,
    /// A fraction 0..1 (the profiling `DCGM_FI_PROF_*` ratios).
    Ratio,
    /// Mebibytes (the framebuffer fields).
    Mebibytes,
    BytesPerSecond,
    Count,
    /// An error code (the last XID), not a quantity.
    Code,
}

impl GpuUnit {
    /// The Grafana unit id for panels showing this quantity.
    pub fn grafana(self) -> &'static str {
        match self {
            GpuUnit::Megahertz => "short",
            GpuUnit::Celsius => "celsius",
            GpuUnit::Watts => "watt",
            GpuUnit::Millijoules => "short",
            GpuUnit::Percent => "percent",
            GpuUnit::Ratio => "percentunit",
            GpuUnit::Mebibytes => "mbytes",
            GpuUnit::BytesPerSecond => "Bps",
            GpuUnit::Count | GpuUnit::Code => "short",
        }
    }
}

/// How the exporter prints a field's value: DCGM's int64 fields as integers,
/// its double fields with six decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFormat {
    Integer,
    Decimal,
}

/// One DCGM exporter metric family.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct GpuMetricDef {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: GpuUnit,
    pub format: ValueFormat,
    /// The exporter's HELP text.
    pub help: &'static str,
    /// What it means for an operator of an LLM server.
    pub meaning: &'static str,
    /// Enabled in the exporter's default counter list (otherwise it needs a
    /// custom counter file).
    pub default: bool,
    /// A profiling (DCP) field: datacenter GPUs from Volta on only.
    pub profiling: bool,
}

/// Labels the exporter puts on every GPU series, in the order it prints them.
pub mod labels {
    /// The GPU's index on its node.
    pub const GPU: &str = "gpu";
    /// The GPU's UUID (`GPU-…`); `uuid` with the exporter's old-namespace option.
    pub const UUID: &str = "UUID";
    pub const PCI_BUS_ID: &str = "pci_bus_id";
    /// The device node name, `nvidia0`, …
    pub const DEVICE: &str = "device";
    /// The marketing name, e.g. `NVIDIA H100 80GB HBM3`.
    pub const MODEL_NAME: &str = "modelName";
    /// The node's name, when the exporter knows it. Released exporters
    /// print `Hostname`; the development branch renamed it `hostname` in
    /// May 2026.
    pub const HOSTNAME: &str = "Hostname";
    pub const HOSTNAME_NEW: &str = "hostname";
    /// The `DCGM_FI_DRIVER_VERSION` field of the default list, printed as a label.
    pub const DRIVER_VERSION: &str = "DCGM_FI_DRIVER_VERSION";
    /// With Kubernetes pod mapping: the pod using the GPU, its namespace,
    /// container and UID (sorted, after the others).
    pub const CONTAINER: &str = "container";
    pub const NAMESPACE: &str = "namespace";
    pub const POD: &str = "pod";
    pub const POD_UID: &str = "pod_uid";

    /// Always present.
    pub const DEVICE_LABELS: &[&str] = &[GPU, UUID, PCI_BUS_ID, DEVICE, MODEL_NAME];
    /// Added by Kubernetes pod mapping.
    pub const POD_LABELS: &[&str] = &[CONTAINER, NAMESPACE, POD, POD_UID];
}

const GAUGE: GpuMetricDef = GpuMetricDef {
    name: "",
    kind: Kind::Gauge,
    unit: GpuUnit::Count,
    format: ValueFormat::Integer,
    help: "",
    meaning: "",
    default: true,
    profiling: false,
};

const COUNTER: GpuMetricDef = GpuMetricDef {
    kind: Kind::Counter,
    ..GAUGE
};

const PROFILING: GpuMetricDef = GpuMetricDef {
    unit: GpuUnit::Ratio,
    format: ValueFormat::Decimal,
    profiling: true,
    ..GAUGE
};

/// The DCGM exporter metrics that matter for LLM serving, in the order of its
/// default counter list. The exporter does not append `_total` to counters.
pub static DCGM_METRICS: &[GpuMetricDef] = &[
    GpuMetricDef {
        name: DCGM_SM_CLOCK,
        unit: GpuUnit::Megahertz,
        help: "SM clock frequency (in MHz).",
        meaning: "Streaming-multiprocessor clock: near the boost clock under load; a drop under load means power or thermal capping.",
        ..GAUGE
    },
    GpuMetricDef {
        name: DCGM_MEM_CLOCK,
        unit: GpuUnit::Megahertz,
        help: "Memory clock frequency (in MHz).",
        meaning: "Memory clock; decode is memory-bound, so a lowered memory clock slows token generation.",
        ..GAUGE
    },
    GpuMetricDef {
        name: DCGM_MEMORY_TEMP,
        unit: GpuUnit::Celsius,
        help: "Memory temperature (in C).",
        meaning: "HBM temperature; GPUs without a memory sensor report a blank value the exporter skips.",
        ..GAUGE
    },
    GpuMetricDef {
        name: DCGM_GPU_TEMP,
        unit: GpuUnit::Celsius,
        help: "GPU temperature (in C).",
        meaning: "Die temperature; sustained values near the slowdown threshold (~85 °C on datacenter parts) throttle clocks.",
        ..GAUGE
    },
    GpuMetricDef {
        name: DCGM_POWER_USAGE,
        unit: GpuUnit::Watts,
        format: ValueFormat::Decimal,
        help: "Power draw (in W).",
        meaning: "Board power draw; follows utilisation, and a flat line at the power limit while clocks fall means power capping.",
        ..GAUGE
    },
    GpuMetricDef {
        name: DCGM_TOTAL_ENERGY_CONSUMPTION,
        unit: GpuUnit::Millijoules,
        help: "Total energy consumption since boot (in mJ).",
        meaning: "Energy since the driver loaded; its rate is average power, its increase per generated token the energy cost of serving.",
        ..COUNTER
    },
    GpuMetricDef {
        name: DCGM_PCIE_REPLAY_COUNTER,
        help: "Total number of PCIe retries.",
        meaning: "PCIe link retries; a rising count points at a bad riser or slot before it turns into XID errors.",
        ..COUNTER
    },
    GpuMetricDef {
        name: DCGM_GPU_UTIL,
        unit: GpuUnit::Percent,
        help: "GPU utilization (in %).",
        meaning: "Share of time a kernel was running; near 100% whenever vLLM has running requests, so it shows busy, not how full the batch is (see SM and tensor activity).",
        ..GAUGE
    },
    GpuMetricDef {
        name: DCGM_MEM_COPY_UTIL,
        unit: GpuUnit::Percent,
        help: "Memory utilization (in %).",
        meaning: "Share of time device memory was being read or written; high during decode, which streams weights and KV cache every step.",
        ..GAUGE
    },
    GpuMetricDef {
        name: DCGM_XID_ERRORS,
        unit: GpuUnit::Code,
        help: "Value of the last XID error encountered.",
        meaning: "The last driver XID error code (0: none). Codes such as 48, 63, 64, 74, 79, 94, 95 mean memory, NVLink or fallen-off-the-bus faults that crash or hang the engine.",
        ..GAUGE
    },
    GpuMetricDef {
        name: DCGM_FB_FREE,
        unit: GpuUnit::Mebibytes,
        help: "Framebuffer memory free (in MiB).",
        meaning: "Free GPU memory. vLLM claims `--gpu-memory-utilization` of it at start-up for weights and KV cache, so little stays free while it runs.",
        ..GAUGE
    },
    GpuMetricDef {
        name: DCGM_FB_USED,
        unit: GpuUnit::Mebibytes,
        help: "Framebuffer memory used (in MiB).",
        meaning: "Used GPU memory: model weights, activations, CUDA graphs and the KV-cache pool.",
        ..GAUGE
    },
    GpuMetricDef {
        name: DCGM_FB_RESERVED,
        unit: GpuUnit::Mebibytes,
        help: "Framebuffer memory reserved (in MiB).",
        meaning: "Memory the driver reserves for itself; used + free + reserved is the GPU's total.",
        ..GAUGE
    },
    GpuMetricDef {
        name: DCGM_NVLINK_BANDWIDTH_TOTAL,
        help: "Total number of NVLink bandwidth counters for all lanes.",
        meaning: "NVLink traffic over all links; tensor-parallel engines exchange activations over it every layer.",
        ..COUNTER
    },
    GpuMetricDef {
        name: DCGM_UNCORRECTABLE_REMAPPED_ROWS,
        help: "Number of remapped rows for uncorrectable errors",
        meaning: "Memory rows remapped after uncorrectable errors; any increase warrants draining the GPU and resetting it.",
        ..COUNTER
    },
    GpuMetricDef {
        name: DCGM_CORRECTABLE_REMAPPED_ROWS,
        help: "Number of remapped rows for correctable errors",
        meaning: "Memory rows remapped after correctable errors; a slow rise is wear, a fast one a failing GPU.",
        ..COUNTER
    },
    GpuMetricDef {
        name: DCGM_ROW_REMAP_FAILURE,
        help: "Whether remapping of rows has failed",
        meaning: "1 when a row could not be remapped: the GPU needs replacing.",
        ..GAUGE
    },
    GpuMetricDef {
        name: DCGM_GR_ENGINE_ACTIVE,
        help: "Ratio of time the graphics engine is active.",
        meaning: "Share of time any compute or graphics work ran: the profiling counterpart of GPU utilisation.",
        ..PROFILING
    },
    GpuMetricDef {
        name: DCGM_SM_ACTIVE,
        help: "The ratio of cycles an SM has at least 1 warp assigned.",
        meaning: "How much of the GPU's compute units are busy: grows with the batch vLLM runs, unlike GPU utilisation. Commented out in the default list; enable it with a custom counter file.",
        default: false,
        ..PROFILING
    },
    GpuMetricDef {
        name: DCGM_PIPE_TENSOR_ACTIVE,
        help: "Ratio of cycles the tensor (HMMA) pipe is active.",
        meaning: "Tensor-core activity: high in prefill (compute-bound matrix products), lower in decode.",
        ..PROFILING
    },
    GpuMetricDef {
        name: DCGM_DRAM_ACTIVE,
        help: "Ratio of cycles the device memory interface is active sending or receiving data.",
        meaning: "Memory-bandwidth use; decode is memory-bound, so this is the ceiling of token throughput.",
        ..PROFILING
    },
    GpuMetricDef {
        name: DCGM_PCIE_TX_BYTES,
        unit: GpuUnit::BytesPerSecond,
        format: ValueFormat::Integer,
        help: "The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second.",
        meaning: "PCIe traffic out of the GPU: KV-cache offload to CPU memory and sampled tokens back to the host.",
        ..PROFILING
    },
    GpuMetricDef {
        name: DCGM_PCIE_RX_BYTES,
        unit: GpuUnit::BytesPerSecond,
        format: ValueFormat::Integer,
        help: "The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second.",
        meaning: "PCIe traffic into the GPU: model loading, inputs, and KV cache brought back from CPU memory.",
        ..PROFILING
    },
];

/// Look a DCGM exporter metric up by name.
pub fn lookup(name: &str) -> Option<&'static GpuMetricDef> {
    DCGM_METRICS.iter().find(|m| m.name == name)
}

/// Is this a DCGM exporter family name (known to the catalog or not)?
pub fn is_dcgm_name(name: &str) -> bool {
    DCGM_PREFIXES.iter().any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_prefixed_and_never_vllm() {
        let mut seen = HashSet::new();
        for m in DCGM_METRICS {
            assert!(seen.insert(m.name), "{} listed twice", m.name);
            assert!(is_dcgm_name(m.name), "{}", m.name);
            assert!(!m.help.is_empty() && !m.meaning.is_empty(), "{}", m.name);
            assert!(
                super::super::lookup(m.name).is_none(),
                "{} leaked into the vLLM catalog",
                m.name
            );
            // The exporter does not add `_total` to its counters.
            assert!(!m.name.ends_with("_total"), "{}", m.name);
        }
        assert!(super::super::METRICS.iter().all(|m| !is_dcgm_name(m.name)));
    }

    #[test]
    fn the_reference_has_its_own_gpu_section() {
        let md = super::super::markdown();
        let (vllm, gpu) = md
            .split_once("\n## GPU metrics (NVIDIA DCGM exporter)\n")
            .expect("a DCGM section");
        for m in DCGM_METRICS {
            let row = format!("| `{}` |", m.name);
            assert!(gpu.contains(&row), "{} missing", m.name);
            assert!(!vllm.contains(&row), "{} among vLLM's", m.name);
        }
        assert!(gpu.contains("`modelName`") && gpu.contains("`pod`"));
    }

    #[test]
    fn the_fields_llm_serving_needs_are_there_with_their_types() {
        for (name, kind, unit) in [
            (DCGM_GPU_UTIL, Kind::Gauge, GpuUnit::Percent),
            (DCGM_FB_USED, Kind::Gauge, GpuUnit::Mebibytes),
            (DCGM_FB_FREE, Kind::Gauge, GpuUnit::Mebibytes),
            (DCGM_POWER_USAGE, Kind::Gauge, GpuUnit::Watts),
            (DCGM_GPU_TEMP, Kind::Gauge, GpuUnit::Celsius),
            (DCGM_MEMORY_TEMP, Kind::Gauge, GpuUnit::Celsius),
            (DCGM_SM_CLOCK, Kind::Gauge, GpuUnit::Megahertz),
            (DCGM_XID_ERRORS, Kind::Gauge, GpuUnit::Code),
            (DCGM_SM_ACTIVE, Kind::Gauge, GpuUnit::Ratio),
            (DCGM_DRAM_ACTIVE, Kind::Gauge, GpuUnit::Ratio),
            (DCGM_PIPE_TENSOR_ACTIVE, Kind::Gauge, GpuUnit::Ratio),
            (
                DCGM_TOTAL_ENERGY_CONSUMPTION,
                Kind::Counter,
                GpuUnit::Millijoules,
            ),
        ] {
            let m = lookup(name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!((m.kind, m.unit), (kind, unit), "{name}");
        }
        // Only SM activity is outside the default list.
        let extra: Vec<&str> = DCGM_METRICS
            .iter()
            .filter(|m| !m.default)
            .map(|m| m.name)
            .collect();
        assert_eq!(extra, [DCGM_SM_ACTIVE]);
        assert_eq!(
            lookup(DCGM_POWER_USAGE).map(|m| m.format),
            Some(ValueFormat::Decimal)
        );
        assert_eq!(
            lookup(DCGM_GPU_UTIL).map(|m| m.format),
            Some(ValueFormat::Integer)
        );
    }
}
