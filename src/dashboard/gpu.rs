//! "vLLM / GPUs & cost": the GPUs under the selected vLLM servers, read from
//! NVIDIA's DCGM exporter and matched to the servers by host or by pod
//! ([`GpuJoin`]), and what serving costs: per million generated and
//! prompt tokens, per model and per server, and the GPU time spent idle.
//!
//! Without an exporter the GPU panels say "No data" and why; the cost
//! panels count `$gpus_per_instance` GPUs per server instead.

use super::build::{units, PanelSpec};
use super::kit::{self, meaning, s};
use super::layout::Layout;
use super::model::Dashboard;
use super::variables::{textbox, GPUS_PER_INSTANCE, GPU_HOUR_COST};
use crate::catalog::dcgm;
use crate::catalog::names::*;
use crate::promql::gpu::GpuJoin;
use crate::promql::{
    aggregate, count, max, over_time, over_time_of, sum, sum_rate, vector, Cmp, Expr, Many,
    Selector,
};
use serde::Deserialize;

/// What serving costs, from the generator configuration's `cost:` section.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostConfig {
    /// The price of one GPU-hour, the `$gpu_hour_cost` default. With 1, the
    /// cost panels read in GPU-hours.
    pub gpu_hour: f64,
    /// GPUs per vLLM server where no DCGM exporter counts them, the
    /// `$gpus_per_instance` default.
    pub gpus_per_instance: u32,
}

