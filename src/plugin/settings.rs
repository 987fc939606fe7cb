//! Datasource settings: `jsonData` and `secureJsonData` as Grafana sends them
//! with every request, parsed leniently and validated field by field.
//!
//! Parsing never fails as a whole on a mistyped field: every problem is
//! collected as a [`FieldError`] naming the field, so CheckHealth can say
//! exactly what to fix. Secrets live in [`Secret`], whose `Debug` redacts.

use super::interval;
use crate::scrape::without_credentials;
use grafana_plugin_sdk::pluginv2;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// Where the data comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Query a Prometheus server that scrapes vLLM.
    Prometheus,
    /// Scrape vLLM endpoints directly ([`DirectSettings`]).
    Direct,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Prometheus => "prometheus",
            Mode::Direct => "direct",
        }
    }
}

/// A secret value; `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// TLS settings for outgoing HTTPS: certificates are verified against the
/// built-in roots plus `tlsCACert`, unless `tlsSkipVerify` is set; with
/// `tlsAuth`, the plugin presents `tlsClientCert` / `tlsClientKey`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// PEM CA certificate(s) to trust.
    pub ca_cert: Option<Secret>,
    pub skip_verify: bool,
    /// PEM client certificate (chain) and its private key, for mutual TLS.
    pub client: Option<(Secret, Secret)>,
}

impl Tls {
    /// `builder` with these settings; a CA certificate the TLS library
    /// rejects is an error that does not quote the certificate.
    pub fn apply(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, FieldError> {
        let mut builder = builder.danger_accept_invalid_certs(self.skip_verify);
        if let Some(ca) = &self.ca_cert {
            let certs =
                reqwest::Certificate::from_pem_bundle(ca.expose().as_bytes()).map_err(|e| {
                    FieldError {
                        field: "tlsCACert".to_string(),
                        reason: format!("is not usable: {e}"),
                    }
                })?;
            if certs.is_empty() {
                return Err(FieldError {
                    field: "tlsCACert".to_string(),
                    reason: "holds no certificate".to_string(),
                });
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some((cert, key)) = &self.client {
            let pem = format!("{}\n{}\n", cert.expose().trim(), key.expose().trim());
            // The TLS library's message names no key material.
            let identity = reqwest::Identity::from_pem(pem.as_bytes()).map_err(|e| FieldError {
                field: "tlsClientKey".to_string(),
                reason: format!("with tlsClientCert is not a usable client identity: {e}"),
            })?;
            builder = builder.identity(identity);
        }
        Ok(builder)
    }
}

/// Removes secret values from text that leaves the plugin (errors, health
/// answers, resource answers, log lines): defence in depth against a server
/// or library that echoes what it was sent.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Longest first, so a secret containing another is removed whole.
    secrets: Vec<String>,
}

/// Shorter secrets are not searched for: they would mangle ordinary text.
const MIN_REDACTED_LEN: usize = 4;
/// What replaces a secret.
pub const REDACTED: &str = "<redacted>";

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// Every value of `secureJsonData`, and the `Authorization` header
    /// value basic auth derives from user and password.
    fn new(secure: &HashMap<String, String>, basic_user: &str) -> Redactor {
        let mut secrets: Vec<String> = Vec::new();
        for (key, value) in secure {
            let mut add = |v: &str| {
                let v = v.trim();
                if v.len() >= MIN_REDACTED_LEN && !secrets.iter().any(|s| s == v) {
                    secrets.push(v.to_string());
                }
            };
            add(value);
            // PEM blocks: each base64 line on its own, in case one is quoted.
            for line in value.lines() {
                if !line.starts_with("-----") {
                    add(line);
                }
            }
            if key == "basicAuthPassword" && !basic_user.is_empty() {
                add(&base64(format!("{basic_user}:{value}").as_bytes()));
            }
        }
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    /// The redactor of a request's datasource, valid settings or not.
    pub fn of_context(ctx: Option<&pluginv2::PluginContext>) -> Redactor {
        let Some(raw) = ctx.and_then(|c| c.data_source_instance_settings.as_ref()) else {
            return Redactor::default();
        };
        let secure = &raw.decrypted_secure_json_data;
        if secure.is_empty() {
            return Redactor::default();
        }
        // The user is needed only to derive the basic-auth header value.
        let user = if secure.contains_key("basicAuthPassword") {
            serde_json::from_slice::<Value>(&raw.json_data)
                .ok()
                .and_then(|v| v.get("basicAuthUser")?.as_str().map(str::to_string))
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| raw.basic_auth_user.clone())
        } else {
            String::new()
        };
        Redactor::new(secure, user.trim())
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// Like [`Redactor::redact`] for bytes that may not be UTF-8 (left as
    /// they are then, unless a secret occurs: then lossily converted).
    pub fn redact_bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        let found = self
            .secrets
            .iter()
            .any(|s| memchr::memmem::find(&bytes, s.as_bytes()).is_some());
        if !found {
            return bytes;
        }
        self.redact(&String::from_utf8_lossy(&bytes)).into_bytes()
    }
}

/// Standard base64, as in the basic-auth header.
fn base64(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

/// How the plugin authenticates to Prometheus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    None,
    Basic { user: String, password: Secret },
    Bearer(Secret),
}

/// HTTP method for query requests (Grafana's Prometheus datasource defaults to POST).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

/// Validated settings of one datasource instance.
#[derive(Clone, Debug)]
pub struct Settings {
    pub mode: Mode,
    /// The Prometheus base URL, without a trailing slash.
    pub url: String,
    pub auth: Auth,
    /// Extra request headers (`httpHeaderName1` / `httpHeaderValue1`, ...).
    pub headers: Vec<(String, Secret)>,
    /// Certificate verification of HTTPS (Prometheus URL and direct targets).
    pub tls: Tls,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Prometheus scrape interval (`timeInterval`), as written, e.g. "15s";
    /// empty when unset. Drives the minimum step and `$__rate_interval`.
    pub time_interval: String,
    pub http_method: HttpMethod,
    /// Extra parameters for every Prometheus API request
    /// (`customQueryParameters`, e.g. Thanos' `dedup=true&partial_response=true`).
    pub query_params: Vec<(String, String)>,
    /// Direct mode's scraping settings (defaults in Prometheus mode).
    pub direct: DirectSettings,
}

/// What direct mode scrapes, how often, and within which limits.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectSettings {
    /// The endpoints to scrape, normalised, one per host:port.
    pub targets: Vec<crate::scrape::ScrapeTarget>,
    pub scrape_interval: Duration,
    /// Largest accepted scrape body.
    pub max_body_bytes: usize,
    /// Most samples accepted from one scrape of one target.
    pub series_limit: usize,
    /// Longest accepted label value, in bytes.
    pub max_label_value_bytes: usize,
    /// How long scraped history is kept.
    pub retention: Duration,
    /// Certificate verification of https targets (a copy of [`Settings::tls`]).
    pub tls: Tls,
}

