//! A real Prometheus (`/usr/bin/prometheus`, Debian's package; `.ci/run`
//! installs it) on a free loopback port with a temporary config and data
//! directory, killed when dropped.
//!
//! ```ignore
//! let prom = Prometheus::start(&[sim_addr.to_string()], Duration::from_secs(1)).await?;
//! prom.wait_for_scrapes(3, Duration::from_secs(30)).await?;
//! let data = prom.query_range("up", start, end, 1.0).await?;
//! ```

use serde_json::Value;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The binary: `$PROMETHEUS` when set, else Debian's.
pub fn binary() -> PathBuf {
    std::env::var_os("PROMETHEUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus"))
}

/// The scrape job the config defines.
pub const JOB: &str = "vllm";

pub struct Prometheus {
    child: Child,
    dir: tempfile::TempDir,
    addr: SocketAddr,
    targets: usize,
    http: reqwest::Client,
}

/// A duration as Prometheus' config wants it (`1s`, `500ms`).
fn prom_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

async fn wait_ready(
    http: &reqwest::Client,
    child: &mut Child,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<(), String> {
    let url = format!("http://{addr}/-/ready");
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("Prometheus exited: {status}"));
        }
        if let Ok(resp) = http.get(&url).send().await {
            if resp.status().is_success() {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("Prometheus not ready after {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Prometheus {
    /// Starts Prometheus scraping `scrape_targets` (`host:port`, path
    /// `/metrics`) in job [`JOB`] every `scrape_interval`, and waits until it
    /// is ready to serve queries.
    pub async fn start(
        scrape_targets: &[String],
        scrape_interval: Duration,
    ) -> Result<Prometheus, String> {
        Prometheus::start_with_history(scrape_targets, scrape_interval, None).await
    }

    /// [`Prometheus::start`], after importing `openmetrics` (text ending in
    /// `# EOF`, e.g. [`super::vllm::history_openmetrics`]) into the empty
    /// data directory with `promtool tsdb create-blocks-from openmetrics`.
    pub async fn start_with_history(
        scrape_targets: &[String],
        scrape_interval: Duration,
        openmetrics: Option<&str>,
    ) -> Result<Prometheus, String> {
        let bin = binary();
        if !bin.exists() {
            return Err(format!(
                "{} not found: install Debian's `prometheus` package (.ci/run does) or set PROMETHEUS",
                bin.display()
            ));
        }
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let interval = prom_duration(scrape_interval);
        let targets: Vec<String> = scrape_targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\n  evaluation_interval: {interval}\n\
             scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        if let Some(text) = openmetrics {
            let input = dir.path().join("history.om");
            std::fs::write(&input, text).map_err(|e| format!("write history: {e}"))?;
            let promtool = bin.with_file_name("promtool");
            let out = Command::new(&promtool)
                .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
                .arg(&input)
                .arg(dir.path().join("data"))
                .output()
                .map_err(|e| format!("cannot run {}: {e}", promtool.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "promtool could not import the history: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let _ = std::fs::remove_file(&input);
        }
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).map_err(|e| format!("write config: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        let mut last_error = String::new();
        // The port is free when picked but may be taken before Prometheus binds it.
        for _attempt in 0..5 {
            let port = free_port()?;
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let log = std::fs::File::create(dir.path().join("prometheus.log"))
                .map_err(|e| format!("log file: {e}"))?;
            let log_err = log.try_clone().map_err(|e| e.to_string())?;
            let mut child = Command::new(&bin)
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--storage.tsdb.retention.time=1d")
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
            match wait_ready(&http, &mut child, addr, Duration::from_secs(30)).await {
                Ok(()) => {
                    return Ok(Prometheus {
                        child,
                        dir,
                        addr,
                        targets: scrape_targets.len(),
                        http,
                    })
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(dir.path().join("prometheus.log"))
                        .unwrap_or_default();
                    last_error = format!("{e}\n{log}");
                }
            }
        }
        Err(format!("Prometheus did not start: {last_error}"))
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Prometheus' own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Waits until every target has been scraped at least `n` times.
    pub async fn wait_for_scrapes(&self, n: usize, timeout: Duration) -> Result<(), String> {
        let targets = self.targets;
        let result = super::eventually(
            &format!("{n} scrapes of {targets} targets"),
            timeout,
            || async {
                let data = self.query("count_over_time(up[1h])", None).await.ok()?;
                let series = data["result"].as_array()?;
                let enough = series.len() == targets
                    && series.iter().all(|s| {
                        s["value"][1]
                            .as_str()
                            .and_then(|v| v.parse::<f64>().ok())
                            .is_some_and(|v| v >= n as f64)
                    });
                enough.then_some(())
            },
        )
        .await;
        result.map_err(|e| format!("{e}\n{}", self.log()))
    }

    async fn api(&self, path: &str, params: &[(&str, String)]) -> Result<Value, String> {
        let url = format!("{}/api/v1/{path}", self.url());
        let bytes = self
            .http
            .get(&url)
            .query(params)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .bytes()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{url}: {e}"))?;
        if body["status"] != "success" {
            return Err(format!("{url} {params:?}: {body}"));
        }
        Ok(body["data"].clone())
    }

    /// `/api/v1/query` (at `time`, Unix seconds, or now): the `data` object.
    pub async fn query(&self, expr: &str, time: Option<&str>) -> Result<Value, String> {
        let mut params = vec![("query", expr.to_string())];
        if let Some(t) = time {
            params.push(("time", t.to_string()));
        }
        self.api("query", &params).await
    }

    /// `/api/v1/query_range`: the `data` object.
    pub async fn query_range(
        &self,
        expr: &str,
        start: &str,
        end: &str,
        step: &str,
    ) -> Result<Value, String> {
        let params = [
            ("query", expr.to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("step", step.to_string()),
        ];
        self.api("query_range", &params).await
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
