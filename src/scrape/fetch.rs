//! The one HTTP fetch of a metrics page, for `check` and direct mode alike:
//! one deadline for the whole exchange, a body limit, no compression, a
//! same-origin redirect policy, and a check that what came back is the
//! Prometheus text format at all.

use super::failure::{NotText, ScrapeFailure};
use super::samples::ScrapeSamples;
use std::time::Duration;

/// Most redirects followed within one scrape (same scheme, host and port only).
pub const MAX_REDIRECTS: usize = 3;
/// Most bytes of an error page kept for the error message.
const ERROR_PAGE_BYTES: usize = 4096;

/// What one scrape may take and hold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// For the whole exchange: connect, headers and body.
    pub timeout: Duration,
    pub max_body_bytes: usize,
    /// Most samples in one scrape.
    pub series_limit: usize,
    pub max_label_value_bytes: usize,
}

impl Limits {
    /// `check`'s limits: only time and size, generous, as it stores nothing.
    pub fn for_check(timeout: Duration) -> Limits {
        Limits {
            timeout,
            max_body_bytes: 64 << 20,
            series_limit: usize::MAX,
            max_label_value_bytes: usize::MAX,
        }
    }
}

/// An HTTP client set up for scraping, with its limits.
pub struct Fetcher {
    client: reqwest::Client,
    limits: Limits,
}

/// Why the redirect policy refused a hop.
#[derive(Debug, thiserror::Error)]
enum RedirectRefusal {
    #[error("it points to {to}, another host or port: redirects are followed only within the target's own scheme, host and port; set the target to the final URL if it is trusted")]
    CrossHost { to: String },
    #[error(
        "more than {MAX_REDIRECTS} in a row (the last to {to}): set the target to the final URL"
    )]
    TooMany { to: String },
}

/// Follows at most [`MAX_REDIRECTS`] redirects, and only to the same scheme,
/// host and port as the target: a target must not be able to send the
/// scraper's requests elsewhere (server-side request forgery).
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        let next = attempt.url();
        let same_origin = next.scheme() == first.scheme()
            && next.host_str() == first.host_str()
            && next.port_or_known_default() == first.port_or_known_default();
        if !same_origin {
            let to = next.to_string();
            return attempt.error(RedirectRefusal::CrossHost { to });
        }
        if attempt.previous().len() > MAX_REDIRECTS {
            let to = next.to_string();
            return attempt.error(RedirectRefusal::TooMany { to });
        }
        attempt.follow()
    })
}

/// The causes of an error, outermost first, without repeats.
fn causes(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut source = Some(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.iter().any(|o| o.contains(&text)) {
            out.push(text);
        }
        source = cause.source();
    }
    out
}

/// A transport error as a [`ScrapeFailure`]: refused, DNS and TLS are told
/// apart from other connection failures.
pub fn classify(e: &reqwest::Error) -> ScrapeFailure {
    if e.is_redirect() {
        // The policy's own message is the innermost cause.
        let inner = causes(e).pop().unwrap_or_default();
        return ScrapeFailure::Redirect(inner);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return ScrapeFailure::Refused;
            }
        }
        source = cause.source();
    }
    let chain = causes(e);
    let inner = chain[1.min(chain.len().saturating_sub(1))..].join(": ");
    let lower = inner.to_ascii_lowercase();
    let tls_words = [
        "tls",
        "certificate",
        "handshake",
        "corrupt message",
        "invalidcontenttype",
        "invalid content type",
        "peer sent",
        "unknownissuer",
    ];
    if lower.contains("dns")
        || lower.contains("failed to lookup")
        || lower.contains("name or service")
    {
        ScrapeFailure::Dns(inner)
    } else if tls_words.iter().any(|w| lower.contains(w)) {
        ScrapeFailure::Tls(inner)
    } else if lower.contains("connection refused") {
        ScrapeFailure::Refused
    } else if e.is_connect() {
        ScrapeFailure::Connect(inner)
    } else {
        ScrapeFailure::Transport(chain.join(": "))
    }
}

/// A short, single-line account of a page: its HTML `<title>`, or the
/// start of its text; control characters dropped.
pub fn page_summary(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let raw = html_title(&text).unwrap_or(&text);
    let mut out = String::new();
    for word in raw.split_whitespace() {
        if out.len() + word.len() > 200 {
            out.push_str(" ...");
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().filter(|c| !c.is_control()));
    }
    (!out.is_empty()).then_some(out)
}

fn html_title(text: &str) -> Option<&str> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let from = start + lower[start..].find('>')? + 1;
    let len = lower[from..].find("</title")?;
    text.get(from..from + len)
}

