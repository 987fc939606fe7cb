//! Live panels: the `pluginv2` Stream service (Grafana Live).
//!
//! A query with `live: true` on a direct-mode datasource is answered by
//! QueryData with its history as one wide frame whose `meta.channel` is
//! `ds/<uid>/q1/<query>`. Grafana's frontend sees the channel, keeps the
//! frame and subscribes; Grafana then calls SubscribeStream (may this
//! channel be followed?) and, for the first subscriber, RunStream, whose
//! packets it appends to the frame. RunStream sends one packet per scrape
//! round of the datasource (the targets scraped at one tick of
//! `scrapeInterval`): the query evaluated when the round has ended.
//!
//! **The channel path** is the query itself, so any Grafana node and any
//! plugin process (after a restart) can serve it without state: `q1/` then
//! base64url (no padding) of `expr`, a NUL byte, `legendFormat`. The expr is
//! the one QueryData ran, with `$__` variables already expanded. A path
//! selects nothing QueryData could not: it is PromQL over the datasource's
//! own store, never a URL or a target. Grafana caps a channel at 160
//! characters: a query too long for that gets `h1/<128-bit hash>` instead,
//! remembered by this plugin process when QueryData answers it (bounded,
//! oldest first out). Such a channel is only known to the process that ran
//! the query: after a plugin restart, or on another Grafana node, it is
//! NOT_FOUND until the panel queries again.
//!
//! **Lifetime.** Grafana cancels RunStream a few seconds after the last
//! subscriber leaves; the packet stream is then dropped, and with it all of
//! the stream's work (there is no task of its own). When RunStream ends
//! with an OK status Grafana stops the stream for good; when it ends with an
//! error Grafana calls RunStream again (backing off up to 5 s) with the
//! datasource's *current* plugin context. So:
//! * settings changed: Grafana cancels and re-runs the stream itself; if the
//!   plugin learns of the change first (a request with the new settings
//!   replaces the instance and stops the old scrape loop), the stream ends
//!   with UNAVAILABLE, and Grafana re-runs it on the new settings;
//! * a stream that cannot run any more (the datasource is no longer in direct
//!   mode, its settings are invalid, the path is bad) ends with OK, which
//!   stops it instead of retrying forever;
//! * the plugin stopping ends every stream with UNAVAILABLE (so the gRPC
//!   server can drain, and Grafana re-runs the streams on the next process).

use super::backend::{Labels, LiveSource, Point, QueryResult, ResultData, Series};
use super::frame_json;
use super::frames::{self, Field, FieldConfig, Frame, Meta, Notice, Values};
use super::legend;
use super::query::{Format, Plan, PromQuery};
use super::service::PluginService;
use crate::eval::{self, Value as EvalValue};
use futures_util::stream;
use grafana_plugin_sdk::pluginv2::{
    self, publish_stream_response, stream_server, subscribe_stream_response,
};
use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use tonic::{Request, Response, Status};

/// Grafana Live's limit on a whole channel name (`scope/namespace/path`).
pub const MAX_CHANNEL_LEN: usize = 160;

/// Version prefix of the self-contained path layout.
const PATH_PREFIX: &str = "q1/";

/// Prefix of the paths of remembered (too long) queries.
const HASH_PREFIX: &str = "h1/";

/// How many long queries a plugin process remembers.
const REMEMBERED: usize = 1024;

/// Frame type of the live frame (dataplane): time plus a column per series.
const TIMESERIES_WIDE: &str = "timeseries-wide";

pub const NEEDS_DIRECT: &str = "live needs a direct-mode datasource: in Prometheus mode the plugin does not see each scrape, so this query is answered without streaming (use a direct-mode datasource, or Grafana's auto-refresh)";

/// Streams running now, for the logs.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// What a live channel follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveQuery {
    pub expr: String,
    pub legend: String,
}

