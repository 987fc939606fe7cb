//! A real VictoriaMetrics single-node server (Debian's `victoria-metrics`,
//! or `$VICTORIA_METRICS`) scraping loopback targets, for tests: started on a
//! free loopback port with a temporary scrape config and data directory,
//! killed on drop.

use super::server::{encode, free_port, http_get, scrape_config, Job};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Victoria {
    child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// The binary: `$VICTORIA_METRICS` when set, else Debian's.
pub fn binary() -> PathBuf {
    std::env::var_os("VICTORIA_METRICS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/victoria-metrics"))
}

impl Victoria {
    /// Scrapes `targets` (`host:port`, `/metrics`) in job `job` every
    /// `interval` (e.g. "1s"), with `extra` flags; waits until it is healthy.
    pub fn start(
        job: &str,
        targets: &[String],
        interval: &str,
        extra: &[&str],
    ) -> Result<Victoria, String> {
        let bin = binary();
        if !bin.exists() {
            return Err(format!(
                "{} not found: install Debian's `victoria-metrics` package (.ci/run does) or set VICTORIA_METRICS",
                bin.display()
            ));
        }
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let config = dir.path().join("scrape.yml");
        let jobs = [Job {
            name: job,
            targets: targets.to_vec(),
            labels: Vec::new(),
        }];
        std::fs::write(&config, scrape_config(&jobs, interval))
            .map_err(|e| format!("config: {e}"))?;
        let addr = free_port()?;
        let log = std::fs::File::create(dir.path().join("vm.log")).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut child = Command::new(&bin)
            .arg(format!(
                "-storageDataPath={}",
                dir.path().join("data").display()
            ))
            .arg(format!("-httpListenAddr={addr}"))
            .arg(format!("-promscrape.config={}", config.display()))
            // The shared config has Prometheus-only fields (evaluation_interval).
            .arg("-promscrape.config.strictParse=false")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.path().join("vm.log")).unwrap_or_default();
                return Err(format!("VictoriaMetrics exited: {status}\n{log}"));
            }
            if http_get(addr, "/health").is_ok_and(|b| b.trim() == "OK") {
                return Ok(Victoria { child, addr, dir });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        Err(format!("VictoriaMetrics on {addr} not healthy after 30 s"))
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("vm.log")).unwrap_or_default()
    }

    /// `/api/v1/query` at `time` (Unix seconds): the `data` object.
    pub fn query_at(&self, expr: &str, time: f64) -> Result<serde_json::Value, String> {
        let path = format!("/api/v1/query?query={}&time={time}", encode(expr));
        let body = http_get(self.addr, &path)?;
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        if v["status"] != "success" {
            return Err(body);
        }
        Ok(v["data"].clone())
    }
}

impl Drop for Victoria {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
