//! `vllm-grafana`: the command-line face of the project. Each subcommand is a
//! thin wrapper over the library.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use vllm_grafana::catalog::{self, Version};
use vllm_grafana::{alerts, check, dashboard, generator_config, kubernetes, simulator, targets};

#[derive(Parser)]
#[command(
    name = "vllm-grafana",
    version,
    about = "Monitor vLLM inference servers in Grafana"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve /metrics exactly as a vLLM release would, driven by a load model.
    Simulate {
        /// Address to serve on, host:port (a name such as localhost:8001 is resolved).
        #[arg(long, default_value = "127.0.0.1:8000", value_parser = listen_address)]
        listen: SocketAddr,
        /// Number of served models.
        #[arg(long, default_value_t = 1)]
        models: usize,
        /// Data-parallel engines per model.
        #[arg(long, default_value_t = 1)]
        engines: usize,
        /// vLLM release to imitate, e.g. 0.34, 0.11, 0.7.
        #[arg(long = "vllm-version", default_value = "0.34")]
        vllm_version: Version,
        /// Serve the speculative-decoding metrics (draft and accepted tokens).
        #[arg(long)]
        spec_decode: bool,
        /// Serve the LoRA adapter metrics (running and waiting adapters).
        #[arg(long)]
        lora: bool,
        /// Serve the KV offloading connector's metrics (with a secondary tier).
        #[arg(long)]
        kv_offload: bool,
        /// API server processes; more than one drops python_*, process_* and _created.
        #[arg(long, default_value_t = 1)]
        api_servers: usize,
        /// Average requests per second per model.
        #[arg(long, default_value_t = 4.0)]
        rps: f64,
        /// Seed of the load model's random numbers (the same seed, the same traffic).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulated seconds per wall-clock second (e.g. 60 to see alerts fire within minutes).
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// Also serve NVIDIA DCGM exporter GPU metrics for every engine, on their own address (--dcgm-listen).
        #[arg(long)]
        dcgm: bool,
        /// Address of the simulated DCGM exporter (with --dcgm), host:port.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9400", value_parser = listen_address)]
        dcgm_listen: SocketAddr,
        /// GPUs per engine (tensor-parallel size) the simulated DCGM exporter reports (with --dcgm).
        #[arg(long, value_name = "N", default_value_t = 1)]
        gpus_per_engine: usize,
        /// Label GPU series with the Kubernetes pod using them, as the DCGM exporter's pod mapping does (with --dcgm).
        #[arg(long)]
        dcgm_pod_labels: bool,
    },
    /// Write the Grafana dashboards generated from the catalog.
    Dashboard {
        /// Which datasource the dashboards query.
        #[arg(long, value_enum, default_value = "prometheus")]
        datasource: dashboard::DatasourceFlavor,
        /// Directory to write the dashboard JSON files to.
        #[arg(long, default_value = "dashboards")]
        out: PathBuf,
        /// Generator configuration (YAML): selectors, instance label, alert thresholds,
        /// runbook address, Kubernetes settings; see docs/CONFIG.md.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Only compare the files in --out with the generator's output.
        #[arg(long)]
        check: bool,
    },
    /// Write the alert rules (Prometheus rules, their promtool tests, Grafana-managed rules).
    Alerts {
        /// Repository root to write prometheus/ and provisioning/ under
        /// (default: the current directory, which must be the repository root).
        #[arg(long)]
        root: Option<PathBuf>,
        /// Regex for the job label of the vLLM scrape job
        /// (default: selector.job of --config, else "vllm").
        #[arg(long)]
        job: Option<String>,
        /// Generator configuration (YAML): selectors, instance label, alert thresholds,
        /// runbook address, Kubernetes settings; see docs/CONFIG.md.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Only compare the files with the generator's output.
        #[arg(long)]
        check: bool,
    },
    /// Set the vLLM endpoints the stack monitors (Prometheus's target list and the plugin's direct-mode datasource).
    Config {
        /// Comma-separated endpoints: host:port (http, /metrics) or URLs with scheme and path,
        /// e.g. 10.0.0.5:8000,https://gpu-2:8443/custom/metrics.
        #[arg(long, required = true)]
        targets: String,
        /// Value of the `environment` label on these targets.
        #[arg(long, default_value = "production")]
        environment: String,
        /// Repository root holding prometheus/ and provisioning/
        /// (default: the current directory, which must be the repository root).
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Write the Kubernetes objects (kustomize base and overlays: PodMonitor or ServiceMonitor,
    /// PrometheusRule, dashboards for Grafana's sidecar or grafana-operator, Grafana-managed
    /// alerts, Helm values for the plugin).
    Kubernetes {
        /// Directory to write the kustomize tree to.
        #[arg(long, default_value = vllm_grafana::kubernetes::OUT_DIR)]
        out: PathBuf,
        /// Generator configuration (YAML): selectors, instance label, alert thresholds,
        /// runbook address, Kubernetes settings; see docs/CONFIG.md.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Only compare the files in --out with the generator's output.
        #[arg(long)]
        check: bool,
    },
    /// Print the metric catalog (every vLLM metric and its history).
    Catalog {
        /// Markdown table (as in docs/METRICS.md) instead of JSON.
        #[arg(long)]
        markdown: bool,
        /// JSON of the NVIDIA DCGM exporter's GPU metrics instead of vLLM's.
        #[arg(long, conflicts_with = "markdown")]
        dcgm: bool,
    },
    /// Fetch and diagnose vLLM /metrics endpoints and NVIDIA DCGM exporters (URLs, host:port, or files).
    #[command(
        after_help = "Exit status: 0 when every target is a healthy vLLM endpoint (or DCGM exporter reporting GPUs), 1 when any has a problem, 2 for a usage error."
    )]
    Check {
        /// What to check: http(s) URLs, host:port or host (plain HTTP, port 8000, /metrics),
        /// or saved /metrics files.
        #[arg(required = true)]
        targets: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Per-target timeout in seconds.
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
    },
}

