//! Prometheus mode: the HTTP API client behind [`QueryBackend`].
//!
//! Every answer is classified before it is trusted: Prometheus' own JSON
//! errors come back verbatim, and the usual misconfigurations (wrong URL,
//! an HTML login page, 401/403, a server that never answers) get their own
//! [`BackendError`] with what to check.

use super::backend::{
    ApiCall, ApiMethod, BackendError, HealthReport, InstantRequest, Labels, Point, QueryBackend,
    QueryResult, RangeRequest, RawAnswer, ResultData, Series, SeriesFilter,
};
use super::interval;
use super::settings::{Auth, FieldError, HttpMethod, Settings, SettingsError};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

/// Answers larger than this are refused rather than buffered.
const MAX_BODY_BYTES: usize = 256 << 20;

/// A Prometheus server, as configured in one datasource.
pub struct PrometheusBackend {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    method: HttpMethod,
    timeout: Duration,
    /// `customQueryParameters`, sent with every API request.
    extra: Vec<(String, String)>,
}

/// `/api/v1/status/buildinfo`. VictoriaMetrics answers it with empty `data`;
/// Grafana Mimir adds `application`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct BuildInfo {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub application: Option<String>,
}

/// Which Prometheus-compatible server answers the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    Prometheus,
    VictoriaMetrics,
    Mimir,
    /// Speaks the API but says nothing of itself.
    Compatible,
}

/// The server behind the datasource URL, as far as it tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub kind: ServerKind,
    pub version: Option<String>,
}

impl Server {
    /// "Prometheus 2.42.0", "VictoriaMetrics", ...
    pub fn describe(&self) -> String {
        let name = match self.kind {
            ServerKind::Prometheus => "Prometheus",
            ServerKind::VictoriaMetrics => "VictoriaMetrics",
            ServerKind::Mimir => "Grafana Mimir",
            ServerKind::Compatible => "A Prometheus-compatible server",
        };
        match &self.version {
            Some(v) => format!("{name} {v}"),
            None => name.to_string(),
        }
    }

    /// A short name for machine-readable details.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ServerKind::Prometheus => "prometheus",
            ServerKind::VictoriaMetrics => "victoriametrics",
            ServerKind::Mimir => "mimir",
            ServerKind::Compatible => "compatible",
        }
    }
}

/// One active scrape target (`/api/v1/targets`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub scrape_url: String,
    #[serde(default)]
    pub health: String,
    #[serde(default)]
    pub last_error: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Targets {
    #[serde(default)]
    active_targets: Vec<Target>,
}

/// The Prometheus API envelope.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    error_type: Option<String>,
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
}

/// A successful answer's data with its warnings.
struct Answer<T> {
    data: T,
    warnings: Vec<String>,
    infos: Vec<String>,
}

impl PrometheusBackend {
    /// Builds the HTTP client for validated settings; a CA certificate the
    /// TLS library rejects is reported against `tlsCACert`.
    pub fn new(settings: &Settings) -> Result<PrometheusBackend, SettingsError> {
        let field_error = |field: &str, reason: String| {
            SettingsError(vec![FieldError {
                field: field.to_string(),
                reason,
            }])
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::USER_AGENT,
            HeaderValue::from_static(concat!(
                "vllm-grafana-datasource/",
                env!("CARGO_PKG_VERSION")
            )),
        );
        for (i, (name, value)) in settings.headers.iter().enumerate() {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| field_error(&format!("httpHeaderName{}", i + 1), e.to_string()))?;
            let mut value = HeaderValue::from_str(value.expose())
                .map_err(|e| field_error(&format!("httpHeaderValue{}", i + 1), e.to_string()))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let builder = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .tcp_nodelay(true)
            .redirect(same_origin_redirects());
        let builder = settings
            .tls
            .apply(builder)
            .map_err(|e| SettingsError(vec![e]))?;
        let http = builder.build().map_err(|e| {
            let field = if settings.tls.ca_cert.is_some() {
                "tlsCACert"
            } else {
                "url"
            };
            field_error(field, format!("cannot set up the HTTP client: {e}"))
        })?;
        Ok(PrometheusBackend {
            http,
            base: settings.url.clone(),
            auth: settings.auth.clone(),
            method: settings.http_method,
            timeout: settings.timeout,
            extra: settings.query_params.clone(),
        })
    }