/// Why a query cannot be followed live, or a path is not a channel of ours.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    #[error("the channel path does not start with {PATH_PREFIX:?}")]
    UnknownPath,
    #[error("the channel path is not valid base64url")]
    BadEncoding,
    #[error("the channel path does not hold a query")]
    NotAQuery,
    #[error("the channel's PromQL does not parse: {0}")]
    BadExpr(String),
    #[error("live cannot follow this query: the channel would be {len} characters, Grafana allows {MAX_CHANNEL_LEN}; shorten the expression or the legend")]
    TooLong { len: usize },
    #[error("live cannot follow a query that contains a NUL character")]
    Nul,
    #[error("live needs a datasource uid of letters, digits, '-' and '_' (got {0:?})")]
    BadUid(String),
    #[error("no query of this channel has run in this plugin process (it restarted, or the query ran on another Grafana node): run the query again")]
    Forgotten,
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unbase64url(text: &str) -> Result<Vec<u8>, LiveError> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| LiveError::BadEncoding)
}

impl LiveQuery {
    /// The channel path (what follows `ds/<uid>/`).
    pub fn path(&self) -> Result<String, LiveError> {
        if self.expr.contains('\0') || self.legend.contains('\0') {
            return Err(LiveError::Nul);
        }
        let mut bytes = Vec::with_capacity(self.expr.len() + self.legend.len() + 1);
        bytes.extend_from_slice(self.expr.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(self.legend.as_bytes());
        Ok(format!("{PATH_PREFIX}{}", base64url(&bytes)))
    }

    /// The full channel for datasource `uid`, within Grafana's length limit.
    pub fn channel(&self, uid: &str) -> Result<String, LiveError> {
        let uid_ok = !uid.is_empty()
            && uid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !uid_ok {
            return Err(LiveError::BadUid(uid.to_string()));
        }
        let channel = format!("ds/{uid}/{}", self.path()?);
        if channel.len() > MAX_CHANNEL_LEN {
            return Err(LiveError::TooLong { len: channel.len() });
        }
        Ok(channel)
    }

    /// `h1/` and a 128-bit hash of the query, for queries too long to carry.
    fn hashed_path(&self) -> String {
        use std::hash::{Hash, Hasher};
        let half = |seed: u64| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            seed.hash(&mut h);
            self.expr.hash(&mut h);
            self.legend.hash(&mut h);
            h.finish()
        };
        format!("{HASH_PREFIX}{:016x}{:016x}", half(1), half(2))
    }

    /// Reads a channel path back; the PromQL must parse.
    pub fn from_path(path: &str) -> Result<LiveQuery, LiveError> {
        let encoded = path
            .strip_prefix(PATH_PREFIX)
            .ok_or(LiveError::UnknownPath)?;
        if encoded.len() > MAX_CHANNEL_LEN {
            return Err(LiveError::TooLong {
                len: path.len() + 4,
            });
        }
        let bytes = unbase64url(encoded)?;
        let text = String::from_utf8(bytes).map_err(|_| LiveError::NotAQuery)?;
        let (expr, legend) = text.split_once('\0').ok_or(LiveError::NotAQuery)?;
        if expr.trim().is_empty() || legend.contains('\0') {
            return Err(LiveError::NotAQuery);
        }
        promql_parser::parser::parse(&crate::eval::strings::requote(expr))
            .map_err(LiveError::BadExpr)?;
        Ok(LiveQuery {
            expr: expr.to_string(),
            legend: legend.to_string(),
        })
    }
}

/// The name of a series' column: its legend, or its labels when the legend
/// leaves naming to Grafana.
fn column_name(legend_format: &str, labels: &Labels, expr: &str) -> (String, Option<String>) {
    let display = legend::series_name(legend_format, labels, expr);
    if display.is_empty() {
        (legend::series_name("", labels, expr), None)
    } else {
        (display.clone(), Some(display))
    }
}