/// The generator configuration, or the defaults without `--config`; a bad
/// file is a usage error (exit status 2).
fn load_config(
    path: Option<&std::path::Path>,
) -> Result<generator_config::GeneratorConfig, ExitCode> {
    match path {
        None => Ok(generator_config::GeneratorConfig::default()),
        Some(path) => generator_config::load(path).map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> ExitCode {
    match command {
        Command::Simulate {
            listen,
            models,
            engines,
            vllm_version,
            spec_decode,
            lora,
            kv_offload,
            api_servers,
            rps,
            seed,
            time_scale,
            dcgm,
            dcgm_listen,
            gpus_per_engine,
            dcgm_pod_labels,
        } => {
            let cfg = simulator::SimConfig {
                listen,
                models,
                engines,
                version: vllm_version,
                spec_decode,
                lora,
                kv_offload,
                api_servers,
                seed,
                requests_per_second: rps,
                time_scale,
                gpus_per_engine: if dcgm { gpus_per_engine } else { 0 },
                dcgm_listen,
                dcgm_pod_labels,
                ..simulator::SimConfig::default()
            };
            if dcgm && gpus_per_engine == 0 {
                eprintln!("error: --gpus-per-engine must be at least 1 with --dcgm");
                return ExitCode::from(2);
            }
            let stop = stop_signal();
            eprintln!("simulating vLLM {vllm_version} on http://{listen}/metrics ({models} model(s), {engines} engine(s))");
            if dcgm {
                eprintln!(
                    "simulating the DCGM exporter on http://{dcgm_listen}/metrics ({} GPU(s))",
                    models * engines * gpus_per_engine
                );
            }
            match simulator::serve(cfg, stop).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(simulator::SimError::InvalidConfig { field, reason }) => {
                    eprintln!("error: {} {reason}", flag_of(field));
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Dashboard {
            datasource,
            out,
            config,
            check,
        } => {
            let cfg = match load_config(config.as_deref()) {
                Ok(cfg) => cfg,
                Err(code) => return code,
            };
            let result = if check {
                dashboard::check_all(&out, datasource, &dashboard::Deployment::of(&cfg.alerts))
                    .map(|()| Vec::new())
            } else {
                dashboard::write_all(&out, datasource, &dashboard::Deployment::of(&cfg.alerts))
            };
            report_written(result)
        }
        Command::Alerts {
            root,
            job,
            config,
            check,
        } => {
            let root = match checkout_root(root) {
                Ok(root) => root,
                Err(code) => return code,
            };
            let mut cfg = match load_config(config.as_deref()) {
                Ok(cfg) => cfg.alerts,
                Err(code) => return code,
            };
            if let Some(job) = job {
                cfg.job_regex = job;
            }
            let result = if check {
                alerts::check_all(&root, &cfg).map(|()| Vec::new())
            } else {
                alerts::write_all(&root, &cfg)
            };
            report_written(result)
        }
        Command::Config {
            targets: list,
            environment,
            root,
        } => {
            let root = match checkout_root(root) {
                Ok(root) => root,
                Err(code) => return code,
            };
            let parsed = match targets::parse_targets(&list) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            for url in &parsed.duplicates {
                eprintln!("note: {url} is listed more than once; it is scraped once");
            }
            let endpoints = parsed.targets;
            for e in endpoints.iter().filter(|e| e.is_loopback()) {
                eprintln!(
                    "note: {} is the Prometheus container itself inside docker compose; \
                     use host.docker.internal:{} for a vLLM server on this machine",
                    e.instance(),
                    e.port()
                );
            }
            eprintln!(
                "{} target(s): Prometheus re-reads its list within 30 s, Grafana's datasources on restart",
                endpoints.len()
            );
            report_written(targets::write_targets(&root, &endpoints, &environment))
        }
        Command::Kubernetes { out, config, check } => {
            let (alerts_cfg, kube) = match load_config(config.as_deref()) {
                Ok(cfg) => (cfg.alerts, cfg.kube),
                Err(code) => return code,
            };
            let result = if check {
                kubernetes::check_all(&out, &alerts_cfg, &kube).map(|()| Vec::new())
            } else {
                kubernetes::write_all(&out, &alerts_cfg, &kube)
            };
            report_written(result)
        }
        Command::Catalog { markdown, dcgm } => {
            if markdown {
                print!("{}", catalog::markdown());
                return ExitCode::SUCCESS;
            }
            let encoded = if dcgm {
                serde_json::to_string_pretty(catalog::dcgm::DCGM_METRICS)
            } else {
                serde_json::to_string_pretty(&*catalog::METRICS)
            };
            match encoded {
                Ok(s) => {
                    println!("{s}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: cannot encode the catalog: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Check {
            targets,
            json,
            timeout,
        } => {
            if !(timeout.is_finite() && timeout > 0.0) {
                eprintln!("error: --timeout must be a positive number of seconds");
                return ExitCode::from(2);
            }
            let reports = check::check_all(&targets, Duration::from_secs_f64(timeout)).await;
            if json {
                match serde_json::to_string_pretty(&reports) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("error: cannot encode the report: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", check::render_text(&reports));
            }
            if reports.iter().all(|r| r.healthy) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// `--listen`: an address, or a name resolved to its first address.
fn listen_address(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    text.to_socket_addrs()
        .map_err(|e| format!("not a host:port this machine can listen on: {e}"))?
        .next()
        .ok_or_else(|| "the name resolves to no address".to_string())
}

/// Ctrl-C (SIGINT), or SIGTERM as `docker compose stop` sends it. The
/// handlers are installed at once, before the future is first awaited.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let streams = signal(SignalKind::terminate()).and_then(|term| {
            let int = signal(SignalKind::interrupt())?;
            Ok((term, int))
        });
        async move {
            match streams {
                Ok((mut term, mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The command-line flag behind a simulator setting, for error messages.
fn flag_of(field: &str) -> String {
    match field {
        "requests_per_second" => "--rps".to_string(),
        "version" => "--vllm-version".to_string(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

/// Where `alerts` and `config` write: `--root`, or the current directory
/// when it is the repository root (it has the stack's docker-compose.yml and
/// prometheus/); anywhere else is refused rather than filled with files.
fn checkout_root(root: Option<PathBuf>) -> Result<PathBuf, ExitCode> {
    let explicit = root.is_some();
    let root = root.unwrap_or_else(|| PathBuf::from("."));
    let shown = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
    let checkout = root.join("docker-compose.yml").is_file() && root.join("prometheus").is_dir();
    if !explicit && !checkout {
        eprintln!(
            "error: {} is not the repository root (no docker-compose.yml and prometheus/ here): run this from the checkout, or pass --root DIR",
            shown.display()
        );
        return Err(ExitCode::from(2));
    }
    eprintln!("writing under {}", shown.display());
    Ok(root)
}

/// Print the files a generator wrote, or its error.
fn report_written<E: std::fmt::Display>(result: Result<Vec<PathBuf>, E>) -> ExitCode {
    match result {
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