/// What a successful answer holds when it is not the text format: told by
/// its content type and its first bytes.
fn not_text(content_type: Option<&str>, body: &[u8]) -> Option<NotText> {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&body[..0], |i| &body[i..]);
    let start = start.strip_prefix(b"\xef\xbb\xbf").unwrap_or(start);
    if ct.starts_with("text/html") || ct.starts_with("application/xhtml") || start.starts_with(b"<")
    {
        let title =
            html_title(&String::from_utf8_lossy(body)).and_then(|t| page_summary(t.as_bytes()));
        return Some(NotText::Html { title });
    }
    if ct.contains("json") || start.starts_with(b"{") || start.starts_with(b"[") {
        return Some(NotText::Json);
    }
    // Only the first 4 KiB are looked at (a character cut at its end is not
    // an error); the whole body is validated once, when it becomes a String.
    let sample = &body[..body.len().min(4096)];
    let binary = ct.starts_with("application/vnd.google.protobuf")
        || ct.starts_with("application/octet-stream")
        || sample.contains(&0)
        || std::str::from_utf8(sample).is_err_and(|e| e.error_len().is_some());
    binary.then_some(NotText::Binary)
}

/// What one scrape's text holds, checked against the limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Samples that would be stored.
    pub samples: usize,
    /// Lines the parser refused (the rest of the scrape is kept).
    pub bad_lines: usize,
}

/// Counts the samples (stopping as soon as the series limit is passed),
/// checks every label value's length, and refuses text in which no line is
/// a sample but some are wrong.
pub fn check_text(text: &str, limits: &Limits) -> Result<Checked, ScrapeFailure> {
    let mut samples = 0;
    let mut it = ScrapeSamples::new(text);
    for (name, labels, _) in it.by_ref() {
        samples += 1;
        if samples > limits.series_limit {
            return Err(ScrapeFailure::TooManySamples {
                limit: limits.series_limit,
            });
        }
        for (label, value) in labels.iter() {
            if value.len() > limits.max_label_value_bytes {
                return Err(ScrapeFailure::LabelValueTooLong {
                    series: name.to_string(),
                    label: label.to_string(),
                    bytes: value.len(),
                    limit: limits.max_label_value_bytes,
                });
            }
        }
    }
    if samples == 0 && it.bad_lines > 0 && it.created_dropped == 0 {
        let first_error = first_bad_line(text);
        return Err(ScrapeFailure::NotText(NotText::Unparsable { first_error }));
    }
    Ok(Checked {
        samples,
        bad_lines: it.bad_lines,
    })
}

/// Where and why the parser first refuses a line (control characters escaped).
fn first_bad_line(text: &str) -> String {
    crate::exposition::Parser::new(text)
        .find_map(Result::err)
        .map_or_else(String::new, |e| escape(&e.to_string()))
}

