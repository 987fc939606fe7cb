//! Every way one scrape can fail, worded once for `check`, health checks
//! and the plugin's `targets` resource.

use serde::ser::SerializeMap;
use std::fmt;

/// What came back instead of the Prometheus text format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotText {
    /// An HTML page (a login page, a proxy's error page), with its `<title>`.
    Html { title: Option<String> },
    /// A JSON document (e.g. the OpenAI API's `/v1/models`).
    Json,
    /// Bytes that are not text at all.
    Binary,
    /// Text in which not one line is a sample: the first bad line.
    Unparsable { first_error: String },
}

impl fmt::Display for NotText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotText::Html { title: Some(t) } => write!(f, "HTML (a page titled {t:?})"),
            NotText::Html { title: None } => f.write_str("HTML"),
            NotText::Json => f.write_str("JSON"),
            NotText::Binary => f.write_str("binary data"),
            NotText::Unparsable { first_error } => {
                write!(f, "text with no valid sample; {first_error}")
            }
        }
    }
}

/// Why one scrape of one target failed. Where a limit is the cause, the
/// message names it and the setting that raises it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ScrapeFailure {
    #[error("connection refused (nothing listens there: is vLLM running and is the port right?)")]
    Refused,
    #[error("DNS lookup failed: {0}")]
    Dns(String),
    #[error("TLS failed: {0} (wrong scheme? a plain vLLM server needs http://)")]
    Tls(String),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("{0}")]
    Transport(String),
    #[error("no complete answer within {secs} s: the scrape was abandoned (raise `timeout`, now {secs} s, if the target is just slow)")]
    Timeout { secs: f64 },
    #[error("refused a redirect: {0}")]
    Redirect(String),
    #[error("HTTP {status}{}{}", page.as_deref().map(|p| format!(": {p}")).unwrap_or_default(), status_hint(status))]
    Status {
        status: String,
        page: Option<String>,
    },
    #[error("the answer has Content-Encoding {0:?}, which the scraper does not decode (it asks for identity): serve the metrics uncompressed")]
    Encoding(String),
    #[error("the metrics page is larger than maxBodyBytes ({limit} bytes){}: raise maxBodyBytes or reduce the target's series", declared.map(|n| format!("; Content-Length says {n}")).unwrap_or_default())]
    BodyTooLarge { limit: usize, declared: Option<u64> },
    #[error("reachable, but not Prometheus text (got {0})")]
    NotText(NotText),
    #[error("the scrape has more than seriesLimit ({limit}) samples: raise seriesLimit or reduce the target's series")]
    TooManySamples { limit: usize },
    #[error("series {series:?} has a value of {bytes} bytes for label {label:?}, more than maxLabelValueBytes ({limit}): raise maxLabelValueBytes or fix the exporter")]
    LabelValueTooLong {
        series: String,
        label: String,
        bytes: usize,
        limit: usize,
    },
    #[error("cannot read file: {0}")]
    File(String),
    #[error("cannot store the scrape: {0}")]
    Store(String),
    #[error("the scrape was interrupted: {0}")]
    Interrupted(String),
}

/// What a status usually means for a metrics endpoint.
fn status_hint(status: &str) -> &'static str {
    match status.split(' ').next().unwrap_or("") {
        "401" | "403" => " (authentication required or refused)",
        "404" => " (nothing at this path: is this the vLLM API server's port and /metrics path?)",
        _ => "",
    }
}

impl ScrapeFailure {
    /// A stable name for machine-readable output.
    pub fn kind(&self) -> &'static str {
        match self {
            ScrapeFailure::Refused => "refused",
            ScrapeFailure::Dns(_) => "dns",
            ScrapeFailure::Tls(_) => "tls",
            ScrapeFailure::Connect(_) => "connect",
            ScrapeFailure::Transport(_) => "transport",
            ScrapeFailure::Timeout { .. } => "timeout",
            ScrapeFailure::Redirect(_) => "redirect",
            ScrapeFailure::Status { .. } => "status",
            ScrapeFailure::Encoding(_) => "encoding",
            ScrapeFailure::BodyTooLarge { .. } => "too_large",
            ScrapeFailure::NotText(_) => "not_prometheus",
            ScrapeFailure::TooManySamples { .. } => "too_many_samples",
            ScrapeFailure::LabelValueTooLong { .. } => "label_value_too_long",
            ScrapeFailure::File(_) => "file",
            ScrapeFailure::Store(_) => "store",
            ScrapeFailure::Interrupted(_) => "interrupted",
        }
    }

    /// Did a server answer (so the address, port and scheme are right)?
    pub fn server_answered(&self) -> bool {
        matches!(
            self,
            ScrapeFailure::Status { .. }
                | ScrapeFailure::Encoding(_)
                | ScrapeFailure::BodyTooLarge { .. }
                | ScrapeFailure::NotText(_)
                | ScrapeFailure::TooManySamples { .. }
                | ScrapeFailure::LabelValueTooLong { .. }
        )
    }
}

impl serde::Serialize for ScrapeFailure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("kind", self.kind())?;
        map.serialize_entry("detail", &self.to_string())?;
        map.end()
    }
}

/// Why one scrape of one target failed; shown as `<url>: <reason>`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{url}: {kind}")]
pub struct ScrapeError {
    pub url: String,
    pub kind: ScrapeFailure,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_came_back_and_the_limit() {
        let html = ScrapeFailure::NotText(NotText::Html {
            title: Some("Sign in".into()),
        });
        assert_eq!(
            html.to_string(),
            "reachable, but not Prometheus text (got HTML (a page titled \"Sign in\"))"
        );
        assert!(html.server_answered());
        let json = serde_json::to_value(ScrapeFailure::Refused).expect("json");
        assert_eq!(json["kind"], "refused");
        let e = ScrapeFailure::Status {
            status: "404 Not Found".into(),
            page: None,
        };
        assert!(e.to_string().contains("/metrics path"), "{e}");
        let msg = ScrapeError {
            url: "http://h:1/metrics".into(),
            kind: ScrapeFailure::BodyTooLarge {
                limit: 5,
                declared: Some(9),
            },
        }
        .to_string();
        assert_eq!(msg, "http://h:1/metrics: the metrics page is larger than maxBodyBytes (5 bytes); Content-Length says 9: raise maxBodyBytes or reduce the target's series");
    }
}
