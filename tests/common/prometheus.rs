//! A real Prometheus server (Debian's `prometheus`, or `$PROMETHEUS`) for tests
//! and benches: started on a free loopback port with a temporary config, log
//! and data directory, killed on drop. Blocking; `tests/support/prometheus.rs`
//! wraps it for async tests.
#![allow(dead_code)] // Each test or bench uses a part.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary: `$PROMETHEUS` when set, else Debian's.
pub fn binary() -> PathBuf {
    std::env::var_os("PROMETHEUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus"))
}

/// A Prometheus config with no scrape jobs.
pub const NO_SCRAPES: &str = "global:\n  scrape_interval: 15s\n";

pub struct Prometheus {
    child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// One scrape job: its name and its targets (`host:port`).
pub struct Job<'a> {
    pub name: &'a str,
    pub targets: Vec<String>,
    /// Target labels every series of the job gets (e.g. `namespace`).
    pub labels: Vec<(String, String)>,
}

/// Where the server's TSDB comes from.
pub enum Data<'a> {
    /// An empty directory of its own.
    Fresh,
    /// An existing TSDB directory, e.g. written by [`create_blocks`].
    Existing(&'a Path),
    /// A fresh directory holding an OpenMetrics file's samples ([`create_blocks`]).
    Import(&'a Path),
}

/// A config scraping `jobs` every `interval` (e.g. "1s").
pub fn scrape_config(jobs: &[Job<'_>], interval: &str) -> String {
    let mut config = format!(
        "global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\n  evaluation_interval: {interval}\nscrape_configs:\n"
    );
    for job in jobs {
        let targets: Vec<String> = job.targets.iter().map(|t| format!("\"{t}\"")).collect();
        config.push_str(&format!(
            "  - job_name: \"{}\"\n    static_configs:\n      - targets: [{}]\n",
            job.name,
            targets.join(", ")
        ));
        if !job.labels.is_empty() {
            let labels: Vec<String> = job
                .labels
                .iter()
                .map(|(k, v)| format!("{k}: \"{v}\""))
                .collect();
            config.push_str(&format!("        labels: {{{}}}\n", labels.join(", ")));
        }
    }
    config
}

/// Imports an OpenMetrics file (ending in `# EOF`, samples with
/// timestamps) into `data` with `promtool tsdb create-blocks-from openmetrics`.
pub fn create_blocks(openmetrics: &Path, data: &Path) -> Result<(), String> {
    let promtool = binary().with_file_name("promtool");
    let out = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(openmetrics)
        .arg(data)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", promtool.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "promtool could not import {}: {}",
            openmetrics.display(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

pub fn free_port() -> Result<SocketAddr, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))
}

/// Polls `/-/ready` until Prometheus answers, exits or `limit` passes.
fn wait_ready(child: &mut Child, addr: SocketAddr, limit: Duration) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("Prometheus exited: {status}"));
        }
        if http_get(addr, "/-/ready").is_ok_and(|body| body.contains("Ready")) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("Prometheus on {addr} not ready after {limit:?}"))
}

