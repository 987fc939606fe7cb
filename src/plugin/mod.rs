//! The Grafana backend datasource plugin: the `gpx_vllm` executable Grafana
//! starts for datasources of type [`crate::dashboard::PLUGIN_ID`].
//!
//! Request path: [`handshake`] (go-plugin startup) → `service` (the
//! `pluginv2` gRPC services) → `instance` (per-datasource cache of
//! `settings` and a [`QueryBackend`]) → `query` (Grafana's Prometheus query
//! model, validated per query) → `interval` (step, `$__` variables) →
//! backend (`prometheus`, or `direct` with `scraper`, `store` and `eval`) → `frames` →
//! `arrow` (IPC bytes in the `DataResponse`). `health` and `resources`
//! answer CheckHealth and CallResource; `stream` runs Grafana Live channels
//! (`frame_json` writes their packets).

mod api;
mod arrow;
mod backend;
mod controller;
mod direct;
mod frame_json;
mod frames;
#[doc(hidden)]
pub mod fuzzing;
pub mod handshake;
mod health;
/// Test and benchmark hook: direct-mode history from a file.
pub mod history;
mod instance;
pub mod interval;
mod legend;
mod prometheus;
mod query;
mod resources;
mod scraper;
mod service;
mod settings;
mod stream;

pub use backend::{
    BackendError, HealthReport, InstantRequest, Labels, Point, QueryBackend, QueryResult,
    RangeRequest, ResultData, Series, SeriesFilter,
};
pub use resources::suggested_query;
pub use settings::{
    Auth, DirectSettings, FieldError, HttpMethod, Mode, Secret, Settings, SettingsError,
};

use controller::ControllerServer;
use grafana_plugin_sdk::pluginv2::{
    data_server::DataServer, diagnostics_server::DiagnosticsServer,
    resource_server::ResourceServer, stream_server::StreamServer,
};
use service::PluginService;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tracing_subscriber::prelude::*;

/// How long in-flight requests may finish after Grafana asks to stop.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error(transparent)]
    Handshake(#[from] handshake::HandshakeError),
    #[error("cannot serve gRPC: {0}")]
    Grpc(String),
}

/// Logs as hclog JSON on stderr, which Grafana parses; `RUST_LOG` filters
/// (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Fails only when a subscriber is already set, which then keeps logging.
    let _ = tracing_subscriber::registry()
        .with(grafana_plugin_sdk::backend::layer())
        .with(filter)
        .try_init();
}

/// Waits for Grafana's Shutdown call, SIGTERM or SIGINT. The signal streams
/// are created by the caller before the handshake, so a signal sent right
/// after it is never met by the default action (dying by the signal).
async fn stop_requested(
    shutdown: Arc<Notify>,
    mut terminate: Option<tokio::signal::unix::Signal>,
    mut interrupt: Option<tokio::signal::unix::Signal>,
) {
    async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
    tokio::select! {
        () = shutdown.notified() => {}
        () = recv(&mut terminate) => tracing::info!("SIGTERM: shutting down"),
        () = recv(&mut interrupt) => tracing::info!("SIGINT: shutting down"),
    }
}

async fn serve() -> Result<(), ServeError> {
    let env = |key: &str| std::env::var(key).ok();
    let listener = handshake::bind(env).await?;
    let addr = listener
        .local_addr()
        .map_err(handshake::HandshakeError::Bind)?;
    let incoming = tonic::transport::server::TcpIncoming::from_listener(listener, true, None)
        .map_err(|e| ServeError::Grpc(e.to_string()))?;

    let service = Arc::new(PluginService::default());
    let (mut health, health_service) = tonic_health::server::health_reporter();
    // go-plugin pings the service named "plugin".
    health
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;
    health.set_serving::<DataServer<PluginService>>().await;
    health
        .set_serving::<DiagnosticsServer<PluginService>>()
        .await;
    health.set_serving::<ResourceServer<PluginService>>().await;
    health.set_serving::<StreamServer<PluginService>>().await;

    let shutdown = Arc::new(Notify::new());
    let (drain_tx, drain_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(DataServer::from_arc(Arc::clone(&service)))
        .add_service(DiagnosticsServer::from_arc(Arc::clone(&service)))
        .add_service(ResourceServer::from_arc(Arc::clone(&service)))
        .add_service(StreamServer::from_arc(Arc::clone(&service)))
        .add_service(ControllerServer::new(Arc::clone(&shutdown)))
        .serve_with_incoming_shutdown(incoming, async {
            let _ = drain_rx.await;
        });
    let server = tokio::spawn(server);

    use tokio::signal::unix::{signal, SignalKind};
    let terminate = signal(SignalKind::terminate()).ok();
    let interrupt = signal(SignalKind::interrupt()).ok();
    handshake::announce(addr)?;
    tracing::info!(address = %addr, version = env!("CARGO_PKG_VERSION"), "plugin serving");

    stop_requested(shutdown, terminate, interrupt).await;
    // Live streams never finish on their own: end them so draining does.
    service.stop_streams();
    let _ = drain_tx.send(());
    match tokio::time::timeout(DRAIN, server).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(ServeError::Grpc(e.to_string())),
        Ok(Err(e)) => Err(ServeError::Grpc(e.to_string())),
        Err(_) => {
            tracing::warn!("requests still running after {DRAIN:?}: exiting anyway");
            Ok(())
        }
    }
}

/// The plugin executable's `main`: handshake, serve until Grafana stops it.
pub fn run() -> ExitCode {
    init_logging();
    let env = |key: &str| std::env::var(key).ok();
    if let Err(e) = handshake::check_env(env) {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("gpx-vllm")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve()) {
        Ok(()) => {
            tracing::info!("plugin stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "plugin failed");
            ExitCode::FAILURE
        }
    }
}
