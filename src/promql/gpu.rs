//! GPU series of NVIDIA's DCGM exporter matched to the vLLM servers using
//! those GPUs.
//!
//! The exporter is a scrape target of its own (one per node), so its series
//! share neither `job` nor `instance` with vLLM's. Two ways to match them:
//!
//! * [`GpuJoin::Host`] (the default): the host part of vLLM's `instance`
//!   (`gpu-node-01:8000` → `gpu-node-01`, `[::1]:8000` → `[::1]`) equals a
//!   name the exporter's GPUs are known by: the host part of the exporter's
//!   own `instance` (it runs beside vLLM, scraped under the same address
//!   form), or its `Hostname` label (`hostname` in newer exporters). Each
//!   GPU series is copied under each of those names with `label_replace`
//!   and kept where a selected vLLM server runs on that host (`and on
//!   (host)`), so neither side needs to be unique per host and several
//!   servers on one node do not make the match fail. A node's GPUs are
//!   shared by all vLLM servers on it; the host cannot tell which server
//!   uses which GPU.
//! * [`GpuJoin::InstanceLabel`]: the GPU series carry the label that
//!   identifies a vLLM server themselves: on Kubernetes, the exporter's pod
//!   mapping labels each GPU with the `pod` using it, and a deployment whose
//!   `instance_label` is `pod` joins on it exactly. The builders write
//!   `instance` and [`super::Scoping`] renames it.
//!
//! Every query here is empty, not an error, without an exporter.

use super::{aggregate, count, label_replace, max, vector, Expr, Many, Scoping, Selector};
use crate::catalog::dcgm::labels as dcgm;
use crate::catalog::names;

/// The label the host of a series is written to.
pub const HOST: &str = "host";
/// The label of a GPU's index on its node.
pub const GPU: &str = dcgm::GPU;
/// The host part of a scrape address (`host:port`, `[v6]:port`, or a bare
/// host); Prometheus anchors the regex.
const HOST_OF_ADDRESS: &str = "(.*?)(?::[0-9]+)?";
/// A non-empty label value, whole.
const WHOLE: &str = "(.+)";
/// The series whose label values name the selected vLLM servers: every
/// release has it, with `model_name` and `engine`.
const SERVERS: &str = names::NUM_REQUESTS_RUNNING;

/// How GPU series find their vLLM server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GpuJoin {
    /// By host: vLLM's scrape address against the exporter's address or
    /// `Hostname`.
    #[default]
    Host,
    /// By the deployment's instance label, which the GPU series carry
    /// (the exporter's Kubernetes pod mapping: `pod`).
    InstanceLabel,
}

impl GpuJoin {
    /// By host unless the deployment names servers by another label.
    pub fn for_scoping(scoping: &Scoping) -> GpuJoin {
        if scoping.instance_label == super::labels::INSTANCE {
            GpuJoin::Host
        } else {
            GpuJoin::InstanceLabel
        }
    }