impl Prometheus {
    /// Start Prometheus scraping `jobs` every `interval` (e.g. "1s").
    pub fn start(jobs: &[Job<'_>], interval: &str) -> Prometheus {
        Prometheus::launch(&scrape_config(jobs, interval), Data::Fresh, &[])
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Start Prometheus without scrape jobs on an existing TSDB directory,
    /// e.g. blocks written by [`create_blocks`].
    pub fn start_on_data(data: &Path) -> Prometheus {
        Prometheus::launch(
            NO_SCRAPES,
            Data::Existing(data),
            &["--storage.tsdb.retention.time=100y"],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Start Prometheus without scrape jobs, accepting remote-write requests
    /// (`/api/v1/write`) into an empty TSDB.
    pub fn start_receiver() -> Prometheus {
        Prometheus::launch(
            NO_SCRAPES,
            Data::Fresh,
            &[
                "--web.enable-remote-write-receiver",
                "--storage.tsdb.retention.time=100y",
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs Prometheus with `config` on `data` and `extra` flags, logging
    /// to a file of its own, and waits until it is ready. The port is free
    /// when picked but may be taken before Prometheus binds it: five tries.
    pub fn launch(config: &str, data: Data<'_>, extra: &[&str]) -> Result<Prometheus, String> {
        let bin = binary();
        if !bin.exists() {
            return Err(format!(
                "{} not found: install Debian's `prometheus` package (.ci/run does) or set PROMETHEUS",
                bin.display()
            ));
        }
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).map_err(|e| format!("write config: {e}"))?;
        let data = match data {
            Data::Fresh => dir.path().join("data"),
            Data::Existing(path) => path.to_path_buf(),
            Data::Import(openmetrics) => {
                let data = dir.path().join("data");
                create_blocks(openmetrics, &data)?;
                data
            }
        };
        let log_path = dir.path().join("prometheus.log");
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let addr = free_port()?;
            let log = std::fs::File::create(&log_path).map_err(|e| format!("log file: {e}"))?;
            let log_err = log.try_clone().map_err(|e| e.to_string())?;
            let mut child = Command::new(&bin)
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .args(extra)
                .arg(format!("--web.listen-address={addr}"))
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
            match wait_ready(&mut child, addr, Duration::from_secs(30)) {
                Ok(()) => return Ok(Prometheus { child, addr, dir }),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    last_error = format!("{e}\n{log}");
                }
            }
        }
        Err(format!("Prometheus did not start: {last_error}"))
    }

    /// Prometheus' own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `GET /api/v1/<endpoint>?<params>`: the answer's `data` when its
    /// status is `success`; HTTP and query errors are `Err`.
    pub fn api(
        &self,
        endpoint: &str,
        params: &[(&str, String)],
    ) -> Result<serde_json::Value, String> {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let path = format!("/api/v1/{endpoint}?{}", query.join("&"));
        let body = http_get(self.addr, &path)?;
        let mut answer: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("{path}: {e}: {body}"))?;
        if answer["status"] != "success" {
            return Err(format!("{path}: {answer}"));
        }
        Ok(answer["data"].take())
    }

    /// An instant query at `time` (Unix seconds) or now: the `data` object.
    pub fn query_at(&self, expr: &str, time: Option<&str>) -> Result<serde_json::Value, String> {
        let mut params = vec![("query", expr.to_string())];
        if let Some(t) = time {
            params.push(("time", t.to_string()));
        }
        self.api("query", &params)
    }

    /// An instant query now: the `data` object.
    pub fn query(&self, expr: &str) -> Result<serde_json::Value, String> {
        self.query_at(expr, None)
    }

    /// A range query, times in milliseconds: the `data` object.
    pub fn query_range(
        &self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<serde_json::Value, String> {
        let secs = |ms: i64| format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000));
        self.api(
            "query_range",
            &[
                ("query", expr.to_string()),
                ("start", secs(start_ms)),
                ("end", secs(end_ms)),
                ("step", secs(step_ms)),
            ],
        )
    }

    /// Waits until `targets` targets of `job` have been scraped `n` times each.
    pub fn wait_for_scrapes(
        &self,
        job: &str,
        targets: usize,
        n: usize,
        limit: Duration,
    ) -> Result<(), String> {
        let expr = format!("count_over_time(up{{job=\"{job}\"}}[1h])");
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(v) = self.query(&expr) {
                let counts: Vec<f64> = v["result"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter_map(|s| s["value"][1].as_str()?.parse().ok())
                            .collect()
                    })
                    .unwrap_or_default();
                if counts.len() >= targets && counts.iter().all(|c| *c >= n as f64) {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!(
            "job {job}: fewer than {n} scrapes of {targets} target(s) after {limit:?}\n{}",
            self.log()
        ))
    }

    /// POSTs one snappy-compressed remote-write request; Prometheus answers
    /// 204 when it appended every sample.
    pub fn remote_write(&self, body: &[u8]) -> Result<(), String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect_timeout(&self.addr, Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let head = format!(
            "POST /api/v1/write HTTP/1.0\r\nHost: {}\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
        s.write_all(body).map_err(|e| e.to_string())?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
        match answer.split_once(' ').map(|(_, rest)| rest) {
            Some(rest) if rest.starts_with("204") || rest.starts_with("200") => Ok(()),
            _ => Err(answer),
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encode a query parameter.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A minimal blocking HTTP/1.0 GET on loopback (keeps the helper free of an
/// async runtime so both sync and async tests can use it).
pub fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).map_err(|e| e.to_string())?;
    let (head, body) = buf.split_once("\r\n\r\n").ok_or("no HTTP header")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!("{}: {body}", head.lines().next().unwrap_or("")));
    }
    Ok(body.to_string())
}
