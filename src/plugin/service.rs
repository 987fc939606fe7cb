//! The `pluginv2` gRPC services Grafana calls: QueryData, CheckHealth,
//! CallResource (the Stream service is in `stream`).
//!
//! Implemented on the SDK's generated types rather than its high-level
//! traits, which fail every query of a request when one query's JSON does
//! not parse (and panic on out-of-range time ranges). Here each query is
//! parsed, run and answered on its own, concurrently, and always gets a
//! response under its `refId`.

use super::arrow;
use super::backend::{BackendError, InstantRequest, QueryResult, RangeRequest};
use super::frames::{self, Frame, Meta};
use super::instance::{Instance, Instances, NoDatasource};
use super::query::{self, Format, Plan, PromQuery, QueryError};
use super::resources;
use super::settings::{Mode, Redactor};
use super::stream as live;
use futures_util::stream;
use grafana_plugin_sdk::pluginv2::{
    self, check_health_response::HealthStatus, data_server::Data, diagnostics_server::Diagnostics,
    resource_server::Resource,
};
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::{Request, Response, Status};

/// The plugin's gRPC face: one per process, shared by the four services.
#[derive(Default)]
pub struct PluginService {
    pub(super) instances: Instances,
    /// Live channels of queries too long to carry in their path.
    pub(super) live: Arc<live::Registry>,
    /// Set when the plugin is asked to stop: live streams end at once
    /// instead of holding the shutdown until its drain timeout.
    pub(super) stopping: tokio::sync::watch::Sender<bool>,
}

impl PluginService {
    /// Ends every live stream (the plugin is stopping).
    pub fn stop_streams(&self) {
        self.stopping.send_replace(true);
    }
}

/// The datasource uid of a request, as Grafana names it in channels.
fn datasource_uid(ctx: Option<&pluginv2::PluginContext>) -> String {
    ctx.and_then(|c| c.data_source_instance_settings.as_ref())
        .map(|s| s.uid.clone())
        .unwrap_or_default()
}

fn error_response(status: u16, message: String, frames: Vec<Vec<u8>>) -> pluginv2::DataResponse {
    pluginv2::DataResponse {
        frames,
        error: message,
        json_meta: Vec::new(),
        status: i32::from(status),
    }
}

/// A frame carrying only the executed query, so Grafana's query inspector
/// shows what was sent even when it failed.
fn query_string_frame(plan: &Plan, ref_id: &str) -> Vec<Vec<u8>> {
    let frame = Frame {
        name: String::new(),
        meta: Meta {
            executed_query_string: Some(plan.executed.clone()),
            ..Meta::default()
        },
        fields: Vec::new(),
    };
    arrow::encode(&frame, ref_id).into_iter().collect()
}

/// What the queries of one QueryData request share.
#[derive(Clone)]
struct RequestContext {
    instance: Result<Arc<Instance>, NoDatasource>,
    /// How many of the request's queries are tables (names value columns).
    table_queries: usize,
    /// The datasource uid, for live channels.
    uid: String,
    live: Arc<live::Registry>,
    /// Removes the datasource's secrets from error texts.
    redactor: Arc<Redactor>,
}

/// Runs one query to its `DataResponse`; never fails the others.
async fn run_query(
    request: RequestContext,
    parsed: Result<PromQuery, QueryError>,
    ref_id: String,
) -> pluginv2::DataResponse {
    let redactor = Arc::clone(&request.redactor);
    let mut response = answer_query(request, parsed, &ref_id).await;
    if !response.error.is_empty() {
        response.error = redactor.redact(&response.error);
    }
    response
}

