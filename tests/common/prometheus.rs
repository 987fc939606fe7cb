//! A real Prometheus server (Debian's `prometheus`) for tests: started on a
//! free loopback port with a temporary config and data directory, killed on drop.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Prometheus {
    child: Child,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// One scrape job: its name and its targets.
pub struct Job<'a> {
    pub name: &'a str,
    pub targets: Vec<SocketAddr>,
}

fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr")
}

impl Prometheus {
    /// Start Prometheus scraping `jobs` every `interval` (e.g. "1s").
    pub fn start(jobs: &[Job<'_>], interval: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("tempdir");
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
        }
        let data = dir.path().join("data");
        Prometheus::spawn(dir, &config, &data, &[])
    }

    /// Start Prometheus without scrape jobs on an existing TSDB directory,
    /// e.g. blocks written by `promtool tsdb create-blocks-from openmetrics`.
    #[allow(dead_code)]
    pub fn start_on_data(data: &std::path::Path) -> Prometheus {
        let dir = tempfile::tempdir().expect("tempdir");
        Prometheus::spawn(
            dir,
            "global:\n  scrape_interval: 15s\n",
            data,
            &["--storage.tsdb.retention.time=100y"],
        )
    }

    /// Start Prometheus without scrape jobs, accepting remote-write requests
    /// (`/api/v1/write`) into an empty TSDB.
    #[allow(dead_code)]
    pub fn start_receiver() -> Prometheus {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        Prometheus::spawn(
            dir,
            "global:\n  scrape_interval: 15s\n",
            &data,
            &[
                "--web.enable-remote-write-receiver",
                "--storage.tsdb.retention.time=100y",
            ],
        )
    }

    /// POSTs one snappy-compressed remote-write request; Prometheus answers
    /// 204 when it appended every sample.
    #[allow(dead_code)]
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

    /// Write `config` into `dir`, run Prometheus on `data`, wait until ready.
    fn spawn(
        dir: tempfile::TempDir,
        config: &str,
        data: &std::path::Path,
        extra: &[&str],
    ) -> Prometheus {
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write config");
        let addr = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .args(extra)
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "prometheus must be installed (Debian package `prometheus`; .ci/run installs it)",
            );
        let prom = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        prom.wait_ready(Duration::from_secs(30));
        prom
    }

    /// A range query (`/api/v1/query_range`), times in milliseconds, as
    /// parsed JSON; HTTP errors (bad query, execution error) are `Err`.
    #[allow(dead_code)]
    pub fn query_range(
        &self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<serde_json::Value, String> {
        let secs = |ms: i64| format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000));
        let path = format!(
            "/api/v1/query_range?query={}&start={}&end={}&step={}",
            encode(expr),
            secs(start_ms),
            secs(end_ms),
            secs(step_ms)
        );
        let body = http_get(self.addr, &path)?;
        serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))
    }

    fn wait_ready(&self, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(body) = http_get(self.addr, "/-/ready") {
                if body.contains("Ready") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("Prometheus on {} not ready after {limit:?}", self.addr);
    }

    /// Wait until every target of `job` has been scraped `n` times.
    pub fn wait_for_scrapes(&self, job: &str, targets: usize, n: usize, limit: Duration) {
        let expr = format!("count_over_time(up{{job=\"{job}\"}}[1h])");
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(v) = self.query(&expr) {
                let counts: Vec<f64> = v["data"]["result"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter_map(|s| s["value"][1].as_str()?.parse().ok())
                            .collect()
                    })
                    .unwrap_or_default();
                if counts.len() >= targets && counts.iter().all(|c| *c >= n as f64) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("job {job}: fewer than {n} scrapes of {targets} target(s) after {limit:?}");
    }

    /// An instant query at the current time, as parsed JSON.
    pub fn query(&self, expr: &str) -> Result<serde_json::Value, String> {
        let path = format!("/api/v1/query?query={}", encode(expr));
        let body = http_get(self.addr, &path)?;
        serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))
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