impl Default for CostConfig {
    fn default() -> Self {
        CostConfig {
            gpu_hour: 1.0,
            gpus_per_instance: 1,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CostError {
    #[error("gpu_hour must be a positive finite number, not {0}")]
    Price(f64),
    #[error("gpus_per_instance must be at least 1")]
    NoGpus,
}

impl CostConfig {
    pub fn validate(&self) -> Result<(), CostError> {
        if !(self.gpu_hour.is_finite() && self.gpu_hour > 0.0) {
            return Err(CostError::Price(self.gpu_hour));
        }
        if self.gpus_per_instance == 0 {
            return Err(CostError::NoGpus);
        }
        Ok(())
    }
}

const INSTANCE: &str = "instance";
const BY_SERVER: &[&str] = &["instance", "model_name"];
const BY_MODEL: &[&str] = &["model_name"];
/// The condition of the GPU panels.
const EXPORTER: &str = "the DCGM exporter";
const SM_ACTIVITY: &str = "the DCGM exporter with DCGM_FI_PROF_SM_ACTIVE";

/// How a panel reading the exporter says when it is empty.
const NO_EXPORTER: &str = "\"No data\" without a DCGM exporter on the selected servers' nodes (see Servers without GPU metrics).";

pub(super) fn dashboard(
    datasource_type: &str,
    uid: &str,
    title: &str,
    join: GpuJoin,
    cost: &CostConfig,
) -> Dashboard {
    let mut l = kit::layout(datasource_type);
    gpus(&mut l, join);
    costs(&mut l, join);
    let mut about = "The GPUs under the selected vLLM servers (NVIDIA DCGM exporter, matched by host or by pod) and what serving costs per million tokens, per model and per server, including GPU time spent idle.".to_string();
    if datasource_type == super::PROMETHEUS_ID {
        about.push_str(" Ad-hoc filters apply to the exporter's series too: filter on labels both carry (namespace, cluster).");
    }
    let mut d = kit::shell(datasource_type, uid, title, &about, l.finish());
    d.templating.list.push(textbox(
        GPU_HOUR_COST,
        "GPU-hour price",
        "The price of one GPU-hour, in the currency the cost panels show. With 1, costs read in GPU-hours.",
        &number(cost.gpu_hour),
    ));
    d.templating.list.push(textbox(
        GPUS_PER_INSTANCE,
        "GPUs per server",
        "GPUs of one vLLM server where no DCGM exporter reports them (its tensor- times pipeline-parallel size).",
        &cost.gpus_per_instance.to_string(),
    ));
    d
}

/// A number as a variable value: `2`, `2.5`.
fn number(v: f64) -> String {
    format!("{v}")
}

fn gpu(join: GpuJoin, name: &str) -> Expr {
    Expr::select(&join.gpu_selector(name))
}

fn legend(join: GpuJoin) -> String {
    format!("{{{{{}}}}} GPU {{{{gpu}}}}", join.key())
}

fn gpu_meaning(name: &str) -> &'static str {
    dcgm::lookup(name).map_or("", |m| m.meaning)
}

/// How a GPU finds its vLLM server, for the descriptions.
fn join_note(join: GpuJoin) -> &'static str {
    match join {
        GpuJoin::Host => "GPUs are matched to the selected vLLM servers by host: the host of a server's address against the exporter's address or its Hostname label; all GPUs of a node count for every server on it.",
        GpuJoin::InstanceLabel => "GPUs are matched to the selected vLLM servers by the pod using them (the exporter's Kubernetes pod mapping, scraped with honorLabels).",
    }
}

/// Used framebuffer as a share of what the driver leaves usable (used + free).
fn fb_used_share(join: GpuJoin) -> Expr {
    gpu(join, DCGM_FB_USED) / (gpu(join, DCGM_FB_USED) + gpu(join, DCGM_FB_FREE))
}

fn gpus(l: &mut Layout, join: GpuJoin) {
    l.row("GPUs", false);
    let note = join_note(join);
    l.add(
        PanelSpec::stat("GPUs")
            .about(&format!(
                "GPUs reported by the DCGM exporter for the selected vLLM servers. 0 means no exporter reports their nodes: deploy NVIDIA's dcgm-exporter (port 9400) beside vLLM and scrape it. {note}"
            ))
            .query(join.gpu_count(), "GPUs")
            .unit(units::COUNT)
            .decimals(0),
    );
    let servers = join.servers();
    let with_gpus = join.per_gpu(gpu(join, DCGM_GPU_UTIL));
    l.add(
        PanelSpec::stat("Servers without GPU metrics")
            .about(&format!(
                "Selected vLLM servers (by {}) for which no GPU series matches. Above zero: the exporter is not scraped there, or its host or pod labels do not match the server's. {note}",
                join.key()
            ))
            .query(
                count(&[], servers.unless_on(&[join.key()], with_gpus)).or(vector(0.0)),
                "unmatched",
            )
            .unit(units::COUNT)
            .decimals(0)
            .red_from(1.0),
    );
    l.add(
        PanelSpec::stat("Busiest GPU")
            .about(&format!(
                "The highest GPU utilisation among the selected servers' GPUs. {} {NO_EXPORTER}",
                gpu_meaning(DCGM_GPU_UTIL)
            ))
            .query(
                max(&[], join.per_gpu(gpu(join, DCGM_GPU_UTIL))),
                "utilisation",
            )
            .unit(dcgm_unit(DCGM_GPU_UTIL))
            .range(0.0, 100.0)
            .conditional(EXPORTER),
    );
    l.add(
        PanelSpec::stat("Fullest framebuffer")
            .about(&format!(
                "The highest share of usable GPU memory in use. vLLM takes --gpu-memory-utilization (0.9 by default) of each GPU at start-up for weights and the KV-cache pool, so about 90% is normal; from 98% another allocation fails with CUDA out of memory (alert VllmGpuMemoryNearlyFull). {NO_EXPORTER}"
            ))
            .query(max(&[], join.per_gpu(fb_used_share(join))), "used")
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .warn_at(0.95, 0.98)
            .conditional(EXPORTER),
    );
    l.add(
        PanelSpec::stat("Hottest GPU")
            .about(&format!(
                "{} Above 85 °C for 10 minutes the alert VllmGpuTemperatureHigh fires. {NO_EXPORTER}",
                gpu_meaning(DCGM_GPU_TEMP)
            ))
            .query(
                max(&[], join.per_gpu(gpu(join, DCGM_GPU_TEMP))),
                "temperature",
            )
            .unit(dcgm_unit(DCGM_GPU_TEMP))
            .warn_at(80.0, 85.0)
            .conditional(EXPORTER),
    );
    l.add(
        PanelSpec::stat("Power draw")
            .about(&format!(
                "Board power of all the selected servers' GPUs together. {} {NO_EXPORTER}",
                gpu_meaning(DCGM_POWER_USAGE)
            ))
            .query(sum(&[], join.per_gpu(gpu(join, DCGM_POWER_USAGE))), "power")
            .unit(dcgm_unit(DCGM_POWER_USAGE))
            .conditional(EXPORTER),
    );

    let per_gpu = |title: &str, about: String, name: &'static str| {
        PanelSpec::timeseries(title, 12)
            .about(&format!("{about} {note} {NO_EXPORTER}"))
            .query(join.per_gpu(gpu(join, name)), &legend(join))
            .unit(dcgm_unit(name))
            .conditional(EXPORTER)
    };
    l.add(
        per_gpu(
            "GPU utilisation",
            format!(
                "{} Low while requests wait means the bottleneck is elsewhere (CPU, tokenisation, network).",
                gpu_meaning(DCGM_GPU_UTIL)
            ),
            DCGM_GPU_UTIL,
        )
        .range(0.0, 100.0),
    );
    l.add(
        PanelSpec::timeseries("SM active", 12)
            .about(&format!(
                "{} Needs DCGM_FI_PROF_SM_ACTIVE in the exporter's counter file (datacenter GPUs): \"No data\" without it. {note}",
                gpu_meaning(DCGM_SM_ACTIVE)
            ))
            .query(join.per_gpu(gpu(join, DCGM_SM_ACTIVE)), &legend(join))
            .unit(dcgm_unit(DCGM_SM_ACTIVE))
            .range(0.0, 1.0)
            .conditional(SM_ACTIVITY),
    );
    l.add(
        PanelSpec::timeseries("Framebuffer used", 12)
            .about(&format!(
                "Used GPU memory as a share of used + free (the driver's reserved share is never usable). About --gpu-memory-utilization (0.9) is vLLM's normal state; from 98% the next allocation (a larger batch, CUDA graphs, another process) fails. {note} {NO_EXPORTER}"
            ))
            .query(join.per_gpu(fb_used_share(join)), &legend(join))
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .warn_at(0.95, 0.98)
            .conditional(EXPORTER),
    );
    l.add(per_gpu(
        "Framebuffer free",
        format!(
            "{} A few GiB per GPU is vLLM's headroom for activations; near zero, raise nothing further and look for other processes on the GPU.",
            gpu_meaning(DCGM_FB_FREE)
        ),
        DCGM_FB_FREE,
    ));
    l.add(per_gpu(
        "Power",
        gpu_meaning(DCGM_POWER_USAGE).to_string(),
        DCGM_POWER_USAGE,
    ));
    l.add(
        PanelSpec::timeseries("Temperature", 12)
            .about(&format!(
                "{} {} {note} {NO_EXPORTER}",
                gpu_meaning(DCGM_GPU_TEMP),
                gpu_meaning(DCGM_MEMORY_TEMP)
            ))
            .query(
                join.per_gpu(gpu(join, DCGM_GPU_TEMP)),
                &format!("{} die", legend(join)),
            )
            .query(
                join.per_gpu(gpu(join, DCGM_MEMORY_TEMP)),
                &format!("{} memory", legend(join)),
            )
            .unit(dcgm_unit(DCGM_GPU_TEMP))
            .warn_at(80.0, 85.0)
            .conditional(EXPORTER),
    );
    l.add(
        per_gpu(
            "SM clock",
            format!(
                "{} Falling under load while temperature or power is at its limit is throttling.",
                gpu_meaning(DCGM_SM_CLOCK)
            ),
            DCGM_SM_CLOCK,
        )
        .axis_label("MHz"),
    );
    l.add(per_gpu(
        "Memory bandwidth",
        gpu_meaning(DCGM_MEM_COPY_UTIL).to_string(),
        DCGM_MEM_COPY_UTIL,
    ));
    let now = |name: &str| join.per_gpu(gpu(join, name));
    l.add(
        PanelSpec::table("GPU table", 24)
            .about(&format!(
                "One line per GPU of the selected servers, current values. Sort by a column to find the hottest or fullest GPU; one GPU far from its neighbours of the same server points at that GPU (throttling, another process). {note} {NO_EXPORTER}"
            ))
            .column("Utilisation", now(DCGM_GPU_UTIL), Some(dcgm_unit(DCGM_GPU_UTIL)), &[])
            .column(
                "Framebuffer used",
                join.per_gpu(fb_used_share(join)),
                Some(units::RATIO),
                &[(0.95, "orange"), (0.98, "red")],
            )
            .column("Free", now(DCGM_FB_FREE), Some(dcgm_unit(DCGM_FB_FREE)), &[])
            .column(
                "Temperature",
                now(DCGM_GPU_TEMP),
                Some(dcgm_unit(DCGM_GPU_TEMP)),
                &[(80.0, "orange"), (85.0, "red")],
            )
            .column("Power", now(DCGM_POWER_USAGE), Some(dcgm_unit(DCGM_POWER_USAGE)), &[])
            .column("SM clock", now(DCGM_SM_CLOCK), None, &[])
            .unit(units::COUNT)
            .sort_by("Temperature", true)
            .conditional(EXPORTER),
    );
}