/// One frame, `Time` plus a number column per series (named after its
/// legend, made unique, sorted), rows at every time any series has. The
/// history and each packet share this shape, so Grafana appends packets to
/// the history.
pub fn wide_frame(series: Vec<Series>, legend_format: &str, expr: &str) -> Frame {
    let mut named: Vec<(String, Option<String>, Series)> = series
        .into_iter()
        .map(|s| {
            let (name, display) = column_name(legend_format, &s.labels, expr);
            (name, display, s)
        })
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.2.labels.cmp(&b.2.labels)));
    let mut times: Vec<i64> = named
        .iter()
        .flat_map(|(_, _, s)| s.points.iter().map(|p| p.t_ms))
        .collect();
    times.sort_unstable();
    times.dedup();
    let mut fields = vec![Field {
        name: frames::TIME_FIELD.to_string(),
        labels: None,
        config: None,
        values: Values::Time(times.iter().map(|t| t.saturating_mul(1_000_000)).collect()),
    }];
    let mut used: BTreeSet<String> = BTreeSet::new();
    for (name, display, s) in named {
        let mut unique = name.clone();
        let mut n = 2;
        while !used.insert(unique.clone()) {
            unique = format!("{name} #{n}");
            n += 1;
        }
        let mut column = vec![None; times.len()];
        for p in &s.points {
            if let Ok(row) = times.binary_search(&p.t_ms) {
                column[row] = Some(p.v);
            }
        }
        fields.push(Field {
            name: unique,
            labels: Some(s.labels),
            config: display.map(|d| FieldConfig {
                display_name_from_ds: Some(d),
                ..FieldConfig::default()
            }),
            values: Values::NullableNumber(column),
        });
    }
    Frame {
        name: String::new(),
        meta: Meta {
            kind: Some(TIMESERIES_WIDE),
            type_version: Some([0, 1]),
            ..Meta::default()
        },
        fields,
    }
}

/// The long queries this process gave channels to, by datasource uid and
/// path.
#[derive(Default)]
pub struct Registry {
    remembered: std::sync::Mutex<std::collections::VecDeque<(String, String, LiveQuery)>>,
}

impl Registry {
    /// The channel of `query` on datasource `uid`: self-contained when it
    /// fits, else a remembered hash.
    pub fn channel(&self, uid: &str, query: &LiveQuery) -> Result<String, LiveError> {
        match query.channel(uid) {
            Err(LiveError::TooLong { .. }) => {}
            other => return other,
        }
        let path = query.hashed_path();
        let mut list = self
            .remembered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !list.iter().any(|(u, p, _)| u == uid && *p == path) {
            if list.len() >= REMEMBERED {
                list.pop_front();
            }
            list.push_back((uid.to_string(), path.clone(), query.clone()));
        }
        Ok(format!("ds/{uid}/{path}"))
    }

    /// The query of a channel path of datasource `uid`.
    pub fn query(&self, uid: &str, path: &str) -> Result<LiveQuery, LiveError> {
        if !path.starts_with(HASH_PREFIX) {
            return LiveQuery::from_path(path);
        }
        let list = self
            .remembered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        list.iter()
            .find(|(u, p, _)| u == uid && p == path)
            .map(|(_, _, q)| q.clone())
            .ok_or(LiveError::Forgotten)
    }
}

/// Series of an instant or range result (scalars as one unlabelled series).
fn series_of(data: ResultData) -> Option<Vec<Series>> {
    match data {
        ResultData::Matrix(s) | ResultData::Vector(s) => Some(s),
        ResultData::Scalar(p) => Some(vec![Series {
            labels: Labels::new(),
            points: vec![p],
        }]),
        ResultData::String { .. } => None,
    }
}