/// Default `scrapeInterval`.
pub const DEFAULT_SCRAPE_INTERVAL: &str = "10s";
/// Default `maxBodyBytes`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 << 20;
/// Default `seriesLimit`.
pub const DEFAULT_SERIES_LIMIT: usize = 50_000;
/// Default `maxLabelValueBytes`.
pub const DEFAULT_MAX_LABEL_VALUE_BYTES: usize = 4096;
/// Default `retention`.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(6 * 3600);

impl Default for DirectSettings {
    fn default() -> Self {
        DirectSettings {
            targets: Vec::new(),
            scrape_interval: Duration::from_secs(10),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            series_limit: DEFAULT_SERIES_LIMIT,
            max_label_value_bytes: DEFAULT_MAX_LABEL_VALUE_BYTES,
            retention: DEFAULT_RETENTION,
            tls: Tls::default(),
        }
    }
}

/// Default per-request timeout in Prometheus mode.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest default scrape timeout in direct mode (Prometheus's default);
/// never more than the scrape interval.
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest accepted `timeout`.
pub const MAX_TIMEOUT_SECS: f64 = 3600.0;

/// One invalid setting: which field, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

/// Every invalid setting of a datasource.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid datasource settings: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct SettingsError(pub Vec<FieldError>);

/// Collects field errors while reading `jsonData` / `secureJsonData`.
struct Reader<'a> {
    json: &'a Map<String, Value>,
    secure: &'a HashMap<String, String>,
    errors: Vec<FieldError>,
}

