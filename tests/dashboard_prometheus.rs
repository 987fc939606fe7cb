//! No panel shows "No data" when it should not: every panel query of the
//! generated dashboards (Prometheus flavour), run through a real Prometheus
//! scraping the simulator of each supported vLLM release, returns series
//! (conditional panels where the simulated server has what they read).

mod common {
    pub mod http;
    pub mod prometheus;
}

use common::prometheus::{Job, Prometheus};
use std::collections::HashSet;
use std::time::Duration;
use vllm_grafana::catalog;
use vllm_grafana::dashboard::{self, DatasourceFlavor};
use vllm_grafana::promql::inspect::{self, interpolate};
use vllm_grafana::promql::{MatchOp, Matcher, Scoping, SCRAPE_SERIES};
use vllm_grafana::simulator::{self, SimConfig};

struct Release {
    version: &'static str,
    spec_decode: bool,
    lora: bool,
    kv_offload: bool,
}

impl Release {
    fn all_features(&self) -> bool {
        self.spec_decode && self.lora && self.kv_offload
    }

    /// Sample names the simulator of this release serves (it follows the
    /// catalog), so a conditional query it cannot answer is told apart
    /// from one that should have data.
    fn served(&self) -> HashSet<String> {
        let version: catalog::Version = self.version.parse().expect("version");
        let features = catalog::Features {
            spec_decode: self.spec_decode,
            lora: self.lora,
            kv_offload: self.kv_offload,
            linux: true,
            traffic: true,
            multi_api_server: false,
        };
        catalog::metrics_at(version, catalog::Engine::default_for(version), features)
            .flat_map(|m| m.sample_names())
            .chain(SCRAPE_SERIES.iter().map(|s| s.to_string()))
            .collect()
    }
}

const RELEASES: &[Release] = &[
    Release {
        version: "0.7",
        spec_decode: false,
        lora: false,
        kv_offload: false,
    },
    Release {
        version: "0.11",
        spec_decode: false,
        lora: false,
        kv_offload: false,
    },
    Release {
        version: "0.20",
        spec_decode: false,
        lora: false,
        kv_offload: false,
    },
    Release {
        version: "0.33",
        spec_decode: true,
        lora: true,
        kv_offload: true,
    },
];

/// The namespace label every test target carries.
const NAMESPACE: &str = "inference";

/// Scoping as a Kubernetes deployment configures it: one namespace, pods.
fn kubernetes_scoping(namespace: &str) -> Scoping {
    Scoping {
        extra: vec![Matcher {
            label: "namespace".into(),
            op: MatchOp::Equal,
            value: namespace.into(),
        }],
        instance_label: "pod".into(),
    }
}

fn job_name(version: &str) -> String {
    format!("vllm-{version}")
}

/// Grafana's value for each variable: one job, everything else All, the SLO
/// variables at their defaults, a rate window of several 1 s scrapes.
fn variable(job: &str, d: &serde_json::Value, name: &str) -> Option<String> {
    match name {
        "job" => Some(job.to_string()),
        "instance" | "model_name" | "engine" => Some(".*".to_string()),
        "__rate_interval" | "__interval" => Some("10s".to_string()),
        "__range" => Some("1m".to_string()),
        "__range_s" => Some("60".to_string()),
        other => d["templating"]["list"]
            .as_array()?
            .iter()
            .find(|v| v["name"] == other)
            .and_then(|v| v["current"]["value"].as_str().map(str::to_string)),
    }
}