/// QueryData's answer to a `live` query, or `Err(notice)` when it cannot
/// stream: the caller then answers it as an ordinary query with the notice.
pub fn live_frame(
    query: &PromQuery,
    plan: &Plan,
    results: &[QueryResult],
    uid: &str,
    direct: bool,
    registry: &Registry,
) -> Result<Frame, String> {
    if !direct {
        return Err(NEEDS_DIRECT.to_string());
    }
    if query.format != Format::TimeSeries {
        return Err("live follows time series: this query's format is not time_series, so it is answered without streaming".to_string());
    }
    let live = LiveQuery {
        expr: plan.expr.clone(),
        legend: query.legend_format.clone(),
    };
    let channel = registry.channel(uid, &live).map_err(|e| e.to_string())?;
    // The range result is the history; an instant-only query starts from its value.
    let chosen = results
        .iter()
        .find(|r| matches!(r.data, ResultData::Matrix(_)))
        .or_else(|| results.first());
    let Some(result) = chosen else {
        return Err("live: the query returned nothing to follow".to_string());
    };
    let Some(series) = series_of(result.data.clone()) else {
        return Err("live cannot follow a string result".to_string());
    };
    let mut frame = wide_frame(series, &live.legend, &live.expr);
    frame.meta.channel = Some(channel);
    frame.meta.executed_query_string = Some(plan.executed.clone());
    frame.meta.custom = Some(serde_json::json!({ "resultType": result.data.type_name() }));
    frame.meta.notices = result
        .warnings
        .iter()
        .map(|text| Notice {
            severity: "warning",
            text: text.clone(),
        })
        .chain(result.infos.iter().map(|text| Notice {
            severity: "info",
            text: text.clone(),
        }))
        .collect();
    Ok(frame)
}

/// The packet of one scrape round: the query at `t_ms`, or `None` when it
/// has no series then (or is not an instant vector or scalar).
fn packet(source: &LiveSource, query: &LiveQuery, t_ms: i64) -> Option<Vec<u8>> {
    let value = match eval::instant(&source.store, &query.expr, t_ms) {
        Ok(v) => v,
        Err(e) => {
            tracing::debug!(expr = %query.expr, error = %e, "live query failed");
            return None;
        }
    };
    let series: Vec<Series> = match value {
        EvalValue::Vector(samples) => samples
            .into_iter()
            .map(|s| Series {
                labels: s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                points: vec![Point { t_ms, v: s.v }],
            })
            .collect(),
        EvalValue::Scalar { v, .. } => vec![Series {
            labels: Labels::new(),
            points: vec![Point { t_ms, v }],
        }],
        EvalValue::Matrix(_) | EvalValue::String(_) => return None,
    };
    if series.is_empty() {
        return None;
    }
    let mut frame = wide_frame(series, &query.legend, &query.expr);
    // Without meta, Grafana keeps the history's (type, channel, executed
    // query) for the streamed frame.
    frame.meta = Meta::default();
    match frame_json::encode(&frame, "") {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::warn!(error = %e, "cannot encode a live frame");
            None
        }
    }
}

/// One running stream; dropping it (Grafana cancelled RunStream) ends it.
struct Running {
    path: String,
    query: LiveQuery,
    source: LiveSource,
    /// Turns true when the plugin stops.
    stopping: tokio::sync::watch::Receiver<bool>,
    last_ms: i64,
    packets: u64,
    ended: Option<&'static str>,
}

/// How long a stream waits after a scrape for the other targets of the same tick.
fn settle(every: std::time::Duration) -> std::time::Duration {
    (every / 4).min(std::time::Duration::from_millis(200))
}