    /// The datasource URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.base)
    }

    fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            Auth::None => req,
            Auth::Basic { user, password } => req.basic_auth(user, Some(password.expose())),
            Auth::Bearer(token) => req.bearer_auth(token.expose()),
        }
    }

    fn transport_error(&self, url: &str, e: &reqwest::Error) -> BackendError {
        let url = url.to_string();
        if e.is_timeout() {
            return BackendError::Timeout {
                url,
                secs: self.timeout.as_secs_f64(),
            };
        }
        // The innermost cause is the readable one ("Connection refused").
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            detail = s.to_string();
            source = s.source();
        }
        if is_certificate_error(e) {
            let detail = format!(
                "TLS: {detail}. The server's certificate is not trusted: set tlsCACert to the CA that signed it, or tlsSkipVerify to skip the check (insecure)"
            );
            BackendError::Connect { url, detail }
        } else if e.is_connect() {
            BackendError::Connect { url, detail }
        } else {
            BackendError::Transport { url, detail }
        }
    }

    /// Sends a request and reads at most [`MAX_BODY_BYTES`] of the answer.
    async fn send(
        &self,
        url: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, String, Vec<u8>), BackendError> {
        let mut resp = self
            .authorize(req)
            .send()
            .await
            .map_err(|e| self.transport_error(url, &e))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let hint = resp.content_length().unwrap_or(0) as usize;
        let mut body = Vec::with_capacity(hint.min(MAX_BODY_BYTES));
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.transport_error(url, &e))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(BackendError::TooLarge {
                    url: url.to_string(),
                    limit_mib: MAX_BODY_BYTES >> 20,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, content_type, body))
    }

    /// Calls an API endpoint and classifies the answer.
    async fn call<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, String)],
        method: HttpMethod,
    ) -> Result<Answer<T>, BackendError> {
        let url = self.endpoint(path);
        let mut all: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let req = match method {
            HttpMethod::Get => self.http.get(&url).query(&all),
            HttpMethod::Post => self.http.post(&url).form(&all),
        };
        let (status, content_type, body) = self.send(&url, req).await?;
        classify(&url, status, &content_type, &body)
    }

    async fn query(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<QueryResult, BackendError> {
        let answer: Answer<WireData> = self.call(path, params, self.method).await?;
        Ok(QueryResult {
            data: answer.data.0,
            warnings: answer.warnings,
            infos: answer.infos,
        })
    }

    /// Prometheus' own evaluation timeout: give up when we do.
    fn timeout_param(&self) -> (&'static str, String) {
        ("timeout", interval::promql_duration(self.timeout))
    }

    pub async fn build_info(&self) -> Result<BuildInfo, BackendError> {
        Ok(self
            .call::<BuildInfo>("status/buildinfo", &[], HttpMethod::Get)
            .await?
            .data)
    }

    /// Which server this is: its build info when it gives one; else
    /// `/api/v1/status/active_queries`, which VictoriaMetrics serves and
    /// Prometheus does not. Errors only when the API itself fails.
    pub async fn identify(&self) -> Result<Server, BackendError> {
        let info = match self.build_info().await {
            Ok(info) => info,
            // Older Prometheus and some compatible servers lack buildinfo.
            Err(BackendError::Http { status: 404, .. })
            | Err(BackendError::NotPrometheus { status: 404, .. }) => BuildInfo::default(),
            Err(e) => return Err(e),
        };
        let version = Some(info.version.trim().to_string()).filter(|v| !v.is_empty());
        if let Some(app) = info.application.as_deref() {
            if app.to_ascii_lowercase().contains("mimir") {
                return Ok(Server {
                    kind: ServerKind::Mimir,
                    version,
                });
            }
        }
        if version.is_some() {
            return Ok(Server {
                kind: ServerKind::Prometheus,
                version,
            });
        }
        let url = self.endpoint("status/active_queries");
        let probe = self.send(&url, self.http.get(&url)).await;
        let kind = match probe {
            Ok((200, _, _)) => ServerKind::VictoriaMetrics,
            _ => ServerKind::Compatible,
        };
        Ok(Server { kind, version })
    }

    pub async fn active_targets(&self) -> Result<Vec<Target>, BackendError> {
        let answer: Answer<Targets> = self
            .call(
                "targets",
                &[("state", "active".to_string())],
                HttpMethod::Get,
            )
            .await?;
        Ok(answer.data.active_targets)
    }

    /// A Prometheus API call passed on with the datasource's auth, headers,
    /// custom parameters, TLS, deadline and body limit; the answer as
    /// received, but 401/403 (Grafana would take them for its own).
    async fn pass(&self, call: &ApiCall<'_>) -> Result<RawAnswer, BackendError> {
        let url = self.endpoint(call.path);
        let mut all: Vec<(&str, &str)> = call
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let timeout = self.timeout_param();
        let evaluates = matches!(call.path, "query" | "query_range");
        if evaluates && !all.iter().any(|(k, _)| *k == timeout.0) {
            all.push((timeout.0, timeout.1.as_str()));
        }
        all.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let req = match call.method {
            ApiMethod::Get => self.http.get(&url).query(&all),
            ApiMethod::Post => self.http.post(&url).form(&all),
        };
        let (status, content_type, body) = self.send(&url, req).await?;
        if status == 401 || status == 403 {
            return Err(BackendError::Unauthorized { url, status });
        }
        Ok(RawAnswer {
            status,
            content_type: if content_type.is_empty() {
                "application/json".to_string()
            } else {
                content_type
            },
            body,
        })
    }

    async fn strings(
        &self,
        path: &str,
        filter: &SeriesFilter,
    ) -> Result<Vec<String>, BackendError> {
        let mut params: Vec<(&str, String)> = filter
            .matchers
            .iter()
            .map(|m| ("match[]", m.clone()))
            .collect();
        params.extend(filter.start.iter().map(|s| ("start", s.clone())));
        params.extend(filter.end.iter().map(|e| ("end", e.clone())));
        let answer: Answer<Option<Vec<String>>> = self.call(path, &params, HttpMethod::Get).await?;
        Ok(answer.data.unwrap_or_default())
    }
}