fn dcgm_unit(name: &str) -> &'static str {
    dcgm::lookup(name).map_or(units::COUNT, |m| m.unit.grafana())
}

/// The dashboard's price of a GPU-hour.
fn price() -> Expr {
    Expr::parenthesised(&format!("${GPU_HOUR_COST}"))
}

/// GPUs per server (`instance`).
fn gpus_per_server(join: GpuJoin) -> Expr {
    join.gpus_per_server(Expr::parenthesised(&format!("${GPUS_PER_INSTANCE}")))
}

/// The average of `e` over the dashboard's time range, at Grafana's step.
fn over_range(e: Expr) -> Expr {
    over_time_of("avg_over_time", e, "$__range", "$__interval")
}

/// The length of the dashboard's time range in seconds.
fn range_seconds() -> Expr {
    Expr::parenthesised("$__range_s")
}

/// What each server costs per second, one series per `instance`.
fn cost_per_second(join: GpuJoin) -> Expr {
    gpus_per_server(join) * price() / Expr::num(3600.0)
}

/// 1 for servers that ran no request during the whole rate window, else 0.
fn idle() -> Expr {
    max(
        &[INSTANCE],
        over_time("max_over_time", &s(NUM_REQUESTS_RUNNING)),
    )
    .cmp_bool(Cmp::Eq, Expr::num(0.0))
}