/// One Prometheus scraping each `(job, target)` every second, after 12 scrapes each.
fn start_prometheus(jobs: &[(String, std::net::SocketAddr)]) -> Prometheus {
    let prom_jobs: Vec<Job<'_>> = jobs
        .iter()
        .map(|(name, addr)| Job {
            name,
            targets: vec![addr.to_string()],
            // What the Prometheus Operator adds; the scoped dashboards select on them.
            labels: vec![
                ("namespace".into(), NAMESPACE.into()),
                ("pod".into(), format!("{name}-0")),
            ],
        })
        .collect();
    tokio::task::block_in_place(|| {
        let prom = Prometheus::start(&prom_jobs, "1s");
        for (name, _) in jobs {
            prom.wait_for_scrapes(name, 1, 12, Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        prom
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_servers_show_values_not_no_data() {
    let captures = [
        (
            "idle-0.11",
            include_str!("fixtures/vllm-metrics/01-v1-0.11-full-hardware-aware-router.txt"),
        ),
        (
            "idle-0.2x",
            include_str!("fixtures/vllm-metrics/02-v1-0.2x-full-vllm-metal-macos.txt"),
        ),
    ];
    let mut jobs = Vec::new();
    for (name, text) in captures {
        jobs.push((
            name.to_string(),
            common::http::fixed("200 OK", "text/plain; version=0.0.4", text).await,
        ));
    }
    let prom = start_prometheus(&jobs);
    let mut failures = Vec::new();
    for (file, board) in dashboard::all(DatasourceFlavor::Prometheus) {
        // The Fleet dashboard reads recording rules this Prometheus lacks.
        if board.uid == dashboard::fleet(dashboard::fleet::Source::Recorded).uid {
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_str(&dashboard::render(&board)).expect("dashboard JSON");
        for (job, _) in &jobs {
            for q in dashboard::panels_queries(&board) {
                if q.conditional.is_some() {
                    continue;
                }
                let expr = interpolate(&q.expr, |v| variable(job, &json, v));
                let answer = tokio::task::block_in_place(|| prom.query(&expr));
                let empty = answer
                    .as_ref()
                    .map(|v| v["result"].as_array().is_none_or(Vec::is_empty))
                    .unwrap_or(true);
                let panel = dashboard::panels(&board).find(|p| p.title == q.panel_title);
                let says_so = panel.is_some_and(|p| p.description.contains("\"No data\""));
                if empty && !says_so {
                    failures.push(format!(
                        "{file} {job}: \"{}\" {}: {expr}",
                        q.panel_title, q.ref_id
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "idle panels reading No data without saying why:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_returns_series_on_every_release() {
    let mut jobs = Vec::new();
    for r in RELEASES {
        let cfg = SimConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            version: r.version.parse().expect("version"),
            models: 2,
            engines: 2,
            spec_decode: r.spec_decode,
            lora: r.lora,
            kv_offload: r.kv_offload,
            requests_per_second: 20.0,
            ..SimConfig::default()
        };
        let server = simulator::bind(cfg).await.expect("bind simulator");
        let addr = server.local_addr();
        tokio::spawn(server.run(std::future::pending()));
        jobs.push((job_name(r.version), addr));
    }
    let prom = start_prometheus(&jobs);
    let mut failures = Vec::new();
    let mut checked = Checked::default();
    for scoping in [Scoping::default(), kubernetes_scoping(NAMESPACE)] {
        let (f, c) = empty_panels(&prom, &scoping);
        failures.extend(f);
        checked.all += c.all;
        checked.conditional += c.conditional;
    }
    let Checked { all, conditional } = checked;
    assert!(all > 1000, "only {all} queries checked");
    // Spec decode, LoRA and offloading panels ran against the simulator.
    assert!(
        conditional > 150,
        "only {conditional} conditional queries checked"
    );
    let checked = all;
    assert!(
        failures.is_empty(),
        "{} of {checked} panel queries show No data:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// How many queries ran, and how many of them belong to conditional panels.
#[derive(Default)]
struct Checked {
    all: usize,
    conditional: usize,
}

/// Panel queries of every dashboard under `scoping` that show "No data"
/// without saying why, and how many queries ran.
fn empty_panels(prom: &Prometheus, scoping: &Scoping) -> (Vec<String>, Checked) {
    let mut failures = Vec::new();
    let mut checked = Checked::default();
    let fleet = dashboard::fleet(dashboard::fleet::Source::Recorded).uid;
    for (file, board) in dashboard::all_scoped(DatasourceFlavor::Prometheus, scoping) {
        // The Fleet dashboard reads recording rules (tests/recording_rules.rs).
        if board.uid == fleet {
            continue;
        }
        let (f, c) = empty_board_panels(prom, scoping, &file, &board);
        failures.extend(f);
        checked.all += c.all;
        checked.conditional += c.conditional;
    }
    (failures, checked)
}

/// [`empty_panels`] of one dashboard.
fn empty_board_panels(
    prom: &Prometheus,
    scoping: &Scoping,
    file: &str,
    board: &dashboard::Dashboard,
) -> (Vec<String>, Checked) {
    let tag = if scoping.is_default() {
        format!(" {file}")
    } else {
        format!(" {file} (scoped)")
    };
    let json: serde_json::Value =
        serde_json::from_str(&dashboard::render(board)).expect("dashboard JSON");
    // A query may come back empty only where its panel's description says
    // when it reads "No data" and a sibling query still draws something.
    let documented = |title: &str| {
        dashboard::panels(board)
            .find(|p| p.title == title)
            .is_some_and(|p| p.description.contains("\"No data\""))
    };
    let mut failures = Vec::new();
    let mut checked = Checked::default();
    for r in RELEASES {
        let job = job_name(r.version);
        let mut empty: Vec<(String, String)> = Vec::new();
        let mut drawn = HashSet::new();
        let served = r.served();
        for q in dashboard::panels_queries(board) {
            let expr = interpolate(&q.expr, |v| variable(&job, &json, v));
            if q.conditional.is_some() {
                // What a release without the feature lacks, or what needs a
                // switch the simulator has no model of (e.g. a NIXL connector).
                let ast = inspect::parse(&q.expr).expect("queries parse");
                if !r.all_features() || !inspect::answerable(&ast, &|n| served.contains(n)) {
                    continue;
                }
            }
            let answer = tokio::task::block_in_place(|| prom.query(&expr));
            checked.all += 1;
            checked.conditional += usize::from(q.conditional.is_some());
            match answer {
                Ok(v) => {
                    if v["result"].as_array().is_none_or(Vec::is_empty) {
                        empty.push((
                            q.panel_title.clone(),
                            format!(
                                "{}{}: \"{}\" {}: no series: {expr}",
                                r.version, tag, q.panel_title, q.ref_id
                            ),
                        ));
                    } else {
                        drawn.insert(q.panel_title.clone());
                    }
                }
                Err(e) => failures.push(format!(
                    "{}{tag}: \"{}\": {e}: {expr}",
                    r.version, q.panel_title
                )),
            }
        }
        for (title, message) in empty {
            if !(documented(&title) && drawn.contains(&title)) {
                failures.push(message);
            }
        }
    }
    (failures, checked)
}

/// A simulated vLLM server with its DCGM exporter (two GPUs per engine),
/// serving `requests_per_second`; the addresses of both.
async fn simulator_with_gpus(
    requests_per_second: f64,
    pod_labels: bool,
) -> (std::net::SocketAddr, std::net::SocketAddr, SimConfig) {
    let cfg = SimConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        models: 1,
        engines: 2,
        requests_per_second,
        gpus_per_engine: 2,
        dcgm_listen: "127.0.0.1:0".parse().expect("addr"),
        dcgm_pod_labels: pod_labels,
        ..SimConfig::default()
    };
    let server = simulator::bind(cfg.clone()).await.expect("bind simulator");
    let addr = server.local_addr();
    let gpus = server.dcgm_addr().expect("the simulated exporter");
    tokio::spawn(server.run(std::future::pending()));
    (addr, gpus, cfg)
}

/// Every query of the GPUs & cost dashboard under `scoping` against `prom`
/// (jobs `vllm` and `dcgm`): the failures, and how many ran.
fn gpu_board_failures(
    prom: &Prometheus,
    scoping: &Scoping,
    deployment_cost: &dashboard::CostConfig,
) -> (Vec<String>, usize) {
    let deployment = dashboard::Deployment {
        scoping: scoping.clone(),
        slo: None,
        cost: deployment_cost.clone(),
    };
    let board = dashboard::all_for(DatasourceFlavor::Prometheus, &deployment)
        .into_iter()
        .map(|(_, d)| d)
        .find(|d| d.uid == dashboard::gpu(DatasourceFlavor::Prometheus).uid)
        .expect("the GPUs & cost dashboard");
    let json: serde_json::Value =
        serde_json::from_str(&dashboard::render(&board)).expect("dashboard JSON");
    let mut failures = Vec::new();
    let mut ran = 0;
    for q in dashboard::panels_queries(&board) {
        let expr = interpolate(&q.expr, |v| variable("vllm", &json, v));
        ran += 1;
        match tokio::task::block_in_place(|| prom.query(&expr)) {
            Ok(v) if v["result"].as_array().is_some_and(|r| !r.is_empty()) => {}
            Ok(_) => failures.push(format!(
                "\"{}\" {}: no series: {expr}",
                q.panel_title, q.ref_id
            )),
            Err(e) => failures.push(format!("\"{}\" {}: {e}: {expr}", q.panel_title, q.ref_id)),
        }
    }
    (failures, ran)
}

/// One Prometheus scraping a vLLM server as `vllm` (with `vllm_labels`) and
/// its DCGM exporter as `dcgm` (honouring the exporter's pod labels), after
/// 12 scrapes of each.
fn start_gpu_prometheus(
    vllm: std::net::SocketAddr,
    dcgm: std::net::SocketAddr,
    vllm_labels: &[(&str, &str)],
) -> Prometheus {
    let labels: Vec<String> = vllm_labels
        .iter()
        .map(|(k, v)| format!("{k}: \"{v}\""))
        .collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: vllm\n    static_configs:\n      - targets: [\"{vllm}\"]\n        labels: {{{}}}\n  - job_name: dcgm\n    honor_labels: true\n    static_configs:\n      - targets: [\"{dcgm}\"]\n",
        labels.join(", ")
    );
    tokio::task::block_in_place(|| {
        let prom = Prometheus::launch(&config, common::prometheus::Data::Fresh, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        for job in ["vllm", "dcgm"] {
            prom.wait_for_scrapes(job, 1, 12, Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        prom
    })
}

/// The GPU rows join the exporter to vLLM by host (both on 127.0.0.1 here),
/// the cost rows count its GPUs: every query of the GPUs & cost dashboard
/// returns series, busy and idle (cost per token then reads "idle", NaN).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpu_and_cost_panels_answer_beside_a_dcgm_exporter() {
    for rps in [20.0, 0.0] {
        let (vllm, gpus, _) = simulator_with_gpus(rps, false).await;
        let prom = start_gpu_prometheus(vllm, gpus, &[]);
        let (failures, ran) = gpu_board_failures(&prom, &Scoping::default(), &Default::default());
        assert!(ran > 25, "only {ran} queries");
        assert!(
            failures.is_empty(),
            "at {rps} requests/s:\n{}",
            failures.join("\n")
        );
        // Four GPUs (two engines, two each) on the server's host, counted
        // for the cost too.
        let gpus_per_server =
            dashboard::panels_queries(&dashboard::gpu(DatasourceFlavor::Prometheus))
                .into_iter()
                .find(|q| q.panel_title == "GPU cost per hour")
                .expect("panel");
        let expr = interpolate(&gpus_per_server.expr, |v| match v {
            "gpu_hour_cost" => Some("2".to_string()),
            // Not used: the exporter counts the GPUs.
            "gpus_per_instance" => Some("100".to_string()),
            other => variable("vllm", &serde_json::Value::Null, other),
        });
        let answer = tokio::task::block_in_place(|| prom.query(&expr)).expect("query");
        let value = answer["result"][0]["value"][1].as_str().unwrap_or_default();
        assert_eq!(value, "8", "4 GPUs at 2 per hour: {answer}");
    }
}

/// On Kubernetes (instance label `pod`), the GPU series carry the pod using
/// them (the exporter's pod mapping) and join on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpu_panels_join_by_pod_on_kubernetes() {
    let (vllm, gpus, cfg) = simulator_with_gpus(20.0, true).await;
    let exporter = simulator::dcgm_snapshot(&cfg, Duration::from_secs(60));
    // The first pod and namespace the exporter names: the vLLM target's.
    let label = |name: &str| {
        exporter
            .split(&format!(",{name}=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no {name} label"))
            .to_string()
    };
    let (pod, namespace) = (label("pod"), label("namespace"));
    let prom = start_gpu_prometheus(vllm, gpus, &[("namespace", &namespace), ("pod", &pod)]);
    let (failures, ran) = gpu_board_failures(
        &prom,
        &kubernetes_scoping(&namespace),
        &dashboard::CostConfig {
            gpu_hour: 3.5,
            gpus_per_instance: 8,
        },
    );
    assert!(ran > 25, "only {ran} queries");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
