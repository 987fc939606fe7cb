//! What `check` reads: a live endpoint through the shared scraper, or a
//! saved `/metrics` file.

use crate::scrape::{self, Fetcher, Limits, ScrapeFailure, ScrapeTarget, TargetError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where a scrape comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Endpoint(ScrapeTarget),
    File(PathBuf),
    /// Neither a valid target nor an existing file: why.
    Invalid {
        text: String,
        error: TargetError,
    },
}

/// File names that are saved scrapes rather than host names.
const SCRAPE_FILE_EXTENSIONS: [&str; 5] = ["txt", "prom", "metrics", "out", "log"];

impl Source {
    /// A URL is an endpoint; an existing path is a file; `host` and
    /// `host:port` are endpoints; a path-like name (with `/` or a saved-scrape
    /// extension such as `.txt`) that does not exist is a missing file.
    pub fn parse(arg: &str) -> Source {
        let arg = arg.trim();
        let endpoint = || match ScrapeTarget::parse(arg) {
            Ok(t) => Source::Endpoint(t),
            Err(error) => Source::Invalid {
                text: scrape::escape(&scrape::without_credentials(arg)),
                error,
            },
        };
        if arg.contains("://") {
            return endpoint();
        }
        let path = Path::new(arg);
        if path.exists() {
            return Source::File(path.to_path_buf());
        }
        let before_port = arg.split(':').next().unwrap_or(arg);
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let path_like = (!arg.contains(':') && before_port.contains('/'))
            || arg.starts_with('.')
            || SCRAPE_FILE_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str());
        if path_like {
            Source::File(path.to_path_buf())
        } else {
            endpoint()
        }
    }

    /// The source as shown in reports (control characters escaped).
    pub fn display(&self) -> String {
        match self {
            Source::Endpoint(t) => t.url(),
            Source::File(p) => scrape::escape(&p.display().to_string()),
            Source::Invalid { text, .. } => text.clone(),
        }
    }
}

/// The body of a successful fetch.
pub struct Fetched {
    pub body: String,
    pub elapsed: Duration,
}

/// Reads one source: an endpoint within `fetcher`'s limits, or a file.
pub async fn fetch(fetcher: &Fetcher, source: &Source) -> Result<Fetched, ScrapeFailure> {
    let start = Instant::now();
    let body = match source {
        Source::File(path) => {
            let bytes = tokio::fs::read(path).await.map_err(|e| {
                ScrapeFailure::File(format!(
                    "{}: {e}",
                    scrape::escape(&path.display().to_string())
                ))
            })?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Source::Endpoint(target) => fetcher.fetch(&target.url()).await?,
        Source::Invalid { error, .. } => {
            return Err(ScrapeFailure::File(format!(
                "neither a file nor a valid endpoint: {error}"
            )))
        }
    };
    Ok(Fetched {
        body,
        elapsed: start.elapsed(),
    })
}

/// `check`'s fetcher: the scraper's redirect policy and content checks, with
/// only time and size limits.
pub fn fetcher(timeout: Duration) -> Result<Fetcher, String> {
    Fetcher::new(reqwest::Client::builder(), Limits::for_check(timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(arg: &str) -> Option<String> {
        match Source::parse(arg) {
            Source::Endpoint(t) => Some(t.url()),
            _ => None,
        }
    }

    #[test]
    fn hosts_endpoints_and_files_are_told_apart() {
        for (arg, want) in [
            ("http://10.0.0.5:8000", "http://10.0.0.5:8000/metrics"),
            ("https://vllm.example/custom", "https://vllm.example/custom"),
            ("localhost:8000", "http://localhost:8000/metrics"),
            ("localhost", "http://localhost:8000/metrics"),
            ("gpu-1.internal", "http://gpu-1.internal:8000/metrics"),
        ] {
            assert_eq!(url(arg).as_deref(), Some(want), "{arg}");
        }
        assert_eq!(
            Source::parse("no/such/file.txt"),
            Source::File("no/such/file.txt".into())
        );
        assert_eq!(
            Source::parse("saved.prom"),
            Source::File("saved.prom".into())
        );
        assert!(matches!(Source::parse("::1:8000"), Source::Invalid { .. }));
        let odd = Source::parse("bad\u{1b}[2Jhost:1:2");
        assert!(!odd.display().contains('\u{1b}'), "{}", odd.display());
    }
}
