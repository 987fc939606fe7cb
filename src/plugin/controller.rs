//! go-plugin's `plugin.GRPCController` service. When Grafana stops a plugin
//! it first calls `Shutdown` and waits up to two seconds for the process to
//! exit before killing it; answering lets the plugin exit cleanly.
//!
//! The SDK does not generate this service, so it is written out here on
//! tonic's generic unary handler (the proto has one empty message).

use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::Notify;
use tonic::body::BoxBody;
use tonic::codegen::{empty_body, http, BoxFuture, Context, Poll, Service};

/// `plugin.Empty`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Empty {}

/// Full gRPC path of the shutdown call.
pub const SHUTDOWN_PATH: &str = "/plugin.GRPCController/Shutdown";

/// Serves `Shutdown` by waking whoever waits on the [`Notify`].
#[derive(Clone)]
pub struct ControllerServer {
    shutdown: Arc<Notify>,
}

impl ControllerServer {
    pub fn new(shutdown: Arc<Notify>) -> ControllerServer {
        ControllerServer { shutdown }
    }
}

impl tonic::server::NamedService for ControllerServer {
    const NAME: &'static str = "plugin.GRPCController";
}

struct ShutdownCall(Arc<Notify>);

impl tonic::server::UnaryService<Empty> for ShutdownCall {
    type Response = Empty;
    type Future = BoxFuture<tonic::Response<Empty>, tonic::Status>;

    fn call(&mut self, _: tonic::Request<Empty>) -> Self::Future {
        let shutdown = Arc::clone(&self.0);
        Box::pin(async move {
            tracing::info!("Grafana asked the plugin to shut down");
            // A stored permit: the waiter may not be polling yet.
            shutdown.notify_one();
            Ok(tonic::Response::new(Empty {}))
        })
    }
}

impl Service<http::Request<BoxBody>> for ControllerServer {
    type Response = http::Response<BoxBody>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<BoxBody>) -> Self::Future {
        if req.uri().path() == SHUTDOWN_PATH {
            let call = ShutdownCall(Arc::clone(&self.shutdown));
            return Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic::codec::ProstCodec::default());
                Ok(grpc.unary(call, req).await)
            });
        }
        Box::pin(async move {
            let mut resp = http::Response::new(empty_body());
            resp.headers_mut().insert(
                "grpc-status",
                http::HeaderValue::from(tonic::Code::Unimplemented as i32),
            );
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/grpc"),
            );
            Ok(resp)
        })
    }
}
