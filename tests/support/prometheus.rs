//! The real Prometheus of `tests/common/prometheus.rs` for async tests:
//! one scrape job, [`JOB`], optional history imported with promtool, and
//! the blocking calls moved off the runtime's threads.
//!
//! ```ignore
//! let prom = Prometheus::start(&[sim_addr.to_string()], Duration::from_secs(1)).await?;
//! prom.wait_for_scrapes(3, Duration::from_secs(30)).await?;
//! let data = prom.query_range("up", start, end, "1").await?;
//! ```

use super::server::{self, Data, Job};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The scrape job the config defines.
pub const JOB: &str = "vllm";

pub struct Prometheus {
    server: Arc<server::Prometheus>,
    targets: usize,
}

/// A duration as Prometheus' config wants it (`1s`, `500ms`).
fn prom_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Runs a blocking call on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("helper task failed: {e}"))?
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
    /// `# EOF`, e.g. [`super::vllm::history_openmetrics`]) into its data
    /// directory with promtool.
    pub async fn start_with_history(
        scrape_targets: &[String],
        scrape_interval: Duration,
        openmetrics: Option<&str>,
    ) -> Result<Prometheus, String> {
        let config = server::scrape_config(
            &[Job {
                name: JOB,
                targets: scrape_targets.to_vec(),
                labels: Vec::new(),
            }],
            &prom_duration(scrape_interval),
        );
        let history = openmetrics.map(str::to_string);
        let server = blocking(move || {
            let Some(text) = history else {
                return server::Prometheus::launch(&config, Data::Fresh, &[]);
            };
            let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
            let input = dir.path().join("history.om");
            std::fs::write(&input, text).map_err(|e| format!("write history: {e}"))?;
            server::Prometheus::launch(
                &config,
                Data::Import(&input),
                &["--storage.tsdb.retention.time=100y"],
            )
        })
        .await?;
        Ok(Prometheus {
            server: Arc::new(server),
            targets: scrape_targets.len(),
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Prometheus' own log, for failure messages.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// Waits until every target has been scraped at least `n` times.
    pub async fn wait_for_scrapes(&self, n: usize, timeout: Duration) -> Result<(), String> {
        let (server, targets) = (Arc::clone(&self.server), self.targets);
        blocking(move || server.wait_for_scrapes(JOB, targets, n, timeout)).await
    }

    /// `/api/v1/query` (at `time`, Unix seconds, or now): the `data` object.
    pub async fn query(&self, expr: &str, time: Option<&str>) -> Result<Value, String> {
        let server = Arc::clone(&self.server);
        let (expr, time) = (expr.to_string(), time.map(str::to_string));
        blocking(move || server.query_at(&expr, time.as_deref())).await
    }

    /// `/api/v1/query_range` (times and step in seconds): the `data` object.
    pub async fn query_range(
        &self,
        expr: &str,
        start: &str,
        end: &str,
        step: &str,
    ) -> Result<Value, String> {
        let server = Arc::clone(&self.server);
        let params = [
            ("query", expr.to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("step", step.to_string()),
        ];
        blocking(move || server.api("query_range", &params)).await
    }
}
