//! Fetch one `/metrics` target, classifying every way it can fail.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where a scrape comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Url(String),
    File(PathBuf),
}

impl Target {
    /// `http(s)://...` is a URL (a bare `host:port` gets `http://` and
    /// `/metrics`); an existing path is a file.
    pub fn parse(arg: &str) -> Target {
        if arg.starts_with("http://") || arg.starts_with("https://") {
            return Target::Url(with_metrics_path(arg));
        }
        let path = PathBuf::from(arg);
        if path.exists() {
            return Target::File(path);
        }
        let looks_like_host_port = arg
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if looks_like_host_port {
            Target::Url(with_metrics_path(&format!("http://{arg}")))
        } else {
            Target::File(path)
        }
    }

    pub fn display(&self) -> String {
        match self {
            Target::Url(u) => u.clone(),
            Target::File(p) => p.display().to_string(),
        }
    }
}

/// A URL without a path scrapes `/metrics`, like Prometheus's default.
fn with_metrics_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    if after_scheme.contains('/') {
        url.to_string()
    } else {
        format!("{url}/metrics")
    }
}

/// Why a target could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum FetchError {
    #[error("connection refused (nothing listens there; is vLLM running and is the port right?)")]
    Refused,
    #[error("timed out after {0:?} (server hung, firewall dropping packets, or wrong host)")]
    Timeout(Duration),
    #[error("DNS lookup failed: {0}")]
    Dns(String),
    #[error("TLS failed: {0} (wrong scheme? use http:// for a plain vLLM server)")]
    Tls(String),
    #[error("HTTP status {status}: {hint}")]
    Status { status: u16, hint: String },
    #[error("not Prometheus text: {0}")]
    NotPrometheus(String),
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    #[error("cannot read file: {0}")]
    File(String),
    #[error("invalid URL: {0}")]
    BadUrl(String),
    #[error("connection failed: {0}")]
    Other(String),
}

/// The body of a successful fetch.
pub struct Fetched {
    pub body: String,
    pub elapsed: Duration,
    pub content_type: Option<String>,
}

/// The largest `/metrics` body accepted; a busy vLLM serves well under 1 MiB.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

pub async fn fetch(
    client: &reqwest::Client,
    target: &Target,
    timeout: Duration,
) -> Result<Fetched, FetchError> {
    let start = Instant::now();
    match target {
        Target::File(path) => {
            let bytes = tokio::fs::read(path)
                .await
                .map_err(|e| FetchError::File(format!("{}: {e}", path.display())))?;
            Ok(Fetched {
                body: String::from_utf8_lossy(&bytes).into_owned(),
                elapsed: start.elapsed(),
                content_type: None,
            })
        }
        Target::Url(url) => {
            let fut = fetch_url(client, url);
            match tokio::time::timeout(timeout, fut).await {
                Ok(result) => result.map(|(body, content_type)| Fetched {
                    body,
                    elapsed: start.elapsed(),
                    content_type,
                }),
                Err(_) => Err(FetchError::Timeout(timeout)),
            }
        }
    }
}

async fn fetch_url(
    client: &reqwest::Client,
    url: &str,
) -> Result<(String, Option<String>), FetchError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| FetchError::BadUrl(format!("{url}: {e}")))?;
    let mut response = client
        .get(parsed)
        .header("Accept", "text/plain;version=0.0.4")
        .send()
        .await
        .map_err(classify)?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if !status.is_success() {
        let hint = match status.as_u16() {
            401 | 403 => "authentication required or refused",
            404 => "no /metrics here: is this the vLLM API server port and path?",
            500..=599 => "the server failed while answering",
            _ => "unexpected status",
        };
        return Err(FetchError::Status {
            status: status.as_u16(),
            hint: hint.to_string(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(FetchError::TooLarge(MAX_BODY));
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    if content_type
        .as_deref()
        .is_some_and(|ct| ct.starts_with("text/html"))
        || text.trim_start().starts_with('<')
    {
        return Err(FetchError::NotPrometheus(
            "the server answered with an HTML page".into(),
        ));
    }
    Ok((text, content_type))
}

/// Walk the error chain: reqwest wraps hyper wraps io/DNS/TLS errors.
fn classify(err: reqwest::Error) -> FetchError {
    if err.is_timeout() {
        return FetchError::Timeout(Duration::ZERO);
    }
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(&err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return FetchError::Refused;
            }
        }
        chain.push(e.to_string());
        source = e.source();
    }
    let text = chain.join(": ");
    let lower = text.to_lowercase();
    if lower.contains("dns")
        || lower.contains("failed to lookup")
        || lower.contains("name or service")
    {
        FetchError::Dns(text)
    } else if lower.contains("tls") || lower.contains("certificate") || lower.contains("handshake")
    {
        FetchError::Tls(text)
    } else if lower.contains("connection refused") {
        FetchError::Refused
    } else {
        FetchError::Other(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_like_prometheus_would_scrape_them() {
        assert_eq!(
            Target::parse("http://10.0.0.5:8000"),
            Target::Url("http://10.0.0.5:8000/metrics".into())
        );
        assert_eq!(
            Target::parse("https://vllm.example/custom"),
            Target::Url("https://vllm.example/custom".into())
        );
        assert_eq!(
            Target::parse("localhost:8000"),
            Target::Url("http://localhost:8000/metrics".into())
        );
        assert_eq!(
            Target::parse("no/such/file.txt"),
            Target::File("no/such/file.txt".into())
        );
    }
}