impl Running {
    fn new(
        path: String,
        query: LiveQuery,
        mut source: LiveSource,
        stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Running {
        // Only rounds that end from now on.
        let last_ms = *source.scrapes.borrow_and_update();
        let active = ACTIVE.fetch_add(1, Ordering::SeqCst) + 1;
        tracing::info!(path = %path, every = ?source.every, active, "live stream started");
        Running {
            path,
            query,
            source,
            stopping,
            last_ms,
            packets: 0,
            ended: None,
        }
    }

    /// The next packet, or the status that ends the stream.
    async fn next(&mut self) -> Option<Result<pluginv2::StreamPacket, Status>> {
        if self.ended.is_some() {
            return None;
        }
        // Each turn waits for a scrape round: bounded by the stream's life.
        loop {
            let scraped = tokio::select! {
                scraped = self.source.scrapes.changed() => scraped.is_ok(),
                _ = self.stopping.wait_for(|stop| *stop) => {
                    // An error, so Grafana runs the stream again (on the
                    // plugin process it starts next).
                    self.ended = Some("the plugin is stopping");
                    return Some(Err(Status::unavailable("the plugin is stopping")));
                }
            };
            if !scraped {
                self.ended = Some("the datasource settings changed");
                return Some(Err(Status::unavailable(
                    "the datasource settings changed: Grafana restarts the stream with the new settings",
                )));
            }
            // Every target's scrape signals; those of one tick end within
            // moments of each other, so wait a little and send one packet.
            tokio::time::sleep(settle(self.source.every)).await;
            let t_ms = *self.source.scrapes.borrow_and_update();
            if t_ms <= self.last_ms {
                continue;
            }
            let source = self.source.clone();
            let query = self.query.clone();
            let data = tokio::task::spawn_blocking(move || packet(&source, &query, t_ms))
                .await
                .ok()
                .flatten();
            let Some(data) = data else { continue };
            self.last_ms = t_ms;
            self.packets += 1;
            tracing::debug!(path = %self.path, t_ms, packets = self.packets, "live packet sent");
            return Some(Ok(pluginv2::StreamPacket { data }));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let active = ACTIVE.fetch_sub(1, Ordering::SeqCst).saturating_sub(1);
        tracing::info!(
            path = %self.path,
            packets = self.packets,
            reason = self.ended.unwrap_or("cancelled by Grafana"),
            active,
            "live stream stopped"
        );
    }
}

pub type PacketStream =
    Pin<Box<dyn futures_util::Stream<Item = Result<pluginv2::StreamPacket, Status>> + Send>>;

/// Why a request cannot stream: refused (an error status) or not ours
/// (NOT_FOUND).
enum Refusal {
    Status(Box<Status>),
    NotFound(LiveError),
}

impl PluginService {
    /// The live source and query of a request, or why not.
    fn live_target(
        &self,
        ctx: Option<&pluginv2::PluginContext>,
        path: &str,
    ) -> Result<(LiveSource, LiveQuery), Refusal> {
        let instance = self
            .instances
            .get(ctx)
            .map_err(|e| Refusal::Status(Box::new(Status::invalid_argument(e.to_string()))))?;
        let ready = instance.state.as_ref().map_err(|e| {
            Refusal::Status(Box::new(Status::failed_precondition(format!(
                "the datasource settings are invalid: {e}"
            ))))
        })?;
        let source = ready
            .backend
            .live()
            .ok_or_else(|| Refusal::Status(Box::new(Status::failed_precondition(NEEDS_DIRECT))))?;
        let uid = ctx
            .and_then(|c| c.data_source_instance_settings.as_ref())
            .map(|s| s.uid.as_str())
            .unwrap_or_default();
        let query = self.live.query(uid, path).map_err(Refusal::NotFound)?;
        Ok((source, query))
    }
}

#[tonic::async_trait]
impl stream_server::Stream for PluginService {
    type RunStreamStream = PacketStream;

    async fn subscribe_stream(
        &self,
        request: Request<pluginv2::SubscribeStreamRequest>,
    ) -> Result<Response<pluginv2::SubscribeStreamResponse>, Status> {
        let req = request.into_inner();
        let status = match self.live_target(req.plugin_context.as_ref(), &req.path) {
            Ok(_) => subscribe_stream_response::Status::Ok,
            Err(Refusal::NotFound(e)) => {
                tracing::info!(path = %req.path, error = %e, "live subscription refused: unknown channel");
                subscribe_stream_response::Status::NotFound
            }
            Err(Refusal::Status(status)) => {
                tracing::info!(path = %req.path, error = %status.message(), "live subscription refused");
                return Err(*status);
            }
        };
        Ok(Response::new(pluginv2::SubscribeStreamResponse {
            status: status as i32,
            data: Vec::new(),
        }))
    }

    async fn run_stream(
        &self,
        request: Request<pluginv2::RunStreamRequest>,
    ) -> Result<Response<Self::RunStreamStream>, Status> {
        let req = request.into_inner();
        match self.live_target(req.plugin_context.as_ref(), &req.path) {
            Ok((source, query)) => {
                let running = Running::new(req.path, query, source, self.stopping.subscribe());
                let packets = stream::unfold(running, |mut running| async move {
                    running.next().await.map(|item| (item, running))
                });
                Ok(Response::new(Box::pin(packets)))
            }
            Err(refusal) => {
                // Ending OK stops the stream in Grafana; an error would make
                // it retry every few seconds for something that cannot run.
                let why = match refusal {
                    Refusal::NotFound(e) => e.to_string(),
                    Refusal::Status(s) => s.message().to_string(),
                };
                tracing::warn!(path = %req.path, error = %why, "live stream cannot run: ending it");
                Ok(Response::new(Box::pin(stream::empty())))
            }
        }
    }

    async fn publish_stream(
        &self,
        request: Request<pluginv2::PublishStreamRequest>,
    ) -> Result<Response<pluginv2::PublishStreamResponse>, Status> {
        let req = request.into_inner();
        tracing::debug!(path = %req.path, "live publish refused: channels are read-only");
        Ok(Response::new(pluginv2::PublishStreamResponse {
            status: publish_stream_response::Status::PermissionDenied as i32,
            data: Vec::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(expr: &str, legend: &str) -> LiveQuery {
        LiveQuery {
            expr: expr.into(),
            legend: legend.into(),
        }
    }

    #[test]
    fn base64url_round_trips() {
        for text in [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "sum(rate(x[1m]))\0{{model_name}}",
        ] {
            let encoded = base64url(text.as_bytes());
            assert!(encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(unbase64url(&encoded).expect("decodes"), text.as_bytes());
        }
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
        assert_eq!(unbase64url("a"), Err(LiveError::BadEncoding));
        assert_eq!(unbase64url("ab+c"), Err(LiveError::BadEncoding));
    }

    #[test]
    fn channels_carry_the_query_and_fit_grafanas_limit() {
        let query = q(
            "sum by (model_name) (vllm:num_requests_waiting)",
            "{{model_name}}",
        );
        let channel = query.channel("vllm-direct").expect("fits");
        assert!(channel.starts_with("ds/vllm-direct/q1/"), "{channel}");
        assert!(channel.len() <= MAX_CHANNEL_LEN);
        let path = channel.trim_start_matches("ds/vllm-direct/");
        assert_eq!(LiveQuery::from_path(path), Ok(query));
        let long = q(&format!("sum({})", "x".repeat(200)), "");
        assert!(matches!(long.channel("u"), Err(LiveError::TooLong { .. })));
        assert!(matches!(
            q("up", "").channel("a/b"),
            Err(LiveError::BadUid(_))
        ));
    }

    #[test]
    fn long_queries_get_a_remembered_channel() {
        let registry = Registry::default();
        let long = q(&format!("sum({})", "x".repeat(200)), "{{model_name}}");
        let channel = registry.channel("u", &long).expect("hashed");
        assert!(
            channel.starts_with("ds/u/h1/") && channel.len() == 8 + 32,
            "{channel}"
        );
        let path = channel.trim_start_matches("ds/u/");
        assert_eq!(registry.query("u", path), Ok(long.clone()));
        assert_eq!(registry.query("other", path), Err(LiveError::Forgotten));
        assert_eq!(registry.channel("u", &long), Ok(channel.clone()));
        for i in 0..REMEMBERED {
            let other = q(&format!("sum({}{i})", "y".repeat(200)), "");
            registry.channel("u", &other).expect("hashed");
        }
        assert_eq!(registry.query("u", path), Err(LiveError::Forgotten));
        let short = q("up", "");
        let channel = registry.channel("u", &short).expect("fits");
        let path = channel.trim_start_matches("ds/u/");
        assert_eq!(registry.query("u", path), Ok(short));
    }

    #[test]
    fn live_frames_carry_the_channel_or_say_why_not() {
        let query = |format: Format| PromQuery {
            live: true,
            ..crate::plugin::query::test_query("sum(x)", format, "total")
        };
        let plan = Plan {
            expr: "sum(x)".into(),
            step: std::time::Duration::from_secs(1),
            start_ns: 0,
            end_ns: 0,
            time_ns: 0,
            executed: "Expr: sum(x)\nStep: 1s".into(),
        };
        let results = vec![QueryResult {
            data: ResultData::Matrix(vec![Series {
                labels: Labels::new(),
                points: vec![Point { t_ms: 1000, v: 2.0 }],
            }]),
            warnings: vec!["careful".into()],
            infos: vec![],
        }];
        let registry = Registry::default();
        let ts = query(Format::TimeSeries);
        let frame = live_frame(&ts, &plan, &results, "u", true, &registry).expect("live");
        let channel = frame.meta.channel.clone().expect("channel");
        assert_eq!(
            registry.query("u", channel.trim_start_matches("ds/u/")),
            Ok(q("sum(x)", "total"))
        );
        assert_eq!(frame.meta.kind, Some(TIMESERIES_WIDE));
        assert_eq!(frame.meta.notices[0].text, "careful");
        assert_eq!(frame.fields[1].name, "total");
        assert_eq!(
            live_frame(&ts, &plan, &results, "u", false, &registry),
            Err(NEEDS_DIRECT.to_string())
        );
        let table = live_frame(&query(Format::Table), &plan, &results, "u", true, &registry);
        assert!(table.is_err_and(|e| e.contains("time series")));
    }

    #[test]
    fn bad_paths_are_named() {
        assert_eq!(
            LiveQuery::from_path("http://x/metrics"),
            Err(LiveError::UnknownPath)
        );
        assert_eq!(LiveQuery::from_path("q1/!!"), Err(LiveError::BadEncoding));
        let no_nul = format!("q1/{}", base64url(b"up"));
        assert_eq!(LiveQuery::from_path(&no_nul), Err(LiveError::NotAQuery));
        let bad = format!("q1/{}", base64url(b"sum(\0"));
        assert!(matches!(
            LiveQuery::from_path(&bad),
            Err(LiveError::BadExpr(_))
        ));
    }

    #[test]
    fn wide_frames_have_a_unique_sorted_column_per_series() {
        let s = |m: &str, pts: &[(i64, f64)]| Series {
            labels: [("model_name".to_string(), m.to_string())].into(),
            points: pts.iter().map(|&(t_ms, v)| Point { t_ms, v }).collect(),
        };
        let frame = wide_frame(
            vec![s("b", &[(2000, 2.0)]), s("a", &[(1000, 1.0), (2000, 3.0)])],
            "{{model_name}}",
            "x",
        );
        let names: Vec<&str> = frame.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Time", "a", "b"]);
        assert_eq!(
            frame.fields[0].values,
            Values::Time(vec![1_000_000_000, 2_000_000_000])
        );
        assert_eq!(
            frame.fields[2].values,
            Values::NullableNumber(vec![None, Some(2.0)])
        );
        let same = wide_frame(vec![s("a", &[(1, 1.0)]), s("a2", &[(1, 1.0)])], "same", "x");
        let names: Vec<&str> = same.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Time", "same", "same #2"]);
    }
}