/// [`run_query`] before its error is redacted.
async fn answer_query(
    request: RequestContext,
    parsed: Result<PromQuery, QueryError>,
    ref_id: &str,
) -> pluginv2::DataResponse {
    let RequestContext {
        instance,
        table_queries,
        uid,
        live: registry,
        redactor,
    } = request;
    let instance = match instance {
        Ok(instance) => instance,
        Err(e) => return error_response(400, e.to_string(), Vec::new()),
    };
    let ready = match &instance.state {
        Ok(ready) => ready,
        Err(e) => return error_response(400, e.to_string(), Vec::new()),
    };
    let query = match parsed {
        Ok(q) => q,
        Err(e) => return error_response(400, e.to_string(), Vec::new()),
    };
    let floor = match ready.settings.mode {
        Mode::Direct => ready.settings.direct.scrape_interval,
        Mode::Prometheus => Duration::ZERO,
    };
    let plan = match query.plan_with_floor(&ready.settings.time_interval, floor) {
        Ok(plan) => plan,
        Err(e) => return error_response(400, e.to_string(), Vec::new()),
    };
    let started = Instant::now();
    let backend = &ready.backend;
    let instant = async {
        if query.instant {
            let req = InstantRequest {
                expr: &plan.expr,
                time_ns: plan.time_ns,
            };
            Some(backend.query_instant(&req).await)
        } else {
            None
        }
    };
    let range = async {
        if query.range {
            let req = RangeRequest {
                expr: &plan.expr,
                start_ns: plan.start_ns,
                end_ns: plan.end_ns,
                step: plan.step,
            };
            Some(backend.query_range(&req).await)
        } else {
            None
        }
    };
    let (instant, range) = tokio::join!(instant, range);
    let results: Vec<Result<QueryResult, BackendError>> =
        instant.into_iter().chain(range).collect();
    tracing::debug!(
        ref_id = %ref_id,
        expr = %plan.expr,
        step = ?plan.step,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "query ran"
    );
    let value_name = frames::table_value_name(ref_id, table_queries);
    let mut out: Vec<Frame> = Vec::new();
    let mut errors: Vec<BackendError> = Vec::new();
    let mut answered: Vec<QueryResult> = Vec::new();
    for result in results {
        match result {
            Ok(result) => answered.push(result),
            Err(e) => errors.push(e),
        }
    }
    // Live: the history as one frame carrying its channel; when the query
    // cannot stream, the ordinary frames with a notice saying why.
    let mut live_notice = None;
    if query.live && errors.is_empty() {
        let direct = ready.settings.mode == Mode::Direct;
        match live::live_frame(&query, &plan, &answered, &uid, direct, &registry) {
            Ok(frame) => out.push(frame),
            Err(notice) => live_notice = Some(notice),
        }
    }
    if out.is_empty() {
        for result in answered {
            out.extend(frames::build(&query, &plan, result, &value_name));
        }
        if let (Some(text), Some(first)) = (live_notice, out.first_mut()) {
            first.meta.notices.push(frames::Notice {
                severity: "info",
                text,
            });
        }
    }
    if let Some(first) = errors.first() {
        tracing::debug!(ref_id = %ref_id, error = %redactor.redact(&first.to_string()), "query failed");
        let status = first.status();
        let message = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return error_response(status, message, query_string_frame(&plan, ref_id));
    }
    let mut encoded = Vec::with_capacity(out.len());
    for frame in &out {
        match arrow::encode(frame, ref_id) {
            Ok(bytes) => encoded.push(bytes),
            Err(e) => {
                tracing::warn!(ref_id = %ref_id, error = %e, "cannot encode frame");
                return error_response(500, e.to_string(), Vec::new());
            }
        }
    }
    pluginv2::DataResponse {
        frames: encoded,
        error: String::new(),
        json_meta: Vec::new(),
        status: 200,
    }
}

#[tonic::async_trait]
impl Data for PluginService {
    async fn query_data(
        &self,
        request: Request<pluginv2::QueryDataRequest>,
    ) -> Result<Response<pluginv2::QueryDataResponse>, Status> {
        let req = request.into_inner();
        let parsed: Vec<(String, Result<PromQuery, QueryError>)> = req
            .queries
            .iter()
            .map(|q| (q.ref_id.clone(), query::parse(q)))
            .collect();
        let table_queries = parsed
            .iter()
            .filter(|(_, q)| matches!(q, Ok(q) if q.format == Format::Table))
            .count();
        let shared = RequestContext {
            instance: self.instances.get(req.plugin_context.as_ref()),
            table_queries,
            uid: datasource_uid(req.plugin_context.as_ref()),
            live: Arc::clone(&self.live),
            redactor: Arc::new(Redactor::of_context(req.plugin_context.as_ref())),
        };
        // A lone query (a panel with one query, an alert rule) runs right
        // here: no task hand-off on the latency path.
        if parsed.len() == 1 {
            let mut responses = HashMap::with_capacity(1);
            for (ref_id, parsed) in parsed {
                let response = run_query(shared.clone(), parsed, ref_id.clone()).await;
                responses.insert(ref_id, response);
            }
            return Ok(Response::new(pluginv2::QueryDataResponse { responses }));
        }
        // Each query on its own task: concurrent, and a panic stays its own.
        let tasks: Vec<(String, tokio::task::JoinHandle<pluginv2::DataResponse>)> = parsed
            .into_iter()
            .map(|(ref_id, parsed)| {
                let task = tokio::spawn(run_query(shared.clone(), parsed, ref_id.clone()));
                (ref_id, task)
            })
            .collect();
        let mut responses = HashMap::with_capacity(tasks.len());
        for (ref_id, task) in tasks {
            let response = task.await.unwrap_or_else(|e| {
                tracing::warn!(ref_id = %ref_id, error = %e, "query task failed");
                error_response(
                    500,
                    format!("internal error running the query: {e}"),
                    Vec::new(),
                )
            });
            responses.insert(ref_id, response);
        }
        Ok(Response::new(pluginv2::QueryDataResponse { responses }))
    }
}