impl Reader<'_> {
    fn fail(&mut self, field: &str, reason: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_string(),
            reason: reason.into(),
        });
    }

    /// A string field; missing, null or empty gives "".
    fn string(&mut self, field: &str) -> String {
        match self.json.get(field) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(other) => {
                self.fail(field, format!("must be a string, got {other}"));
                String::new()
            }
        }
    }

    fn boolean(&mut self, field: &str) -> bool {
        match self.json.get(field) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            // Provisioning files sometimes quote booleans.
            Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
            Some(other) => {
                self.fail(field, format!("must be true or false, got {other}"));
                false
            }
        }
    }

    fn secret(&self, field: &str) -> Option<Secret> {
        self.secure
            .get(field)
            .filter(|v| !v.is_empty())
            .map(|v| Secret::new(v.clone()))
    }
}

/// Raw settings as they arrive in a request's plugin context.
pub struct RawSettings<'a> {
    pub url: &'a str,
    pub json_data: &'a [u8],
    pub secure: &'a HashMap<String, String>,
    /// Grafana's own basic-auth toggle and user (top-level datasource fields).
    pub basic_auth_enabled: bool,
    pub basic_auth_user: &'a str,
}

impl<'a> From<&'a pluginv2::DataSourceInstanceSettings> for RawSettings<'a> {
    fn from(s: &'a pluginv2::DataSourceInstanceSettings) -> Self {
        RawSettings {
            url: &s.url,
            json_data: &s.json_data,
            secure: &s.decrypted_secure_json_data,
            basic_auth_enabled: s.basic_auth_enabled,
            basic_auth_user: &s.basic_auth_user,
        }
    }
}

impl Settings {
    /// Parses and validates; every invalid field is reported.
    pub fn parse(raw: &RawSettings<'_>) -> Result<Settings, SettingsError> {
        // Grafana sends an empty byte string when jsonData was never set.
        let json = if raw.json_data.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Map::new())
        } else {
            match serde_json::from_slice::<Value>(raw.json_data) {
                Ok(v) => v,
                Err(e) => {
                    return Err(SettingsError(vec![FieldError {
                        field: "jsonData".to_string(),
                        reason: format!("is not valid JSON: {e}"),
                    }]))
                }
            }
        };
        let empty = Map::new();
        let mut r = Reader {
            json: json.as_object().unwrap_or(&empty),
            secure: raw.secure,
            errors: Vec::new(),
        };
        if !json.is_object() {
            r.fail("jsonData", format!("must be a JSON object, got {json}"));
        }

        let mode = match r.string("mode").to_ascii_lowercase().as_str() {
            "" | "prometheus" => Mode::Prometheus,
            "direct" => Mode::Direct,
            other => {
                r.fail(
                    "mode",
                    format!("must be \"prometheus\" or \"direct\", got {other:?}"),
                );
                Mode::Prometheus
            }
        };
        let url = read_url(&mut r, raw.url, mode);
        let auth = read_auth(&mut r, raw);
        let headers = read_headers(&mut r);
        let tls_ca_cert = r.secret("tlsCACert");
        if let Some(ca) = &tls_ca_cert {
            if !ca.expose().contains("-----BEGIN CERTIFICATE-----") {
                r.fail(
                    "tlsCACert",
                    "is not a PEM certificate (expected a -----BEGIN CERTIFICATE----- block)",
                );
            }
        }
        let tls = Tls {
            ca_cert: tls_ca_cert,
            skip_verify: r.boolean("tlsSkipVerify"),
            client: read_client_identity(&mut r),
        };
        let explicit_timeout = read_timeout(&mut r);
        let mut timeout = explicit_timeout.unwrap_or(DEFAULT_TIMEOUT);
        let mut time_interval = r.string("timeInterval");
        if !time_interval.is_empty() {
            if let Err(e) = interval::parse_interval(&time_interval) {
                r.fail("timeInterval", format!("{e}: use a duration such as 15s"));
            }
        }
        let direct = if mode == Mode::Direct {
            let (mut direct, scrape_interval) = read_direct(&mut r);
            direct.tls = tls.clone();
            // As in Prometheus: a scrape may not outlast its interval, and
            // the default timeout is the shorter of 10 s and the interval.
            let every = direct.scrape_interval;
            match explicit_timeout {
                Some(t) if t > every => r.fail(
                    "timeout",
                    format!(
                        "({} s) is longer than scrapeInterval ({scrape_interval}): a scrape must end before the next one starts; lower timeout or raise scrapeInterval",
                        t.as_secs_f64()
                    ),
                ),
                Some(_) => {}
                None => timeout = DEFAULT_SCRAPE_TIMEOUT.min(every),
            }
            // `$__rate_interval` follows the plugin's own scrape interval.
            if time_interval.is_empty() {
                time_interval = scrape_interval;
            }
            direct
        } else {
            DirectSettings::default()
        };
        let http_method = match r.string("httpMethod").to_ascii_uppercase().as_str() {
            "" | "POST" => HttpMethod::Post,
            "GET" => HttpMethod::Get,
            other => {
                r.fail(
                    "httpMethod",
                    format!("must be \"POST\" or \"GET\", got {other:?}"),
                );
                HttpMethod::Post
            }
        };
        let query_params = read_query_params(&mut r);
        if !r.errors.is_empty() {
            return Err(SettingsError(r.errors));
        }
        Ok(Settings {
            mode,
            url,
            auth,
            headers,
            tls,
            timeout,
            time_interval,
            http_method,
            query_params,
            direct,
        })
    }
}

