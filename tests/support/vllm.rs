//! The project's vLLM simulator on a loopback port, for Prometheus to scrape.

use std::net::SocketAddr;
use tokio::sync::oneshot;
use vllm_grafana::simulator::{self, SimConfig};

pub struct Simulator {
    pub addr: SocketAddr,
    pub models: Vec<String>,
    stop: Option<oneshot::Sender<()>>,
}

impl Simulator {
    /// Serves `models` models with `engines` data-parallel engines each,
    /// on the current tokio runtime.
    pub async fn start(models: usize, engines: usize) -> Result<Simulator, String> {
        let cfg = SimConfig {
            listen: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
            models,
            engines,
            requests_per_second: 20.0,
            ..SimConfig::default()
        };
        let names = simulator::Simulator::new(&cfg)
            .map_err(|e| e.to_string())?
            .model_names();
        let server = simulator::bind(cfg).await.map_err(|e| e.to_string())?;
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Ok(Simulator {
            addr,
            models: names,
            stop: Some(stop),
        })
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Simulated history for backfilling Prometheus: `span` of scrapes, one
/// every `every`, ending at `end_ms` (Unix ms), as OpenMetrics text for
/// `promtool tsdb create-blocks-from openmetrics`. Samples carry the
/// `instance` and `job` labels a scrape would add; HELP/TYPE lines are
/// dropped (the samples are imported untyped, which PromQL does not mind).
pub fn history_openmetrics(
    models: usize,
    engines: usize,
    end_ms: i64,
    span: std::time::Duration,
    every: std::time::Duration,
    instance: &str,
    job: &str,
) -> Result<String, String> {
    let cfg = SimConfig {
        models,
        engines,
        requests_per_second: 20.0,
        ..SimConfig::default()
    };
    let start_ms = end_ms - span.as_millis() as i64;
    let start = std::time::UNIX_EPOCH + std::time::Duration::from_millis(start_ms.max(0) as u64);
    let mut sim = simulator::Simulator::new(&cfg)
        .map_err(|e| e.to_string())?
        .with_start_time(start);
    let target = format!("instance=\"{instance}\",job=\"{job}\"");
    let mut out = String::new();
    let scrapes = (span.as_millis() / every.as_millis().max(1)) as i64;
    for i in 1..=scrapes {
        sim.advance(every);
        let t_ms = start_ms + i * every.as_millis() as i64;
        let ts = format!("{}.{:03}", t_ms / 1000, t_ms % 1000);
        for line in sim.render().lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (series, value) = match line.rsplit_once(' ') {
                Some(parts) => parts,
                None => continue,
            };
            let series = match series.split_once('{') {
                Some((name, labels)) => format!("{name}{{{target},{labels}"),
                None => format!("{series}{{{target}}}"),
            };
            out.push_str(&format!("{series} {value} {ts}\n"));
        }
    }
    out.push_str("# EOF\n");
    Ok(out)
}