/// Redirects are followed (at most 5) only within the datasource URL's
/// scheme, host and port: elsewhere they would carry the credentials and
/// custom headers to a host the admin did not configure.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        let same = first.scheme() == attempt.url().scheme()
            && first.host_str() == attempt.url().host_str()
            && first.port_or_known_default() == attempt.url().port_or_known_default();
        if !same {
            let to = attempt.url().origin().ascii_serialization();
            attempt.error(format!(
                "refused a redirect to another server ({to}): set the datasource URL to the server that answers"
            ))
        } else if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else {
            attempt.follow()
        }
    })
}

/// Did TLS refuse the server's certificate? (The TLS library's error is
/// somewhere in the cause chain.)
fn is_certificate_error(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if text.contains("invalid peer certificate") || text.contains("UnknownIssuer") {
            return true;
        }
        source = s.source();
    }
    false
}

/// Turns an HTTP answer into data or the most useful error.
fn classify<T: DeserializeOwned>(
    url: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> Result<Answer<T>, BackendError> {
    // Prometheus has no authentication of its own: 401/403 come from a proxy.
    if status == 401 || status == 403 {
        return Err(BackendError::Unauthorized {
            url: url.to_string(),
            status,
        });
    }
    let typed_error = match serde_json::from_slice::<Envelope<T>>(body) {
        Ok(env) if env.status == "success" => {
            // `"data": null` is an empty answer where the type allows it.
            let data = match env.data {
                Some(data) => Some(data),
                None => serde_json::from_slice::<T>(b"null").ok(),
            };
            if let Some(data) = data {
                return Ok(Answer {
                    data,
                    warnings: env.warnings,
                    infos: env.infos,
                });
            }
            None
        }
        Ok(_) => None,
        Err(e) => Some(e),
    };
    if let Ok(env) = serde_json::from_slice::<Envelope<IgnoredAny>>(body) {
        if env.status == "error" {
            return Err(BackendError::Prometheus {
                status,
                error_type: env.error_type.unwrap_or_else(|| "error".to_string()),
                error: env.error.unwrap_or_default(),
            });
        }
    }
    let url = url.to_string();
    let start = String::from_utf8_lossy(&body[..body.len().min(512)]).to_string();
    if content_type.starts_with("text/html") || start.trim_start().starts_with('<') {
        return Err(BackendError::NotPrometheus {
            url,
            status,
            what: "an HTML page".to_string(),
        });
    }
    if !(200..300).contains(&status) {
        let mut text: String = start.chars().take(200).collect();
        if text.trim().is_empty() {
            text = "(empty body)".to_string();
        }
        return Err(BackendError::Http {
            url,
            status,
            body: text.trim().to_string(),
        });
    }
    let what = match typed_error {
        Some(e) => format!("a body that is not Prometheus API JSON ({e})"),
        None => "an answer without data".to_string(),
    };
    Err(BackendError::NotPrometheus { url, status, what })
}

#[tonic::async_trait]
impl QueryBackend for PrometheusBackend {
    async fn query_range(&self, req: &RangeRequest<'_>) -> Result<QueryResult, BackendError> {
        let params = [
            ("query", req.expr.to_string()),
            ("start", interval::prometheus_time(req.start_ns)),
            ("end", interval::prometheus_time(req.end_ns)),
            ("step", interval::prometheus_step(req.step)),
            self.timeout_param(),
        ];
        self.query("query_range", &params).await
    }

    async fn query_instant(&self, req: &InstantRequest<'_>) -> Result<QueryResult, BackendError> {
        let params = [
            ("query", req.expr.to_string()),
            ("time", interval::prometheus_time(req.time_ns)),
            self.timeout_param(),
        ];
        self.query("query", &params).await
    }

    async fn labels(&self, filter: &SeriesFilter) -> Result<Vec<String>, BackendError> {
        self.strings("labels", filter).await
    }

    async fn label_values(
        &self,
        label: &str,
        filter: &SeriesFilter,
    ) -> Result<Vec<String>, BackendError> {
        // Callers pass a validated label name: it is safe in a URL path.
        self.strings(&format!("label/{label}/values"), filter).await
    }

    async fn metric_names(&self, filter: &SeriesFilter) -> Result<Vec<String>, BackendError> {
        self.label_values("__name__", filter).await
    }

    async fn passthrough(&self, call: &ApiCall<'_>) -> Option<Result<RawAnswer, BackendError>> {
        Some(self.pass(call).await)
    }

    async fn health(&self) -> HealthReport {
        super::health::check(self).await
    }
}

/// `data` of a query answer: `{"resultType": ..., "result": ...}`.
struct WireData(ResultData);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum DataKey {
    ResultType,
    Result,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for WireData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DataVisitor)
    }
}

struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = WireData;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Prometheus query result object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireData, A::Error> {
        let mut kind: Option<String> = None;
        let mut data = None;
        // Prometheus writes `resultType` first; keep `result` aside if not.
        let mut early: Option<serde_json::Value> = None;
        while let Some(key) = map.next_key::<DataKey>()? {
            match key {
                DataKey::ResultType => kind = Some(map.next_value()?),
                DataKey::Result => match kind.as_deref() {
                    Some(k) => data = Some(map.next_value_seed(ResultSeed(k))?),
                    None => early = Some(map.next_value()?),
                },
                DataKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let kind = kind.ok_or_else(|| de::Error::missing_field("resultType"))?;
        if let Some(value) = early {
            data = Some(
                ResultSeed(&kind)
                    .deserialize(value)
                    .map_err(de::Error::custom)?,
            );
        }
        data.map(WireData)
            .ok_or_else(|| de::Error::missing_field("result"))
    }
}

struct ResultSeed<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for ResultSeed<'_> {
    type Value = ResultData;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ResultData, D::Error> {
        match self.0 {
            "matrix" => Ok(ResultData::Matrix(
                Vec::<WireSeries>::deserialize(d)?
                    .into_iter()
                    .map(|s| Series {
                        labels: s.metric,
                        points: s.values.into_iter().map(|p| p.0).collect(),
                    })
                    .collect(),
            )),
            "vector" => Ok(ResultData::Vector(
                Vec::<WireSample>::deserialize(d)?
                    .into_iter()
                    .map(|s| Series {
                        labels: s.metric,
                        points: s.value.map(|p| p.0).into_iter().collect(),
                    })
                    .collect(),
            )),
            "scalar" => Ok(ResultData::Scalar(WirePoint::deserialize(d)?.0)),
            "string" => {
                let (t, value) = <(f64, String)>::deserialize(d)?;
                Ok(ResultData::String {
                    t_ms: seconds_to_ms(t),
                    value,
                })
            }
            other => Err(de::Error::custom(format!("unknown result type {other:?}"))),
        }
    }
}