fn read_url(r: &mut Reader<'_>, url: &str, mode: Mode) -> String {
    let url = url.trim();
    if mode == Mode::Direct {
        return url.trim_end_matches('/').to_string();
    }
    if url.is_empty() {
        r.fail(
            "url",
            "is empty: set it to the Prometheus server's base URL, e.g. http://prometheus:9090",
        );
        return String::new();
    }
    let shown = without_credentials(url);
    match reqwest::Url::parse(url) {
        // Credentials in the URL would be stored in clear and shown in messages.
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            r.fail(
                "url",
                format!("{shown:?} contains a user or password: set basicAuthUser and basicAuthPassword instead"),
            );
            String::new()
        }
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            if u.query().is_some() || u.fragment().is_some() {
                r.fail(
                    "url",
                    format!("{shown:?} must not have a query string or fragment"),
                );
            }
            url.trim_end_matches('/').to_string()
        }
        Ok(_) => {
            r.fail(
                "url",
                format!("{shown:?} is not an http:// or https:// URL"),
            );
            String::new()
        }
        Err(e) => {
            r.fail(
                "url",
                format!("{shown:?} is not a valid URL ({e}); expected e.g. http://prometheus:9090"),
            );
            String::new()
        }
    }
}

fn read_auth(r: &mut Reader<'_>, raw: &RawSettings<'_>) -> Auth {
    let mut user = r.string("basicAuthUser");
    if user.is_empty() && raw.basic_auth_enabled {
        user = raw.basic_auth_user.trim().to_string();
    }
    let password = r.secret("basicAuthPassword");
    let bearer = r.secret("bearerToken");
    match (user.is_empty(), password, bearer) {
        (true, None, None) => Auth::None,
        (true, None, Some(token)) => Auth::Bearer(token),
        (false, Some(password), None) => Auth::Basic { user, password },
        (false, None, None) => {
            r.fail(
                "basicAuthPassword",
                format!("is missing: basic auth user {user:?} needs a password"),
            );
            Auth::None
        }
        (true, Some(_), _) => {
            r.fail(
                "basicAuthUser",
                "is missing: a basic auth password is set without a user",
            );
            Auth::None
        }
        (false, _, Some(_)) => {
            r.fail(
                "bearerToken",
                "is set together with basic auth: use one of them",
            );
            Auth::None
        }
    }
}

/// `tlsAuth`: the client certificate and key, both PEM; not read when off.
fn read_client_identity(r: &mut Reader<'_>) -> Option<(Secret, Secret)> {
    if !r.boolean("tlsAuth") {
        return None;
    }
    let cert = r.secret("tlsClientCert");
    let key = r.secret("tlsClientKey");
    match (&cert, &key) {
        (Some(c), _) if !c.expose().contains("-----BEGIN CERTIFICATE-----") => r.fail(
            "tlsClientCert",
            "is not a PEM certificate (expected a -----BEGIN CERTIFICATE----- block)",
        ),
        (_, Some(k)) if !k.expose().contains("PRIVATE KEY-----") => r.fail(
            "tlsClientKey",
            "is not a PEM private key (expected a -----BEGIN PRIVATE KEY----- block)",
        ),
        (None, _) => r.fail(
            "tlsClientCert",
            "is missing: tlsAuth needs a client certificate",
        ),
        (_, None) => r.fail("tlsClientKey", "is missing: tlsAuth needs the client key"),
        (Some(_), Some(_)) => {}
    }
    cert.zip(key)
}