/// Save & test answers within this whatever the server or the targets do:
/// Grafana gives up on a request after 30 s. (Direct mode answers within
/// `direct::HEALTH_WAIT`; a Prometheus that hangs would otherwise hold the
/// check for its whole `timeout`, 30 s by default, once per request made.)
const HEALTH_DEADLINE: Duration = Duration::from_secs(20);

#[tonic::async_trait]
impl Diagnostics for PluginService {
    async fn check_health(
        &self,
        request: Request<pluginv2::CheckHealthRequest>,
    ) -> Result<Response<pluginv2::CheckHealthResponse>, Status> {
        let req = request.into_inner();
        let redactor = Redactor::of_context(req.plugin_context.as_ref());
        let (ok, message, details) = match self.instances.get(req.plugin_context.as_ref()) {
            Err(e) => (false, e.to_string(), serde_json::Value::Null),
            Ok(instance) => match &instance.state {
                Err(e) => (
                    false,
                    e.to_string(),
                    serde_json::json!({ "invalidSettings": e.0.iter().map(|f| &f.field).collect::<Vec<_>>() }),
                ),
                Ok(ready) => {
                    match tokio::time::timeout(HEALTH_DEADLINE, ready.backend.health()).await {
                        Ok(report) => (report.ok, report.message, report.details),
                        Err(_) => {
                            let settings = &ready.settings;
                            let what = match settings.mode {
                                Mode::Prometheus => settings.url.as_str(),
                                Mode::Direct => "the scrape targets",
                            };
                            let message = format!(
                                "Save & test gave up after {} s: {what} did not answer in time (the datasource `timeout` is {} s)",
                                HEALTH_DEADLINE.as_secs(),
                                settings.timeout.as_secs_f64()
                            );
                            (false, message, serde_json::json!({ "timedOut": true }))
                        }
                    }
                }
            },
        };
        let message = redactor.redact(&message);
        let details = redactor.redact_bytes(serde_json::to_vec(&details).unwrap_or_default());
        tracing::info!(ok, message = %message, "health check");
        let status = if ok {
            HealthStatus::Ok
        } else {
            HealthStatus::Error
        };
        Ok(Response::new(pluginv2::CheckHealthResponse {
            status: status as i32,
            message,
            json_details: details,
        }))
    }

    async fn collect_metrics(
        &self,
        _: Request<pluginv2::CollectMetricsRequest>,
    ) -> Result<Response<pluginv2::CollectMetricsResponse>, Status> {
        Ok(Response::new(pluginv2::CollectMetricsResponse {
            metrics: Some(pluginv2::collect_metrics_response::Payload {
                prometheus: Vec::new(),
            }),
        }))
    }
}

/// The largest body part of one CallResource message.
const RESOURCE_CHUNK: usize = 1 << 20;

type ResourceStream = Pin<
    Box<dyn futures_util::Stream<Item = Result<pluginv2::CallResourceResponse, Status>> + Send>,
>;

#[tonic::async_trait]
impl Resource for PluginService {
    type CallResourceStream = ResourceStream;

    async fn call_resource(
        &self,
        request: Request<pluginv2::CallResourceRequest>,
    ) -> Result<Response<Self::CallResourceStream>, Status> {
        let req = request.into_inner();
        let instance = self.instances.get(req.plugin_context.as_ref());
        let ready = match &instance {
            Err(e) => Err(e.to_string()),
            Ok(instance) => instance.state.as_ref().map_err(ToString::to_string),
        };
        let content_type = req
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .and_then(|(_, v)| v.values.first())
            .map(String::as_str);
        let call = resources::ResourceRequest {
            method: &req.method,
            path: &req.path,
            url: &req.url,
            body: &req.body,
            content_type,
        };
        let answer = resources::handle(ready, &call).await;
        let redactor = Redactor::of_context(req.plugin_context.as_ref());
        let headers = HashMap::from([(
            "Content-Type".to_string(),
            pluginv2::StringList {
                values: vec![answer.content_type],
            },
        )]);
        // Large answers (Prometheus mode passes bodies on) go in parts;
        // Grafana joins them, status and headers coming with the first.
        let body = redactor.redact_bytes(answer.body);
        let mut parts: Vec<Vec<u8>> = body.chunks(RESOURCE_CHUNK).map(<[u8]>::to_vec).collect();
        if parts.is_empty() {
            parts.push(Vec::new());
        }
        let code = i32::from(answer.status);
        let messages: Vec<pluginv2::CallResourceResponse> = parts
            .into_iter()
            .enumerate()
            .map(|(i, part)| pluginv2::CallResourceResponse {
                code: if i == 0 { code } else { 0 },
                headers: if i == 0 {
                    headers.clone()
                } else {
                    HashMap::new()
                },
                body: part.into(),
            })
            .collect();
        let responses = messages.into_iter().map(Ok);
        Ok(Response::new(Box::pin(stream::iter(responses))))
    }
}