#[derive(Deserialize)]
struct WireSeries {
    #[serde(default)]
    metric: Labels,
    #[serde(default)]
    values: Vec<WirePoint>,
}

#[derive(Deserialize)]
struct WireSample {
    #[serde(default)]
    metric: Labels,
    /// Absent for native-histogram samples, which frames do not carry.
    value: Option<WirePoint>,
}

/// `[<unix seconds>, "<value>"]`, parsed without allocating.
struct WirePoint(Point);

fn seconds_to_ms(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

impl<'de> Deserialize<'de> for WirePoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(PointVisitor)
    }
}

struct PointVisitor;

impl<'de> Visitor<'de> for PointVisitor {
    type Value = WirePoint;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a [timestamp, \"value\"] pair")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<WirePoint, A::Error> {
        let t: f64 = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let v: SampleValue = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        Ok(WirePoint(Point {
            t_ms: seconds_to_ms(t),
            v: v.0,
        }))
    }
}

/// A sample value as Prometheus writes it: a string (`"1.5"`, `"NaN"`, `"+Inf"`).
struct SampleValue(f64);

impl<'de> Deserialize<'de> for SampleValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SampleValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sample value string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<SampleValue, E> {
                s.parse::<f64>()
                    .map(SampleValue)
                    .map_err(|_| E::custom(format!("invalid sample value {s:?}")))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<QueryResult, BackendError> {
        classify::<WireData>(
            "http://p/api/v1/query",
            200,
            "application/json",
            body.as_bytes(),
        )
        .map(|a| QueryResult {
            data: a.data.0,
            warnings: a.warnings,
            infos: a.infos,
        })
    }

    #[test]
    fn decodes_every_result_type_and_special_values() {
        let m = parse(r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},"values":[[1700000000.123,"1"],[1700000001,"NaN"],[1700000002,"+Inf"],[1700000003,"-Inf"]]}]},"warnings":["w1"]}"#)
            .expect("matrix");
        let ResultData::Matrix(series) = &m.data else {
            panic!("not a matrix: {m:?}");
        };
        assert_eq!(series[0].labels["job"], "a");
        assert_eq!(
            series[0].points[0],
            Point {
                t_ms: 1_700_000_000_123,
                v: 1.0
            }
        );
        assert!(series[0].points[1].v.is_nan());
        assert_eq!(series[0].points[2].v, f64::INFINITY);
        assert_eq!(series[0].points[3].v, f64::NEG_INFINITY);
        assert_eq!(m.warnings, ["w1"]);
        let v = parse(r#"{"status":"success","data":{"result":[{"metric":{},"value":[1700000000,"2.5"]}],"resultType":"vector"}}"#)
            .expect("vector, result before resultType");
        assert_eq!(
            v.data,
            ResultData::Vector(vec![Series {
                labels: Labels::new(),
                points: vec![Point {
                    t_ms: 1_700_000_000_000,
                    v: 2.5
                }]
            }])
        );
        let s = parse(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}"#,
        )
        .expect("scalar");
        assert_eq!(
            s.data,
            ResultData::Scalar(Point {
                t_ms: 1_700_000_000_000,
                v: 3.0
            })
        );
    }

    #[test]
    fn classifies_failures() {
        let err = |status, ct: &str, body: &str| {
            classify::<WireData>("http://p/api/v1/query", status, ct, body.as_bytes())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            err(
                400,
                "application/json",
                r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected"}"#
            ),
            "bad_data: 1:5: parse error: unexpected"
        );
        assert!(err(401, "text/plain", "no").contains("HTTP 401: check the basic auth"));
        assert!(err(200, "text/html", "<!doctype html><html>").contains("an HTML page"));
        assert!(err(502, "text/plain", "upstream down").contains("HTTP 502: upstream down"));
        assert!(err(200, "application/json", r#"{"hello":1}"#).contains("not Prometheus API JSON"));
    }
}