/// `text` with control characters as escapes, for terminals and messages.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl Fetcher {
    /// `builder` may carry TLS settings; the rest is set here.
    pub fn new(builder: reqwest::ClientBuilder, limits: Limits) -> Result<Fetcher, String> {
        // The whole exchange runs under one deadline in `fetch`; the connect
        // timeout only keeps a dead address from holding an attempt open.
        let client = builder
            .connect_timeout(limits.timeout)
            .redirect(redirect_policy())
            .user_agent(concat!("vllm-grafana/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Fetcher { client, limits })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The metrics page as text, within the time and body limits.
    pub async fn fetch(&self, url: &str) -> Result<String, ScrapeFailure> {
        let secs = self.limits.timeout.as_secs_f64();
        match tokio::time::timeout(self.limits.timeout, self.fetch_unbounded(url)).await {
            Ok(result) => result,
            Err(_) => Err(ScrapeFailure::Timeout { secs }),
        }
    }

    /// Never buffers more than `max_body_bytes` (plus one network chunk).
    async fn fetch_unbounded(&self, url: &str) -> Result<String, ScrapeFailure> {
        let mut resp = self
            .client
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "text/plain;version=0.0.4;q=1,*/*;q=0.1",
            )
            // Nothing compressed: a small gzip body can inflate without bound.
            .header(reqwest::header::ACCEPT_ENCODING, "identity")
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let status = resp.status();
        if !status.is_success() {
            // A little of the error page says what the server thinks is wrong.
            let mut page = Vec::new();
            while page.len() < ERROR_PAGE_BYTES {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        let room = ERROR_PAGE_BYTES - page.len();
                        page.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                    _ => break,
                }
            }
            return Err(ScrapeFailure::Status {
                status: status.to_string(),
                page: page_summary(&page),
            });
        }
        if let Some(encoding) = resp.headers().get(reqwest::header::CONTENT_ENCODING) {
            let encoding = escape(String::from_utf8_lossy(encoding.as_bytes()).trim());
            if !encoding.is_empty() && !encoding.eq_ignore_ascii_case("identity") {
                return Err(ScrapeFailure::Encoding(encoding));
            }
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let limit = self.limits.max_body_bytes;
        if let Some(n) = resp.content_length().filter(|&n| n > limit as u64) {
            return Err(ScrapeFailure::BodyTooLarge {
                limit,
                declared: Some(n),
            });
        }
        // A declared length (already within the limit) is reserved at once.
        let declared = resp.content_length().map_or(0, |n| n as usize);
        let mut body = Vec::with_capacity(declared);
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(ScrapeFailure::BodyTooLarge {
                    limit,
                    declared: None,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if let Some(what) = not_text(content_type.as_deref(), &body) {
            return Err(ScrapeFailure::NotText(what));
        }
        String::from_utf8(body).map_err(|_| ScrapeFailure::NotText(NotText::Binary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(series: usize, label: usize) -> Limits {
        Limits {
            timeout: Duration::from_secs(1),
            max_body_bytes: 1 << 20,
            series_limit: series,
            max_label_value_bytes: label,
        }
    }

    #[test]
    fn text_checks_stop_at_the_series_limit_and_name_long_labels() {
        let text = "a 1\nb 2\n# HELP c x\nc{l=\"v\"} 3\n";
        assert_eq!(check_text(text, &limits(3, 10)).map(|c| c.samples), Ok(3));
        assert_eq!(
            check_text(text, &limits(2, 10)).err(),
            Some(ScrapeFailure::TooManySamples { limit: 2 })
        );
        let long = format!("ok 1\nbig{{x=\"1\",v=\"{}\"}} 1\n", "y".repeat(11));
        assert_eq!(
            check_text(&long, &limits(10, 10)).err(),
            Some(ScrapeFailure::LabelValueTooLong {
                series: "big".into(),
                label: "v".into(),
                bytes: 11,
                limit: 10
            })
        );
    }

    #[test]
    fn text_without_one_sample_but_with_errors_is_not_the_format() {
        let e = check_text("hello world\nsecond line\n", &limits(10, 10)).expect_err("no sample");
        assert!(
            e.to_string().contains("no valid sample; line 1, column"),
            "{e}"
        );
        // An empty scrape is a valid scrape of nothing, as in Prometheus.
        assert_eq!(
            check_text("", &limits(10, 10)),
            Ok(Checked {
                samples: 0,
                bad_lines: 0
            })
        );
        // One good line among bad ones keeps the good one.
        assert_eq!(
            check_text("bad line\nok 1\n", &limits(10, 10)),
            Ok(Checked {
                samples: 1,
                bad_lines: 1
            })
        );
    }

    #[test]
    fn answers_that_are_not_text_are_named() {
        let page = b"<!DOCTYPE html><html><head><title>Sign in \xe2\x80\x93 Proxy</title>";
        assert_eq!(
            not_text(Some("text/html; charset=utf-8"), page),
            Some(NotText::Html {
                title: Some("Sign in \u{2013} Proxy".into())
            })
        );
        assert_eq!(
            not_text(None, b"  <html>"),
            Some(NotText::Html { title: None })
        );
        assert_eq!(
            not_text(Some("application/json"), b"{\"object\":\"list\"}"),
            Some(NotText::Json)
        );
        assert_eq!(not_text(None, b"[1,2]"), Some(NotText::Json));
        assert_eq!(not_text(None, b"\x08\x96\x01\x00"), Some(NotText::Binary));
        assert_eq!(not_text(None, b"\xff\xfe up 1"), Some(NotText::Binary));
        assert_eq!(not_text(Some("text/plain; version=0.0.4"), b"up 1\n"), None);
    }

    #[test]
    fn error_pages_are_summarised_on_one_line() {
        let html = b"<html><head><TITLE>502 Bad\n Gateway</TITLE></head><body>x</body></html>";
        assert_eq!(page_summary(html).as_deref(), Some("502 Bad Gateway"));
        assert_eq!(
            page_summary(b"  plain\r\n text\x07 ").as_deref(),
            Some("plain text")
        );
        assert_eq!(page_summary(b"   "), None);
        let long = "w ".repeat(500);
        assert!(page_summary(long.as_bytes()).is_some_and(|s| s.len() < 210));
        assert_eq!(escape("a\x1b[31mb\n"), "a\\u{1b}[31mb\\n");
    }
}
