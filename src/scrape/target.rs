//! A scrape target: scheme, host, port, path and query, parsed and
//! normalised once for every place that takes one (`check`, `config
//! --targets`, the plugin's `targets` setting and its config page).
//!
//! Accepted forms: a full `http://` or `https://` URL, or `host`,
//! `host:port`, `host:port/path` without a scheme (plain HTTP, and port
//! 8000, vLLM's default, when none is given). A missing path or `/` becomes
//! `/metrics`, as in Prometheus. IPv6 addresses need brackets.

use std::fmt;

/// The port a bare host (no scheme, no port) gets: vLLM's API server default.
pub const VLLM_DEFAULT_PORT: u16 = 8000;
/// The path a target without one gets.
pub const DEFAULT_PATH: &str = "/metrics";

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Why a text is not a scrape target. The messages quote the input with
/// any user or password hidden.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("is empty: give a URL such as http://10.0.0.5:8000/metrics or host:port")]
    Empty,
    #[error("{0:?} has scheme {1:?}: only http:// and https:// can be scraped")]
    Scheme(String, String),
    #[error("{0:?} contains a user or password: put credentials in the authentication settings, not in the URL")]
    Credentials(String),
    #[error("{0:?} has a #fragment, which a scrape cannot use")]
    Fragment(String),
    #[error("{0:?} looks like an IPv6 address without brackets: write [{1}]:port")]
    Ipv6Brackets(String, String),
    #[error("{0:?} has no host")]
    NoHost(String),
    #[error("{0:?} has an invalid port: use a number from 1 to 65535")]
    Port(String),
    #[error("{0:?} is not a valid host ({1})")]
    Host(String, String),
}

/// One normalised scrape target.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScrapeTarget {
    scheme: Scheme,
    /// Lower-case host name or IP address; IPv6 with its brackets.
    host: String,
    port: u16,
    /// Starts with `/`.
    path: String,
    /// Without the `?`; `None` when there is none.
    query: Option<String>,
}

/// `text` fit for messages: anything between `://` and `@` is hidden.
pub fn without_credentials(text: &str) -> String {
    let (scheme, rest) = match text.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, text),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let tail = &rest[at + 1..];
            match scheme {
                Some(s) => format!("{s}://***@{tail}"),
                None => format!("***@{tail}"),
            }
        }
        None => text.to_string(),
    }
}

impl ScrapeTarget {
    /// Parses and normalises one target; see the module documentation.
    pub fn parse(text: &str) -> Result<ScrapeTarget, TargetError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TargetError::Empty);
        }
        let shown = without_credentials(text);
        let (scheme, rest, explicit_scheme) = match text.split_once("://") {
            Some((s, rest)) => {
                let scheme = match s.to_ascii_lowercase().as_str() {
                    "http" => Scheme::Http,
                    "https" => Scheme::Https,
                    other => return Err(TargetError::Scheme(shown, other.to_string())),
                };
                (scheme, rest, true)
            }
            None => (Scheme::Http, text, false),
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if authority.contains('@') {
            return Err(TargetError::Credentials(shown));
        }
        // Two or more colons outside brackets: an IPv6 address written bare.
        if !authority.starts_with('[') && authority.matches(':').count() > 1 {
            let addr = authority.to_string();
            return Err(TargetError::Ipv6Brackets(shown, addr));
        }
        if authority.is_empty() || authority.starts_with(':') {
            return Err(TargetError::NoHost(shown));
        }
        // The host is checked by the URL parser below; the port is taken
        // apart here so that its errors are told apart.
        let (host_part, port_text) = if authority.starts_with('[') {
            match authority.find(']') {
                Some(close) => (&authority[..=close], &authority[close + 1..]),
                None => {
                    let why = "unclosed bracket".to_string();
                    return Err(TargetError::Host(shown, why));
                }
            }
        } else {
            match authority.find(':') {
                Some(colon) => (&authority[..colon], &authority[colon..]),
                None => (authority, ""),
            }
        };
        let port = match port_text.strip_prefix(':') {
            None if port_text.is_empty() => None,
            None => {
                return Err(TargetError::Host(
                    shown,
                    format!("unexpected {port_text:?}"),
                ))
            }
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| TargetError::Port(shown.clone()))?,
            ),
        };
        if host_part.is_empty() || host_part == "[]" {
            return Err(TargetError::NoHost(shown));
        }
        let port = port.unwrap_or(if explicit_scheme {
            scheme.default_port()
        } else {
            VLLM_DEFAULT_PORT
        });
        let tail = &rest[authority_end..];
        let candidate = format!("{}://{host_part}:{port}{tail}", scheme.as_str());
        let url = reqwest::Url::parse(&candidate)
            .map_err(|e| TargetError::Host(shown.clone(), e.to_string()))?;
        if url.fragment().is_some() {
            return Err(TargetError::Fragment(shown));
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(addr)) => format!("[{addr}]"),
            Some(h) => h.to_string(),
            None => return Err(TargetError::NoHost(shown)),
        };
        // What DNS names and IPv4 addresses are made of (IDNs arrive as punycode).
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
        if !host.starts_with('[') && !host.chars().all(plain) {
            let why = "only letters, digits, '-', '.' and '_' are allowed".to_string();
            return Err(TargetError::Host(shown, why));
        }
        let path = match url.path() {
            "" | "/" => DEFAULT_PATH.to_string(),
            p => p.to_string(),
        };
        Ok(ScrapeTarget {
            scheme,
            host,
            port,
            path,
            query: url.query().filter(|q| !q.is_empty()).map(str::to_string),
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path, starting with `/`, without the query.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query string without `?`, when there is one.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The query's parameters, decoded, in order (Prometheus's `params`).
    pub fn params(&self) -> Vec<(String, String)> {
        let Some(q) = &self.query else {
            return Vec::new();
        };
        url::form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// `host:port`, always with the port: Prometheus's `instance` label.
    pub fn instance(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Is the host this machine (which inside a container is the container)?
    pub fn is_loopback(&self) -> bool {
        match self.host.as_str() {
            "localhost" | "[::1]" => true,
            h => h
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|a| a.is_loopback()),
        }
    }

    /// The URL to fetch. The port is left out when it is the scheme's default.
    pub fn url(&self) -> String {
        let mut out = format!("{}://{}", self.scheme.as_str(), self.host);
        if self.port != self.scheme.default_port() {
            out.push_str(&format!(":{}", self.port));
        }
        out.push_str(&self.path);
        if let Some(q) = &self.query {
            out.push('?');
            out.push_str(q);
        }
        out
    }
}

impl fmt::Display for ScrapeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

impl std::str::FromStr for ScrapeTarget {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScrapeTarget::parse(s)
    }
}