/// Grafana's custom headers: `httpHeaderName<N>` in jsonData with the value
/// in `httpHeaderValue<N>` of secureJsonData, N = 1, 2, ...
fn read_headers(r: &mut Reader<'_>) -> Vec<(String, Secret)> {
    let mut numbers: Vec<u32> = r
        .json
        .keys()
        .filter_map(|k| k.strip_prefix("httpHeaderName")?.parse().ok())
        .collect();
    numbers.sort_unstable();
    let mut out = Vec::new();
    for n in numbers {
        let name_field = format!("httpHeaderName{n}");
        let value_field = format!("httpHeaderValue{n}");
        let name = r.string(&name_field);
        if name.is_empty() {
            continue;
        }
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            r.fail(
                &name_field,
                format!("{name:?} is not a valid HTTP header name"),
            );
            continue;
        }
        match r.secret(&value_field) {
            Some(value) => {
                if reqwest::header::HeaderValue::from_str(value.expose()).is_err() {
                    r.fail(
                        &value_field,
                        format!("is not a valid value for header {name:?} (control characters?)"),
                    );
                } else {
                    out.push((name, value));
                }
            }
            None => r.fail(&value_field, format!("is missing for header {name:?}")),
        }
    }
    out
}

/// Parameters the plugin sets itself: a custom one would change the query.
const RESERVED_PARAMS: [&str; 7] = [
    "query", "time", "start", "end", "step", "timeout", "match[]",
];

/// `customQueryParameters`: `name=value` pairs joined by `&`, URL-encoded as
/// in a query string (Grafana's Prometheus datasource has the same field).
fn read_query_params(r: &mut Reader<'_>) -> Vec<(String, String)> {
    let text = r.string("customQueryParameters");
    let text = text.trim_start_matches('?');
    let mut out = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        if !pair.contains('=') {
            r.fail(
                "customQueryParameters",
                format!("{pair:?} has no value: write name=value pairs joined by &, e.g. dedup=true&partial_response=true"),
            );
            continue;
        }
        // One pair, decoded as a query string decodes it.
        let Some((name, value)) = url::form_urlencoded::parse(pair.as_bytes()).next() else {
            continue;
        };
        let (name_decoded, value) = (name.into_owned(), value.into_owned());
        if name_decoded.trim().is_empty() {
            r.fail("customQueryParameters", format!("{pair:?} has no name"));
        } else if RESERVED_PARAMS.contains(&name_decoded.as_str()) {
            r.fail(
                "customQueryParameters",
                format!(
                    "{name_decoded:?} is set by the plugin for each query and cannot be overridden"
                ),
            );
        } else {
            out.push((name_decoded, value));
        }
    }
    out
}

/// Direct mode's fields, and `scrapeInterval` as written (or the default).
fn read_direct(r: &mut Reader<'_>) -> (DirectSettings, String) {
    let mut out = DirectSettings::default();
    match r.json.get("targets") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let field = format!("targets[{i}]");
                match item {
                    Value::String(s) => match crate::scrape::ScrapeTarget::parse(s) {
                        Ok(target) => {
                            // Series are kept per `instance` (host:port): two
                            // targets there would overwrite each other.
                            let instance = target.instance();
                            match out.targets.iter().find(|t| t.instance() == instance) {
                                Some(first) => r.fail(
                                    &field,
                                    format!("{:?} has the same host:port ({instance}) as {:?}: list each vLLM server once", target.url(), first.url()),
                                ),
                                None => out.targets.push(target),
                            }
                        }
                        Err(e) => r.fail(&field, e.to_string()),
                    },
                    other => r.fail(&field, format!("must be a URL string, got {other}")),
                }
            }
        }
        Some(other) => r.fail(
            "targets",
            format!("must be a list of metrics URLs such as [\"http://10.0.0.5:8000/metrics\"], got {other}"),
        ),
    }
    let mut interval_text = r.string("scrapeInterval");
    if interval_text.is_empty() {
        interval_text = DEFAULT_SCRAPE_INTERVAL.to_string();
    }
    match interval::parse_interval(&interval_text) {
        Ok(d) if d >= Duration::from_secs(1) => out.scrape_interval = d,
        Ok(_) => r.fail(
            "scrapeInterval",
            format!("{interval_text:?} is shorter than 1s"),
        ),
        Err(e) => r.fail("scrapeInterval", format!("{e}: use a duration such as 10s")),
    }
    if let Some(n) = positive_integer(r, "maxBodyBytes") {
        out.max_body_bytes = n;
    }
    if let Some(n) = positive_integer(r, "seriesLimit") {
        out.series_limit = n;
    }
    if let Some(n) = positive_integer(r, "maxLabelValueBytes") {
        out.max_label_value_bytes = n;
    }
    let retention = r.string("retention");
    if !retention.is_empty() {
        match interval::parse_interval(&retention) {
            Ok(d) if d >= Duration::from_secs(60) => out.retention = d,
            Ok(_) => r.fail("retention", format!("{retention:?} is shorter than 1m")),
            Err(e) => r.fail("retention", format!("{e}: use a duration such as 6h")),
        }
    }
    (out, interval_text)
}