    /// The label the per-GPU series are keyed by, beside `gpu`.
    pub fn key(self) -> &'static str {
        match self {
            GpuJoin::Host => HOST,
            GpuJoin::InstanceLabel => super::labels::INSTANCE,
        }
    }

    /// A DCGM exporter series. Not scoped by `job` or `instance` (they are
    /// the exporter's); joined by pod, only GPUs some pod uses.
    pub fn gpu_selector(self, name: &str) -> Selector {
        match self {
            GpuJoin::Host => Selector::bare(name),
            GpuJoin::InstanceLabel => Selector::bare(name).ne(super::labels::INSTANCE, ""),
        }
    }

    /// The selected vLLM servers: one series (value 1) per join key.
    pub fn servers(self) -> Expr {
        match self {
            GpuJoin::Host => aggregate("group", &[HOST], vllm_hosts()),
            GpuJoin::InstanceLabel => aggregate(
                "group",
                &[super::labels::INSTANCE],
                Expr::select(&Selector::standard(SERVERS)),
            ),
        }
    }

    /// `gpu_values` (an expression over DCGM series, with their labels)
    /// for the GPUs of the selected vLLM servers: one series per key and
    /// `gpu`.
    pub fn per_gpu(self, gpu_values: Expr) -> Expr {
        let key = self.key();
        max(&[key, GPU], self.on_servers(gpu_values))
    }

    /// The GPUs of the selected servers in `gpu_values`, keyed, all labels kept.
    fn on_servers(self, gpu_values: Expr) -> Expr {
        let key = self.key();
        match self {
            GpuJoin::Host => gpu_hosts(gpu_values).and_on(&[key], self.servers()),
            GpuJoin::InstanceLabel => gpu_values.and_on(&[key], self.servers()),
        }
    }

    /// How many GPUs the selected servers' nodes (or pods) report; 0
    /// without an exporter.
    pub fn gpu_count(self) -> Expr {
        count(
            &[],
            self.per_gpu(Expr::select(&self.gpu_selector(names::DCGM_GPU_UTIL))),
        )
        .or(vector(0.0))
    }

    /// GPUs per vLLM server, one series per `instance`: counted by the
    /// exporter where there is one (a node's GPUs split evenly among the
    /// vLLM servers on it; a pod's own GPUs), else `fallback` (a number,
    /// e.g. a dashboard variable) for every server.
    pub fn gpus_per_server(self, fallback: Expr) -> Expr {
        let instance = super::labels::INSTANCE;
        let gpus = Expr::select(&self.gpu_selector(names::DCGM_GPU_UTIL));
        let counted = match self {
            GpuJoin::Host => {
                let gpus_of_host = count(&[HOST], gpu_hosts(gpus));
                let servers_of_host =
                    count(&[HOST], aggregate("group", &[HOST, instance], vllm_hosts()));
                max(
                    &[instance],
                    aggregate("group", &[instance, HOST], vllm_hosts()).mul_on(
                        &[HOST],
                        Many::Left,
                        gpus_of_host / servers_of_host,
                    ),
                )
            }
            GpuJoin::InstanceLabel => count(&[instance], self.on_servers(gpus)),
        };
        let every_server = aggregate(
            "group",
            &[instance],
            Expr::select(&Selector::standard(SERVERS)),
        );
        counted.or(every_server * fallback)
    }
}

/// The selected vLLM servers' series with the host of their address.
fn vllm_hosts() -> Expr {
    label_replace(
        Expr::select(&Selector::standard(SERVERS)),
        HOST,
        "$1",
        super::labels::INSTANCE,
        HOST_OF_ADDRESS,
    )
}

/// GPU series under every host name they are known by: the host of the
/// exporter's address, `Hostname`, `hostname`. Copies whose names agree
/// are one series; a label that is absent leaves a copy without `host`,
/// which matches no server.
fn gpu_hosts(e: Expr) -> Expr {
    label_replace(
        e.clone(),
        HOST,
        "$1",
        super::labels::INSTANCE,
        HOST_OF_ADDRESS,
    )
    .or(label_replace(e.clone(), HOST, "$1", dcgm::HOSTNAME, WHOLE))
    .or(label_replace(e, HOST, "$1", dcgm::HOSTNAME_NEW, WHOLE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_join_derives_the_host_on_both_sides() {
        let q = GpuJoin::Host
            .per_gpu(Expr::select(
                &GpuJoin::Host.gpu_selector(names::DCGM_GPU_UTIL),
            ))
            .to_string();
        assert!(q.starts_with("max by (host, gpu) ((label_replace(DCGM_FI_DEV_GPU_UTIL, \"host\", \"$1\", \"instance\""), "{q}");
        assert!(q.contains("\"Hostname\", \"(.+)\")"), "{q}");
        assert!(q.contains("\"hostname\", \"(.+)\")"), "{q}");
        assert!(q.contains(" and on (host) group by (host) (label_replace(vllm:num_requests_running{job=~\"$job\", instance=~\"$instance\""), "{q}");
        promql_parser::parser::parse(&super::super::inspect::interpolate(&q, |n| {
            (!n.starts_with(|c: char| c.is_ascii_digit())).then(|| ".*".to_string())
        }))
        .expect("parses");
    }

    #[test]
    fn pod_join_is_written_on_instance_and_renamed_by_the_scoping() {
        let scoping = Scoping {
            extra: Vec::new(),
            instance_label: "pod".into(),
        };
        let join = GpuJoin::for_scoping(&scoping);
        assert_eq!(join, GpuJoin::InstanceLabel);
        let q = scoping.expr(
            join.per_gpu(Expr::select(&join.gpu_selector(names::DCGM_GPU_UTIL)))
                .as_str(),
        );
        assert_eq!(
            q,
            "max by (pod, gpu) (DCGM_FI_DEV_GPU_UTIL{pod!=\"\"} and on (pod) group by (pod) (vllm:num_requests_running{job=~\"$job\", pod=~\"$instance\", model_name=~\"$model_name\", engine=~\"$engine\"}))"
        );
        assert_eq!(GpuJoin::for_scoping(&Scoping::default()), GpuJoin::Host);
    }
}