/// One case of `tests/fixtures/targets.json`: an input and what the parser
/// makes of it, shared with the config page's own check.
#[derive(Debug, serde::Deserialize)]
pub struct TargetCase {
    pub input: String,
    /// The normalised URL, or `None` when the input must be refused.
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shared_case_parses_as_listed() {
        let text = include_str!("../../tests/fixtures/targets.json");
        let cases: Vec<TargetCase> = serde_json::from_str(text).expect("valid JSON");
        assert!(cases.len() > 20);
        for case in cases {
            let got = ScrapeTarget::parse(&case.input).map(|t| t.url());
            match (&case.url, &got) {
                (Some(want), Ok(url)) => assert_eq!(url, want, "{:?}", case.input),
                (None, Err(_)) => {}
                _ => panic!("{:?}: expected {:?}, got {got:?}", case.input, case.url),
            }
        }
    }

    #[test]
    fn parts_and_instance() {
        let t = ScrapeTarget::parse("HTTPS://GPU-1.Example:8443/custom/metrics?a=1&b=x%20y")
            .expect("valid");
        assert_eq!(t.scheme(), Scheme::Https);
        assert_eq!(t.instance(), "gpu-1.example:8443");
        assert_eq!(t.path(), "/custom/metrics");
        assert_eq!(
            t.params(),
            [("a".into(), "1".into()), ("b".into(), "x y".into())]
        );
        let v6 = ScrapeTarget::parse("[::1]:8000").expect("valid");
        assert_eq!(v6.instance(), "[::1]:8000");
        assert!(v6.is_loopback());
        assert_eq!(
            ScrapeTarget::parse("https://h").map(|t| t.instance()),
            Ok("h:443".to_string())
        );
    }

    #[test]
    fn errors_say_what_is_wrong_without_secrets() {
        let e = ScrapeTarget::parse("::1:8000").expect_err("bare IPv6");
        assert!(e.to_string().contains("[::1:8000]:port"), "{e}");
        let e = ScrapeTarget::parse("http://u:secret@h/metrics").expect_err("credentials");
        assert!(!e.to_string().contains("secret"), "{e}");
        let e = ScrapeTarget::parse("h:99999").expect_err("port");
        assert!(e.to_string().contains("1 to 65535"), "{e}");
        let e = ScrapeTarget::parse("ftp://h/m").expect_err("scheme");
        assert!(e.to_string().contains("\"ftp\""), "{e}");
    }
}