/// An optional positive integer field (a number or a numeric string).
fn positive_integer(r: &mut Reader<'_>, field: &str) -> Option<usize> {
    let n = match r.json.get(field) {
        None | Some(Value::Null) => return None,
        Some(Value::String(s)) if s.trim().is_empty() => return None,
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if n > 0 => usize::try_from(n).ok(),
        _ => {
            let got = r.json.get(field).map(Value::to_string).unwrap_or_default();
            r.fail(field, format!("must be a positive whole number, got {got}"));
            None
        }
    }
}

/// `timeout` when set (and valid).
fn read_timeout(r: &mut Reader<'_>) -> Option<Duration> {
    let secs = match r.json.get("timeout") {
        None | Some(Value::Null) => return None,
        Some(Value::String(s)) if s.trim().is_empty() => return None,
        Some(Value::Number(n)) => n.as_f64(),
        // Grafana's config page stores numbers typed into text boxes as strings.
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match secs {
        Some(s) if (1.0..=MAX_TIMEOUT_SECS).contains(&s) => Some(Duration::from_secs_f64(s)),
        _ => {
            let got = r
                .json
                .get("timeout")
                .map(Value::to_string)
                .unwrap_or_default();
            r.fail(
                "timeout",
                format!("must be a number of seconds from 1 to {MAX_TIMEOUT_SECS}, got {got}"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(url: &str, json: Value, secure: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let secure: HashMap<String, String> = secure
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let bytes = serde_json::to_vec(&json).unwrap_or_default();
        Settings::parse(&RawSettings {
            url,
            json_data: &bytes,
            secure: &secure,
            basic_auth_enabled: false,
            basic_auth_user: "",
        })
    }

    fn fields(e: &SettingsError) -> Vec<&str> {
        e.0.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn defaults_to_prometheus_mode_without_auth() {
        let s = parse("http://prom:9090/", json!({}), &[]).expect("valid");
        assert_eq!(s.mode, Mode::Prometheus);
        assert_eq!(s.url, "http://prom:9090");
        assert_eq!(s.auth, Auth::None);
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        assert_eq!(s.http_method, HttpMethod::Post);
        let empty = Settings::parse(&RawSettings {
            url: "http://prom:9090",
            json_data: b"",
            secure: &HashMap::new(),
            basic_auth_enabled: false,
            basic_auth_user: "",
        });
        assert!(empty.is_ok());
    }

    #[test]
    fn every_bad_field_is_named() {
        let e = parse(
            "ftp://x",
            json!({"mode": "scrape", "tlsSkipVerify": "yes", "timeout": "soon",
                   "timeInterval": "often", "httpHeaderName1": "Bad Header", "httpMethod": "PUT"}),
            &[("tlsCACert", "not pem"), ("basicAuthPassword", "pw")],
        )
        .expect_err("invalid");
        let mut got = fields(&e);
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "basicAuthUser",
                "httpHeaderName1",
                "httpMethod",
                "mode",
                "timeInterval",
                "timeout",
                "tlsCACert",
                "tlsSkipVerify",
                "url"
            ]
        );
        assert!(e
            .to_string()
            .contains("`timeout` must be a number of seconds"));
    }

    #[test]
    fn auth_and_headers_are_read_and_secrets_redacted() {
        let s = parse(
            "https://prom.example/prometheus",
            json!({"basicAuthUser": "grafana", "httpHeaderName2": "X-Scope-OrgID",
                   "httpHeaderName1": "X-Team", "timeout": "12.5", "timeInterval": "5s"}),
            &[
                ("basicAuthPassword", "hunter2"),
                ("httpHeaderValue1", "team-a"),
                ("httpHeaderValue2", "tenant-7"),
            ],
        )
        .expect("valid");
        assert_eq!(
            s.auth,
            Auth::Basic {
                user: "grafana".into(),
                password: Secret::new("hunter2")
            }
        );
        let names: Vec<&str> = s.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["X-Team", "X-Scope-OrgID"]);
        assert_eq!(s.timeout, Duration::from_millis(12_500));
        let debug = format!("{s:?}");
        for secret in ["hunter2", "team-a", "tenant-7"] {
            assert!(!debug.contains(secret), "{secret} leaked: {debug}");
        }
    }

    #[test]
    fn conflicting_or_incomplete_auth_is_reported() {
        let e = parse(
            "http://p:9090",
            json!({"basicAuthUser": "u"}),
            &[("basicAuthPassword", "p"), ("bearerToken", "t")],
        )
        .expect_err("both");
        assert_eq!(fields(&e), ["bearerToken"]);
        let e = parse("http://p:9090", json!({"basicAuthUser": "u"}), &[]).expect_err("no pw");
        assert_eq!(fields(&e), ["basicAuthPassword"]);
        let e =
            parse("http://p:9090", json!({"httpHeaderName1": "X-A"}), &[]).expect_err("no value");
        assert_eq!(fields(&e), ["httpHeaderValue1"]);
        let s = parse("http://p:9090", json!({}), &[("bearerToken", "t")]).expect("bearer");
        assert_eq!(s.auth, Auth::Bearer(Secret::new("t")));
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        let e = parse("http://admin:hunter2@prom:9090", json!({}), &[]).expect_err("refused");
        assert_eq!(fields(&e), ["url"]);
        let msg = e.to_string();
        assert!(
            !msg.contains("hunter2") && msg.contains("***@prom:9090"),
            "{msg}"
        );
        assert_eq!(
            without_credentials("http://p:9090/a@b"),
            "http://p:9090/a@b"
        );
    }

    #[test]
    fn custom_query_parameters_are_decoded_and_may_not_override_the_query() {
        let s = parse(
            "http://thanos:9090",
            json!({"customQueryParameters": "?dedup=true&partial_response=true&max_source_resolution=5m&x=a%20b"}),
            &[],
        )
        .expect("valid");
        assert_eq!(
            s.query_params,
            [
                ("dedup".to_string(), "true".to_string()),
                ("partial_response".to_string(), "true".to_string()),
                ("max_source_resolution".to_string(), "5m".to_string()),
                ("x".to_string(), "a b".to_string()),
            ]
        );
        let e = parse(
            "http://p:9090",
            json!({"customQueryParameters": "query=up&dedup"}),
            &[],
        )
        .expect_err("reserved and valueless");
        assert_eq!(
            fields(&e),
            ["customQueryParameters", "customQueryParameters"]
        );
        assert!(
            e.to_string().contains("\"query\" is set by the plugin"),
            "{e}"
        );
        assert!(e.to_string().contains("\"dedup\" has no value"), "{e}");
    }

    #[test]
    fn direct_mode_reads_and_validates_targets() {
        let s = parse(
            "",
            json!({"mode": "direct", "targets": ["http://10.0.0.5:8000", "https://h/custom"],
                   "scrapeInterval": "5s", "seriesLimit": "100", "retention": "1h"}),
            &[],
        )
        .expect("valid");
        let urls: Vec<String> = s.direct.targets.iter().map(|t| t.url()).collect();
        assert_eq!(urls, ["http://10.0.0.5:8000/metrics", "https://h/custom"]);
        assert_eq!(s.direct.scrape_interval, Duration::from_secs(5));
        assert_eq!(s.direct.series_limit, 100);
        assert_eq!(s.direct.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(s.direct.retention, Duration::from_secs(3600));
        assert_eq!(
            s.direct.max_label_value_bytes,
            DEFAULT_MAX_LABEL_VALUE_BYTES
        );
        assert_eq!(s.time_interval, "5s");
        let defaults = parse("", json!({"mode": "direct"}), &[]).expect("valid");
        assert_eq!(defaults.direct.scrape_interval, Duration::from_secs(10));
        assert_eq!(defaults.time_interval, "10s");
        let e = parse(
            "",
            json!({"mode": "direct", "targets": ["http://ok:1", "ftp://x", 3],
                   "scrapeInterval": "100ms", "maxBodyBytes": 0}),
            &[],
        )
        .expect_err("invalid");
        assert_eq!(
            fields(&e),
            ["targets[1]", "targets[2]", "scrapeInterval", "maxBodyBytes"]
        );
    }

    #[test]
    fn direct_mode_limits_and_one_target_per_host_port() {
        let s = parse(
            "",
            json!({"mode": "direct", "targets": ["http://a:1"], "maxBodyBytes": 1000,
                   "seriesLimit": 10, "maxLabelValueBytes": "256"}),
            &[],
        )
        .expect("valid");
        assert_eq!(
            (
                s.direct.max_body_bytes,
                s.direct.series_limit,
                s.direct.max_label_value_bytes
            ),
            (1000, 10, 256)
        );
        let e = parse(
            "",
            json!({"mode": "direct", "maxLabelValueBytes": -1,
                   "targets": ["http://a:1/metrics", "http://b:1", "http://a:1/other"]}),
            &[],
        )
        .expect_err("invalid");
        assert_eq!(fields(&e), ["targets[2]", "maxLabelValueBytes"]);
        assert!(e.to_string().contains("same host:port (a:1)"), "{e}");
    }

    #[test]
    fn the_redactor_removes_every_secret_and_the_basic_auth_header() {
        let secure: HashMap<String, String> = [
            ("basicAuthPassword", "pw-1234"),
            ("httpHeaderValue1", "tenant-secret"),
            (
                "tlsClientKey",
                "-----BEGIN KEY-----\nQUJDREVGR0g=\n-----END KEY-----",
            ),
            ("short", "ab"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let r = Redactor::new(&secure, "user");
        let header = base64(b"user:pw-1234");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        let text = format!("got pw-1234, tenant-secret, QUJDREVGR0g= and Basic {header}; ab stays");
        let out = r.redact(&text);
        for secret in ["pw-1234", "tenant-secret", "QUJDREVGR0g=", header.as_str()] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains("ab stays"), "{out}");
        assert_eq!(r.redact_bytes(b"clean".to_vec()), b"clean");
        assert!(!format!("{r:?}").contains("pw-1234"));
    }

    #[test]
    fn tls_settings_reach_both_modes() {
        let s = parse("", json!({"mode": "direct", "tlsSkipVerify": true}), &[]).expect("valid");
        assert!(s.tls.skip_verify && s.direct.tls.skip_verify);
        assert!(Tls::default().apply(reqwest::Client::builder()).is_ok());
        let bad = Tls {
            client: None,
            ca_cert: Some(Secret::new(
                "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----",
            )),
            skip_verify: false,
        };
        let e = bad
            .apply(reqwest::Client::builder())
            .and_then(|b| {
                b.build().map_err(|e| FieldError {
                    field: "tlsCACert".into(),
                    reason: e.to_string(),
                })
            })
            .err();
        assert!(e.is_some_and(|e| e.field == "tlsCACert"));
        let e = parse(
            "http://p:9090",
            json!({"tlsAuth": true}),
            &[
                ("tlsClientCert", "not pem"),
                ("tlsClientKey", "secret-key-text"),
            ],
        )
        .expect_err("not PEM");
        assert_eq!(fields(&e), ["tlsClientCert"]);
        assert!(!e.to_string().contains("secret-key-text"));
        let e = parse("http://p:9090", json!({"tlsAuth": "true"}), &[]).expect_err("missing");
        assert_eq!(fields(&e), ["tlsClientCert"]);
        // Off: the fields are not read.
        let s = parse(
            "http://p:9090",
            json!({"tlsAuth": false}),
            &[("tlsClientCert", "x"), ("tlsClientKey", "y")],
        )
        .expect("valid");
        assert_eq!(s.tls.client, None);
    }

    #[test]
    fn direct_mode_needs_no_url_and_invalid_json_is_named() {
        let s = parse("", json!({"mode": "direct"}), &[]).expect("direct");
        assert_eq!(s.mode, Mode::Direct);
        let e = parse("", json!({}), &[]).expect_err("no url");
        assert_eq!(fields(&e), ["url"]);
        let e = Settings::parse(&RawSettings {
            url: "http://p",
            json_data: b"{not json",
            secure: &HashMap::new(),
            basic_auth_enabled: false,
            basic_auth_user: "",
        })
        .expect_err("bad json");
        assert_eq!(fields(&e), ["jsonData"]);
        let e = parse("http://p", json!([1]), &[]).expect_err("not object");
        assert_eq!(fields(&e), ["jsonData"]);
    }
}
