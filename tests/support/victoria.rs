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
        let mut scrape = Vec::new();
        if !targets.is_empty() {
            let config = dir.path().join("scrape.yml");
            let jobs = [Job {
                name: job,
                targets: targets.to_vec(),
                labels: Vec::new(),
            }];
            std::fs::write(&config, scrape_config(&jobs, interval))
                .map_err(|e| format!("config: {e}"))?;
            scrape.push(format!("-promscrape.config={}", config.display()));
            // The shared config has Prometheus-only fields (evaluation_interval).
            scrape.push("-promscrape.config.strictParse=false".to_string());
        }
        let addr = free_port()?;
        let log = std::fs::File::create(dir.path().join("vm.log")).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut child = Command::new(&bin)
            .arg(format!(
                "-storageDataPath={}",
                dir.path().join("data").display()
            ))
            .arg(format!("-httpListenAddr={addr}"))
            .args(&scrape)
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

    /// Imports samples in the text format with millisecond timestamps
    /// (`/api/v1/import/prometheus`) and makes them searchable at once.
    pub fn import(&self, text: &str) -> Result<(), String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect_timeout(&self.addr, Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
        let head = format!(
            "POST /api/v1/import/prometheus HTTP/1.0\r\nHost: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            text.len()
        );
        s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
        s.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
        match answer.split_once(' ').map(|(_, rest)| rest) {
            Some(rest) if rest.starts_with("204") || rest.starts_with("200") => {}
            _ => return Err(format!("import refused: {answer}")),
        }
        http_get(self.addr, "/internal/force_flush").map(|_| ())
    }

    /// Imports an OpenMetrics file (promtool's input, e.g. written by
    /// [`super::vllm::history_openmetrics`]) in pieces of about `chunk`
    /// bytes, its timestamps turned to milliseconds by [`to_import_text`].
    /// Returns the sample lines sent.
    pub fn import_openmetrics_file(
        &self,
        path: &std::path::Path,
        chunk: usize,
    ) -> Result<usize, String> {
        use std::io::BufRead;
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut lines = 0;
        let mut piece = String::with_capacity(chunk + 4096);
        for line in std::io::BufReader::with_capacity(1 << 20, file).lines() {
            let line = line.map_err(|e| e.to_string())?;
            if let Some(converted) = import_line(&line) {
                piece.push_str(&converted);
                piece.push('\n');
                lines += 1;
            }
            if piece.len() >= chunk {
                self.import(&piece)?;
                piece.clear();
            }
        }
        if !piece.is_empty() {
            self.import(&piece)?;
        }
        Ok(lines)
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

/// One OpenMetrics sample line (timestamp in seconds, `.` and up to three
/// decimals) as VictoriaMetrics' text import takes it (milliseconds, the
/// same digits); `None` for `#` and empty lines.
pub fn import_line(line: &str) -> Option<String> {
    if line.starts_with('#') || line.is_empty() {
        return None;
    }
    let (rest, ts) = line.rsplit_once(' ')?;
    let (secs, millis) = ts.split_once('.').unwrap_or((ts, ""));
    Some(format!("{rest} {secs}{millis:0<3}"))
}

/// [`import_line`] over a whole OpenMetrics text.
pub fn to_import_text(openmetrics: &str) -> String {
    openmetrics
        .lines()
        .filter_map(import_line)
        .map(|l| l + "\n")
        .collect()
}

impl Drop for Victoria {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
