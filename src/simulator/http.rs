//! The simulator behind HTTP, with the routes of a vLLM OpenAI server that
//! monitoring touches: `/metrics`, `/health`, `/version`, `/v1/models`.
//! With GPUs configured, a second listener plays the DCGM exporter
//! (`/metrics`, `/health`): in a real deployment it is its own process and
//! endpoint (port 9400, a DaemonSet in Kubernetes), scraped as its own job.

use super::{SimConfig, SimError, Simulator};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;

/// Content type of prometheus_client's text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

struct Live {
    sim: Simulator,
    started: Instant,
    /// Simulated seconds per wall-clock second.
    time_scale: f64,
}

struct Shared {
    live: Mutex<Live>,
    version: String,
    max_model_len: u32,
    models: Vec<String>,
    adapters: Vec<String>,
}

/// A simulator bound to its listening socket, not yet serving. Binding first
/// lets callers listen on port 0 and learn the port before serving.
pub struct SimServer {
    listener: TcpListener,
    addr: SocketAddr,
    /// The DCGM exporter's listener, when GPUs are simulated.
    dcgm: Option<(TcpListener, SocketAddr)>,
    shared: Arc<Shared>,
}

/// Validates `cfg` and binds `cfg.listen`. The simulated clock starts now.
pub async fn bind(cfg: SimConfig) -> Result<SimServer, SimError> {
    let sim = Simulator::new(&cfg)?.with_start_time(SystemTime::now());
    let bind_err = |source| SimError::Bind {
        addr: cfg.listen,
        source,
    };
    let listener = TcpListener::bind(cfg.listen).await.map_err(bind_err)?;
    let addr = listener.local_addr().map_err(bind_err)?;
    let dcgm = if cfg.gpus_per_engine > 0 {
        let dcgm_err = |source| SimError::Bind {
            addr: cfg.dcgm_listen,
            source,
        };
        let l = TcpListener::bind(cfg.dcgm_listen).await.map_err(dcgm_err)?;
        let a = l.local_addr().map_err(dcgm_err)?;
        Some((l, a))
    } else {
        None
    };
    let shared = Shared {
        version: cfg.version.to_string(),
        max_model_len: cfg.max_model_len,
        models: sim.model_names(),
        adapters: sim.lora_adapters(),
        live: Mutex::new(Live {
            sim,
            started: Instant::now(),
            time_scale: cfg.time_scale,
        }),
    };
    Ok(SimServer {
        listener,
        addr,
        dcgm,
        shared: Arc::new(shared),
    })
}

/// Binds `cfg.listen` and serves until `shutdown` completes.
pub async fn serve(
    cfg: SimConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SimError> {
    bind(cfg).await?.run(shutdown).await
}

impl SimServer {
    /// The address actually bound (the real port when `listen` used port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The DCGM exporter's address, when GPUs are simulated.
    pub fn dcgm_addr(&self) -> Option<SocketAddr> {
        self.dcgm.as_ref().map(|(_, a)| *a)
    }

    /// Serves requests until `shutdown` completes, then drains connections.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), SimError> {
        let app = Router::new()
            .route("/metrics", get(metrics))
            .route("/health", get(health))
            .route("/version", get(version))
            .route("/v1/models", get(models))
            .with_state(Arc::clone(&self.shared));
        let Some((dcgm_listener, _)) = self.dcgm else {
            return axum::serve(self.listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(SimError::Serve);
        };
        let exporter = Router::new()
            .route("/metrics", get(dcgm_metrics))
            .route("/health", get(health))
            .with_state(self.shared);
        // One shutdown signal for both listeners.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let relay = tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let vllm = axum::serve(self.listener, app).with_graceful_shutdown(stopped(stop_rx.clone()));
        let dcgm = axum::serve(dcgm_listener, exporter).with_graceful_shutdown(stopped(stop_rx));
        let result = tokio::try_join!(vllm.into_future(), dcgm.into_future());
        relay.abort();
        result.map(|_| ()).map_err(SimError::Serve)
    }
}

/// vLLM's `/metrics`.
async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    render_now(shared, Simulator::render).await
}

/// The DCGM exporter's `/metrics`.
async fn dcgm_metrics(State(shared): State<Arc<Shared>>) -> Response {
    render_now(shared, Simulator::render_dcgm).await
}

/// Catches the load model up with the wall clock (times the time scale),
/// then renders with `render`.
async fn render_now(shared: Arc<Shared>, render: fn(&Simulator) -> String) -> Response {
    // Stepping the model is CPU work; keep it off the async workers.
    let rendered = tokio::task::spawn_blocking(move || {
        let mut live = shared
            .live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let wall = live.started.elapsed().as_secs_f64();
        // Out of range only after centuries; then the clock stands still.
        let since_start = Duration::try_from_secs_f64(wall * live.time_scale)
            .unwrap_or_else(|_| live.sim.elapsed());
        live.sim.advance_to(since_start);
        render(&live.sim)
    })
    .await;
    match rendered {
        Ok(body) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn health() -> StatusCode {
    StatusCode::OK
}

async fn version(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "version": shared.version }))
}

/// OpenAI model list; LoRA adapters appear as models whose parent is the
/// base model, as vLLM lists them.
async fn models(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let created = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let card = |id: &str, root: &str, parent: Option<&str>| {
        json!({
            "id": id,
            "object": "model",
            "created": created,
            "owned_by": "vllm",
            "root": root,
            "parent": parent,
            "max_model_len": shared.max_model_len,
            "permission": [{
                "id": format!("modelperm-{}", id.replace('/', "-")),
                "object": "model_permission",
                "created": created,
                "allow_create_engine": false,
                "allow_sampling": true,
                "allow_logprobs": true,
                "allow_search_indices": false,
                "allow_view": true,
                "allow_fine_tuning": false,
                "organization": "*",
                "group": null,
                "is_blocking": false
            }]
        })
    };
    let mut data: Vec<Value> = shared.models.iter().map(|m| card(m, m, None)).collect();
    if let Some(base) = shared.models.first() {
        for adapter in &shared.adapters {
            data.push(card(adapter, &format!("/adapters/{adapter}"), Some(base)));
        }
    }
    Json(json!({ "object": "list", "data": data }))
}