/// What each server costs per second, one series per `instance` and
/// `model_name` (a vLLM server serves one model).
fn cost_per_second_by_server(join: GpuJoin) -> Expr {
    let models = aggregate(
        "group",
        BY_SERVER,
        Expr::select(&Selector::standard(NUM_REQUESTS_RUNNING)),
    );
    cost_per_second(join).mul_on(&[INSTANCE], Many::Right, models)
}

/// Cost of a million tokens of `counter` grouped by `by` (a subset of
/// instance, model_name): the GPU time of the servers over the tokens they
/// produced. NaN ("idle") when no token was produced: the cost is then the
/// idle cost below.
fn per_million(join: GpuJoin, counter: &'static str, by: &[&str]) -> Expr {
    let tokens = || sum_rate(&s(counter), by);
    tokens().cmp_bool(Cmp::Gt, Expr::num(0.0))
        * sum(by, cost_per_second_by_server(join))
        * Expr::num(1e6)
        / tokens()
}

fn costs(l: &mut Layout, join: GpuJoin) {
    l.row("Cost", false);
    let gpus_note = match join {
        GpuJoin::Host => "GPUs per server come from the DCGM exporter (a node's GPUs split evenly among the vLLM servers on it) or, without one, from $gpus_per_instance.",
        GpuJoin::InstanceLabel => "GPUs per server come from the DCGM exporter (the GPUs of the server's pod) or, without one, from $gpus_per_instance.",
    };
    let price_note = "Prices are $gpu_hour_cost per GPU-hour (with 1, they read in GPU-hours).";
    l.add(
        PanelSpec::stat("Cost per hour")
            .about(&format!(
                "What the selected vLLM servers' GPUs cost per hour, busy or not. {gpus_note} {price_note}"
            ))
            .query(sum(&[], gpus_per_server(join) * price()), "per hour")
            .unit(units::COUNT)
            .decimals(2),
    );
    l.add(
        PanelSpec::stat("Cost over the range")
            .about(&format!(
                "What the selected servers' GPUs cost over the dashboard's time range: the average cost per second over the range times its length. {gpus_note} {price_note}"
            ))
            .query(
                over_range(sum(&[], cost_per_second(join))) * range_seconds(),
                "range",
            )
            .unit(units::COUNT)
            .decimals(2),
    );
    let idle_gpus = || sum(&[], gpus_per_server(join) * idle());
    l.add(
        PanelSpec::stat("Idle GPUs")
            .about(&format!(
                "GPUs of servers that ran no request during the whole rate window: paid for and unused. Many idle GPUs for long: scale down or consolidate models. {gpus_note}"
            ))
            .query(idle_gpus(), "idle")
            .unit(units::COUNT)
            .decimals(0),
    );
    l.add(
        PanelSpec::stat("Idle GPU-hours")
            .about(&format!(
                "GPU-hours over the dashboard's time range in which the GPUs' server had no running request: the average number of idle GPUs over the range times its length. Times $gpu_hour_cost it is the idle cost. {gpus_note}"
            ))
            .query(
                over_range(idle_gpus()) * range_seconds() / Expr::num(3600.0),
                "idle",
            )
            .unit(units::COUNT)
            .decimals(1),
    );
    l.add(
        PanelSpec::stat("Idle cost over the range")
            .about(&format!(
                "Idle GPU-hours times the GPU-hour price: what the range's idle GPU time cost. {price_note}"
            ))
            .query(
                over_range(idle_gpus()) * range_seconds() / Expr::num(3600.0) * price(),
                "idle",
            )
            .unit(units::COUNT)
            .decimals(2),
    );
    l.add(
        PanelSpec::stat("Idle share")
            .about(&format!(
                "Share of the selected servers' GPUs idle now (no running request during the rate window). {gpus_note}"
            ))
            .query(idle_gpus() / sum(&[], gpus_per_server(join)), "idle")
            .unit(units::RATIO)
            .warn_at(0.25, 0.5)
            .idle_is_nan(),
    );
    let tokens_note = "Each panel charges the servers' whole GPU time to one kind of token, so generation and prompt costs are two views of the same spend, not parts of it. Reads \"idle\" while no token of the kind is produced (the GPU time is then idle cost).";
    for (kind, counter) in [("Generation", GENERATION_TOKENS), ("Prompt", PROMPT_TOKENS)] {
        l.add(
            PanelSpec::timeseries(&format!("{kind} cost per 1M tokens by model"), 12)
                .about(&format!(
                    "{} What a million of them cost per model: the GPU time of the servers serving it over the tokens they produced. {tokens_note} {gpus_note} {price_note}",
                    meaning(counter)
                ))
                .query(per_million(join, counter, BY_MODEL), "{{model_name}}")
                .unit(units::COUNT)
                .decimals(3)
                .idle_is_nan(),
        );
        l.add(
            PanelSpec::timeseries(&format!("{kind} cost per 1M tokens by server"), 12)
                .about(&format!(
                    "The same per vLLM server: a server far above the others of its model is under-used or slower (see the Overview's engine table). {tokens_note} {gpus_note} {price_note}"
                ))
                .query(
                    per_million(join, counter, BY_SERVER),
                    "{{instance}} {{model_name}}",
                )
                .unit(units::COUNT)
                .decimals(3)
                .idle_is_nan(),
        );
    }
    l.add(
        PanelSpec::timeseries("GPU cost per hour", 24)
            .about(&format!(
                "Per vLLM server: what its GPUs cost per hour, and the part spent while it ran no request (idle). {gpus_note} {price_note}"
            ))
            .query(gpus_per_server(join) * price(), "{{instance}}")
            .query(
                gpus_per_server(join) * idle() * price(),
                "{{instance}} idle",
            )
            .unit(units::COUNT)
            .decimals(2),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_config_is_checked() {
        assert_eq!(CostConfig::default().validate(), Ok(()));
        let bad = CostConfig {
            gpu_hour: f64::NAN,
            ..CostConfig::default()
        };
        assert!(matches!(bad.validate(), Err(CostError::Price(_))));
        let none = CostConfig {
            gpus_per_instance: 0,
            ..CostConfig::default()
        };
        assert_eq!(none.validate(), Err(CostError::NoGpus));
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(1.0), "1");
    }

    #[test]
    fn costs_are_nan_when_idle_not_infinite() {
        let q = per_million(GpuJoin::Host, GENERATION_TOKENS, BY_MODEL).to_string();
        assert!(
            q.starts_with("(sum by (model_name) (rate(vllm:generation_tokens_total"),
            "{q}"
        );
        assert!(q.contains(" > bool 0) * sum by (model_name) ("), "{q}");
    }
}
