//! Drives the built `gpx_vllm` executable the way Grafana does: start it
//! with Grafana's environment from another working directory, read the
//! go-plugin handshake from stdout, call it over gRPC with the SDK's
//! `pluginv2` client stubs, and stop it with go-plugin's Shutdown call,
//! killing it if it has not exited after two seconds.

use grafana_plugin_sdk::pluginv2::{
    self, data_client::DataClient, diagnostics_client::DiagnosticsClient,
    resource_client::ResourceClient, stream_client::StreamClient,
};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

/// The plugin executable Cargo built for this test or bench.
pub const EXECUTABLE: &str = env!("CARGO_BIN_EXE_gpx_vllm");

/// go-plugin's default port range for plugins.
pub const MIN_PORT: u16 = 10_000;
pub const MAX_PORT: u16 = 25_000;

/// The environment Grafana 10.4 gives a datasource plugin.
pub fn grafana_env() -> Vec<(String, String)> {
    [
        ("grafana_plugin_type", "datasource"),
        ("PLUGIN_PROTOCOL_VERSIONS", "2"),
        ("GF_VERSION", "10.4.0"),
        ("GF_EDITION", "Open Source"),
        ("PLUGIN_MIN_PORT", "10000"),
        ("PLUGIN_MAX_PORT", "25000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A datasource as Grafana sends it in every request's plugin context.
#[derive(Clone, Debug)]
pub struct Datasource {
    pub uid: String,
    pub url: String,
    pub json: Value,
    pub secure: HashMap<String, String>,
    pub updated_ms: i64,
}

impl Datasource {
    /// Prometheus mode at `url`, scrape interval 1 s (the tests' Prometheus).
    pub fn prometheus(url: &str) -> Datasource {
        Datasource {
            uid: "vllm-test".to_string(),
            url: url.to_string(),
            json: serde_json::json!({ "mode": "prometheus", "timeInterval": "1s" }),
            secure: HashMap::new(),
            updated_ms: 1_700_000_000_000,
        }
    }

    /// Direct mode scraping `targets` (URLs) every second with a 1 s timeout.
    pub fn direct(uid: &str, targets: &[String]) -> Datasource {
        Datasource::prometheus("")
            .uid(uid)
            .json("mode", serde_json::json!("direct"))
            .json("timeInterval", Value::Null)
            .json("targets", serde_json::json!(targets))
            .json("scrapeInterval", serde_json::json!("1s"))
            .json("timeout", serde_json::json!(1))
    }

    pub fn uid(mut self, uid: &str) -> Datasource {
        self.uid = uid.to_string();
        self
    }

    /// Sets a `jsonData` key.
    pub fn json(mut self, key: &str, value: Value) -> Datasource {
        if let Some(obj) = self.json.as_object_mut() {
            obj.insert(key.to_string(), value);
        }
        self
    }

    /// Sets a `secureJsonData` key (decrypted, as Grafana sends it).
    pub fn secure(mut self, key: &str, value: &str) -> Datasource {
        self.secure.insert(key.to_string(), value.to_string());
        self
    }

    pub fn context(&self) -> pluginv2::PluginContext {
        pluginv2::PluginContext {
            org_id: 1,
            plugin_id: "vllm-grafana-datasource".to_string(),
            user: Some(pluginv2::User {
                login: "admin".to_string(),
                name: "admin".to_string(),
                email: "admin@localhost".to_string(),
                role: "Admin".to_string(),
            }),
            app_instance_settings: None,
            data_source_instance_settings: Some(pluginv2::DataSourceInstanceSettings {
                id: 1,
                uid: self.uid.clone(),
                name: "vLLM".to_string(),
                url: self.url.clone(),
                json_data: serde_json::to_vec(&self.json).unwrap_or_default(),
                decrypted_secure_json_data: self.secure.clone(),
                last_updated_ms: self.updated_ms,
                ..Default::default()
            }),
        }
    }
}

/// A query as Grafana sends it: the panel's JSON model plus the time range,
/// `intervalMs` and `maxDataPoints`.
pub fn data_query(ref_id: &str, model: Value, from_ms: i64, to_ms: i64) -> pluginv2::DataQuery {
    data_query_every(ref_id, model, from_ms, to_ms, 1000)
}

/// [`data_query`] with Grafana's `intervalMs` (what the frontend computes
/// from the range and the panel width).
pub fn data_query_every(
    ref_id: &str,
    model: Value,
    from_ms: i64,
    to_ms: i64,
    interval_ms: i64,
) -> pluginv2::DataQuery {
    let max_data_points = 1000;
    let mut model = model;
    if let Some(obj) = model.as_object_mut() {
        obj.insert("refId".to_string(), Value::from(ref_id));
        obj.insert("intervalMs".to_string(), Value::from(interval_ms));
        obj.insert("maxDataPoints".to_string(), Value::from(max_data_points));
    }
    let mut q = raw_query(
        ref_id,
        serde_json::to_vec(&model).unwrap_or_default(),
        from_ms,
        to_ms,
    );
    q.interval_ms = interval_ms;
    q
}

/// A PromQL query over the last 30 s: `instant` or range, legend `__auto`.
pub fn promql_query(ref_id: &str, expr: &str, instant: bool) -> pluginv2::DataQuery {
    let now = super::now_ms();
    data_query(
        ref_id,
        serde_json::json!({"expr": expr, "range": !instant, "instant": instant, "legendFormat": "__auto"}),
        now - 30_000,
        now,
    )
}

/// A query whose JSON bytes are sent exactly as given.
pub fn raw_query(ref_id: &str, json: Vec<u8>, from_ms: i64, to_ms: i64) -> pluginv2::DataQuery {
    pluginv2::DataQuery {
        ref_id: ref_id.to_string(),
        max_data_points: 1000,
        interval_ms: 1000,
        time_range: Some(pluginv2::TimeRange {
            from_epoch_ms: from_ms,
            to_epoch_ms: to_ms,
        }),
        json,
        query_type: String::new(),
    }
}

/// The running plugin process and a gRPC connection to it.
pub struct Plugin {
    child: Child,
    /// The handshake line.
    pub handshake: String,
    pub addr: String,
    channel: Channel,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout_after_handshake: Arc<Mutex<Vec<String>>>,
    _workdir: tempfile::TempDir,
}

/// Reads `child`'s stdout: the first line goes to `first`, the rest to `rest`.
fn read_stdout(
    out: impl std::io::Read + Send + 'static,
    first: mpsc::Sender<String>,
    rest: Arc<Mutex<Vec<String>>>,
) {
    std::thread::spawn(move || {
        let mut lines = BufReader::new(out).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = first.send(line);
        }
        for line in lines.map_while(Result::ok) {
            if let Ok(mut r) = rest.lock() {
                r.push(line);
            }
        }
    });
}

impl Plugin {
    /// Starts the plugin with Grafana's environment.
    pub async fn start() -> Result<Plugin, String> {
        Plugin::start_with_env(&[]).await
    }

    /// Starts the plugin with Grafana's environment plus `extra`.
    pub async fn start_with_env(extra: &[(&str, &str)]) -> Result<Plugin, String> {
        let workdir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let mut cmd = Command::new(EXECUTABLE);
        cmd.current_dir(workdir.path())
            .env_clear()
            .envs(grafana_env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {EXECUTABLE}: {e}"))?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(err) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    if let Ok(mut s) = sink.lock() {
                        s.push(line);
                    }
                }
            });
        }
        let rest = Arc::new(Mutex::new(Vec::new()));
        let (first_tx, first_rx) = mpsc::channel();
        let out = child.stdout.take().ok_or("no stdout pipe")?;
        read_stdout(out, first_tx, Arc::clone(&rest));
        let handshake =
            tokio::task::spawn_blocking(move || first_rx.recv_timeout(Duration::from_secs(20)))
                .await
                .map_err(|e| e.to_string())?;
        let handshake = match handshake {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                let log = stderr.lock().map(|s| s.join("\n")).unwrap_or_default();
                return Err(format!(
                    "no handshake line from the plugin ({e}); stderr:\n{log}"
                ));
            }
        };
        let parts: Vec<&str> = handshake.split('|').collect();
        if parts.len() != 5 || parts[2] != "tcp" || parts[4] != "grpc" {
            let _ = child.kill();
            return Err(format!("unexpected handshake {handshake:?}"));
        }
        let addr = parts[3].to_string();
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| e.to_string())?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| format!("cannot connect to the plugin at {addr}: {e}"))?;
        Ok(Plugin {
            child,
            handshake,
            addr,
            channel,
            stderr,
            stdout_after_handshake: rest,
            _workdir: workdir,
        })
    }

    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    fn data(&self) -> DataClient<Channel> {
        DataClient::new(self.channel()).max_decoding_message_size(usize::MAX)
    }

    pub async fn check_health(
        &self,
        ds: &Datasource,
    ) -> Result<pluginv2::CheckHealthResponse, String> {
        DiagnosticsClient::new(self.channel())
            .check_health(pluginv2::CheckHealthRequest {
                plugin_context: Some(ds.context()),
                headers: HashMap::new(),
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|e| format!("CheckHealth: {e}"))
    }

    pub async fn query(
        &self,
        ds: &Datasource,
        queries: Vec<pluginv2::DataQuery>,
    ) -> Result<pluginv2::QueryDataResponse, String> {
        self.data()
            .query_data(pluginv2::QueryDataRequest {
                plugin_context: Some(ds.context()),
                headers: HashMap::new(),
                queries,
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|e| format!("QueryData: {e}"))
    }

    /// `GET <path_and_query>` on the plugin's resources: status and JSON body.
    /// CallResource with any method and, for a POST, a form body (as
    /// Grafana's Prometheus query editor sends them): status, content type
    /// and body, joined from every part of the answer.
    pub async fn resource_call(
        &self,
        ds: &Datasource,
        method: &str,
        path_and_query: &str,
        form: Option<&str>,
    ) -> Result<(i32, String, Vec<u8>), String> {
        let path = path_and_query.split('?').next().unwrap_or("").to_string();
        let mut headers = HashMap::new();
        if form.is_some() {
            headers.insert(
                "Content-Type".to_string(),
                pluginv2::StringList {
                    values: vec!["application/x-www-form-urlencoded".to_string()],
                },
            );
        }
        let mut stream = ResourceClient::new(self.channel())
            .call_resource(pluginv2::CallResourceRequest {
                plugin_context: Some(ds.context()),
                path,
                method: method.to_string(),
                url: path_and_query.to_string(),
                headers,
                body: form.unwrap_or("").as_bytes().to_vec().into(),
            })
            .await
            .map_err(|e| format!("CallResource: {e}"))?
            .into_inner();
        let (mut code, mut content_type, mut body) = (0, String::new(), Vec::new());
        while let Some(part) = stream
            .message()
            .await
            .map_err(|e| format!("CallResource: {e}"))?
        {
            if part.code != 0 {
                code = part.code;
            }
            if let Some(ct) = part
                .headers
                .get("Content-Type")
                .and_then(|v| v.values.first())
            {
                content_type = ct.clone();
            }
            body.extend_from_slice(&part.body);
        }
        Ok((code, content_type, body))
    }

    pub async fn resource(
        &self,
        ds: &Datasource,
        path_and_query: &str,
    ) -> Result<(i32, Value), String> {
        let path = path_and_query.split('?').next().unwrap_or("").to_string();
        let mut stream = ResourceClient::new(self.channel())
            .call_resource(pluginv2::CallResourceRequest {
                plugin_context: Some(ds.context()),
                path,
                method: "GET".to_string(),
                url: path_and_query.to_string(),
                headers: HashMap::new(),
                body: Default::default(),
            })
            .await
            .map_err(|e| format!("CallResource: {e}"))?
            .into_inner();
        let mut code = 0;
        let mut body = Vec::new();
        while let Some(part) = stream
            .message()
            .await
            .map_err(|e| format!("CallResource: {e}"))?
        {
            if part.code != 0 {
                code = part.code;
            }
            body.extend_from_slice(&part.body);
        }
        let json = serde_json::from_slice(&body).map_err(|e| {
            format!(
                "resource body is not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            )
        })?;
        Ok((code, json))
    }

    /// Grafana Live's SubscribeStream for `path` (the channel without
    /// `ds/<uid>/`), as Grafana calls it when a browser subscribes.
    pub async fn subscribe(
        &self,
        ds: &Datasource,
        path: &str,
    ) -> Result<pluginv2::SubscribeStreamResponse, tonic::Status> {
        StreamClient::new(self.channel())
            .subscribe_stream(pluginv2::SubscribeStreamRequest {
                plugin_context: Some(ds.context()),
                path: path.to_string(),
                data: Default::default(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Grafana Live's RunStream for `path`: the packet stream. Dropping it
    /// cancels the call, as Grafana does when the last subscriber leaves.
    pub async fn run_stream(
        &self,
        ds: &Datasource,
        path: &str,
    ) -> Result<tonic::Streaming<pluginv2::StreamPacket>, tonic::Status> {
        StreamClient::new(self.channel())
            .run_stream(pluginv2::RunStreamRequest {
                plugin_context: Some(ds.context()),
                path: path.to_string(),
                data: Default::default(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Grafana Live's PublishStream (a browser publishing into the channel).
    pub async fn publish(
        &self,
        ds: &Datasource,
        path: &str,
        data: &[u8],
    ) -> Result<pluginv2::PublishStreamResponse, tonic::Status> {
        StreamClient::new(self.channel())
            .publish_stream(pluginv2::PublishStreamRequest {
                plugin_context: Some(ds.context()),
                path: path.to_string(),
                data: data.to_vec(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Everything the plugin wrote to stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Lines written to stdout after the handshake (there should be none).
    pub fn stdout_after_handshake(&self) -> Vec<String> {
        self.stdout_after_handshake
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Still running?
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the plugin as Grafana does: go-plugin's `Shutdown` call, close
    /// the connection, wait two seconds, then kill. Returns the exit status,
    /// or an error when it had to be killed.
    pub async fn stop(mut self) -> Result<ExitStatus, String> {
        let mut grpc = tonic::client::Grpc::new(self.channel());
        let shutdown = async {
            grpc.ready().await.map_err(|e| e.to_string())?;
            let path = tonic::codegen::http::uri::PathAndQuery::from_static(
                "/plugin.GRPCController/Shutdown",
            );
            grpc.unary::<Empty, Empty, _>(
                tonic::Request::new(Empty {}),
                path,
                tonic::codec::ProstCodec::default(),
            )
            .await
            .map_err(|e| e.to_string())
        };
        let answered = shutdown.await;
        drop(grpc);
        // Closing stdin and the connection is what go-plugin does next.
        drop(self.child.stdin.take());
        let status = tokio::task::block_in_place(|| self.wait_exit(Duration::from_secs(2)));
        match status {
            Some(status) => {
                answered.map_err(|e| format!("Shutdown call failed: {e}"))?;
                Ok(status)
            }
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                Err(format!(
                    "the plugin did not exit within 2 s of Shutdown ({answered:?}) and was killed"
                ))
            }
        }
    }
}

/// go-plugin's `plugin.Empty`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Empty {}

impl Drop for Plugin {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
