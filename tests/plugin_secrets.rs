//! Secrets stay secret, and TLS is verified by default.
//!
//! The real `gpx_vllm` runs with `RUST_LOG=trace` and serves datasources
//! whose `secureJsonData` holds unique strings, in Prometheus mode (a real
//! Prometheus, a closed port, a server that demands auth and echoes the
//! request back in its 401 and 500 answers) and in direct mode (simulators,
//! a closed port, a target that demands auth). Every QueryData (good and
//! failing queries), CheckHealth and resource answer (JSON, Arrow bytes,
//! error strings) and the plugin's whole stderr and stdout are searched for
//! the secrets: none may appear.
//!
//! TLS: an https loopback server with a certificate from a test CA
//! (`tests/fixtures/tls/`) is refused with a TLS error naming the fix,
//! unless `tlsSkipVerify` is on or `tlsCACert` holds the CA, in both modes;
//! a server that demands a client certificate gets one with `tlsAuth`.
//!
//! Redirects: a Prometheus URL that redirects to another server is refused
//! before the credentials reach it.

mod support;

use grafana_plugin_sdk::pluginv2::{self, check_health_response::HealthStatus};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::grafana::{data_query, raw_query, Datasource, Plugin};
use support::prometheus::Prometheus;
use support::vllm::Simulator;
use support::{eventually, frames, now_ms, stubs};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use vllm_grafana::catalog::names;

const USER: &str = "grafana-user";
const PASSWORD: &str = "pw-Zq81-basic-secret";
const BEARER: &str = "tok-Kx55-bearer-secret";
const HEADER_VALUE: &str = "hdr-Ty27-tenant-secret";
const CLIENT_KEY: &str = "key-Mm90-client-key-secret";
const CLIENT_CERT: &str = "crt-Pa46-client-cert-secret";
const OTHER: &str = "any-Wd03-secure-json-secret";

use support::tls::{CA_PEM, SERVER_PEM};
const CLIENT_CA_PEM: &str = include_str!("fixtures/tls/client-ca.pem");
const CLIENT_PEM: &str = include_str!("fixtures/tls/client.pem");
const CLIENT_KEY_PEM: &str = include_str!("fixtures/tls/client.key");

/// Standard base64, to look for the basic-auth header value too.
fn base64(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

/// Every string that must never leave the plugin.
fn secrets() -> Vec<String> {
    let mut all: Vec<String> = [
        PASSWORD,
        BEARER,
        HEADER_VALUE,
        CLIENT_KEY,
        CLIENT_CERT,
        OTHER,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.push(base64(format!("{USER}:{PASSWORD}").as_bytes()));
    all
}

/// The secure fields every datasource here carries besides its auth.
fn with_common_secrets(ds: Datasource) -> Datasource {
    ds.json("httpHeaderName1", json!("X-Scope-OrgID"))
        .secure("httpHeaderValue1", HEADER_VALUE)
        .secure("tlsClientKey", CLIENT_KEY)
        .secure("tlsClientCert", CLIENT_CERT)
        .secure("someFutureSecret", OTHER)
}

fn basic(ds: Datasource) -> Datasource {
    with_common_secrets(ds)
        .json("basicAuthUser", json!(USER))
        .secure("basicAuthPassword", PASSWORD)
}

fn bearer(ds: Datasource) -> Datasource {
    with_common_secrets(ds).secure("bearerToken", BEARER)
}

fn direct(uid: &str, targets: &[String]) -> Datasource {
    Datasource::prometheus("")
        .uid(uid)
        .json("mode", json!("direct"))
        .json("timeInterval", Value::Null)
        .json("targets", json!(targets))
        .json("scrapeInterval", json!("1s"))
        .json("timeout", json!(1))
}

/// A background loopback server, stopped when dropped.
struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request head (these tests send no bodies to it that matter).
async fn read_head<S: AsyncReadExt + Unpin>(conn: &mut S) -> Option<String> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    while !data.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await.ok()?;
        if n == 0 || data.len() > 64 * 1024 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    // A form body (POST queries) follows; it is not needed.
    Some(String::from_utf8_lossy(&data).into_owned())
}

/// Answers every request with `status` and, as the body, the request head
/// it received (Authorization and custom headers included): a server that
/// demands auth and echoes what it was sent, as some proxies do.
async fn echoing(status: u16) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Some(head) = read_head(&mut conn).await else {
                    return;
                };
                let answer = format!(
                    "HTTP/1.1 {status} Echo\r\nWWW-Authenticate: Basic realm=\"vllm\"\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{head}",
                    head.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    Server { addr, task }
}

/// An https server with the test CA's certificate for 127.0.0.1: `/metrics`
/// is a small vLLM page, anything else a Prometheus answer for `vector(1)`.
async fn https() -> Server {
    https_server(None).await
}

/// [`https`], demanding a client certificate from `client_ca` when given.
async fn https_server(client_ca: Option<&str>) -> Server {
    let acceptor = support::tls::acceptor(client_ca).expect("TLS acceptor");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(conn).await else {
                    return;
                };
                let Some(head) = read_head(&mut tls).await else {
                    return;
                };
                let (content_type, body) = if head.contains(" /metrics") {
                    (
                        "text/plain; version=0.0.4",
                        format!(
                            "# TYPE {n} gauge\n{n}{{model_name=\"m\"}} 3\n",
                            n = names::NUM_REQUESTS_RUNNING
                        ),
                    )
                } else {
                    (
                        "application/json",
                        json!({"status": "success", "data": {"resultType": "vector",
                            "result": [{"metric": {}, "value": [now_ms() as f64 / 1000.0, "1"]}]}})
                        .to_string(),
                    )
                };
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Server { addr, task }
}

/// Everything the plugin answered, to be searched at the end.
#[derive(Default)]
struct Seen {
    bytes: Vec<u8>,
}

impl Seen {
    fn data(&mut self, resp: &pluginv2::QueryDataResponse) {
        for (ref_id, r) in &resp.responses {
            self.bytes.extend_from_slice(ref_id.as_bytes());
            self.bytes.extend_from_slice(r.error.as_bytes());
            self.bytes.extend_from_slice(&r.json_meta);
            for frame in &r.frames {
                self.bytes.extend_from_slice(frame);
            }
        }
    }

    fn health(&mut self, h: &pluginv2::CheckHealthResponse) {
        self.bytes.extend_from_slice(h.message.as_bytes());
        self.bytes.extend_from_slice(&h.json_details);
    }

    fn text(&mut self, s: &str) {
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(b'\n');
    }

    fn leaks(&self) -> Vec<String> {
        secrets()
            .into_iter()
            .filter(|s| memchr_find(&self.bytes, s.as_bytes()))
            .collect()
    }
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A raw CallResource: status and body bytes, whatever the method.
async fn resource(
    plugin: &Plugin,
    ds: &Datasource,
    method: &str,
    path_and_query: &str,
) -> (i32, Vec<u8>) {
    let path = path_and_query.split('?').next().unwrap_or("").to_string();
    let mut stream = pluginv2::resource_client::ResourceClient::new(plugin.channel())
        .call_resource(pluginv2::CallResourceRequest {
            plugin_context: Some(ds.context()),
            path,
            method: method.to_string(),
            url: path_and_query.to_string(),
            headers: HashMap::new(),
            body: b"{\"url\": \"http://127.0.0.1:1/\"}".to_vec().into(),
        })
        .await
        .expect("CallResource")
        .into_inner();
    let mut code = 0;
    let mut body = Vec::new();
    while let Some(part) = stream.message().await.expect("resource stream") {
        if part.code != 0 {
            code = part.code;
        }
        body.extend_from_slice(&part.body);
    }
    (code, body)
}

fn window() -> (i64, i64) {
    let to = now_ms();
    (to - 60_000, to)
}

/// Good and failing queries, in one request and one at a time.
fn queries() -> Vec<pluginv2::DataQuery> {
    let (from, to) = window();
    vec![
        data_query(
            "GOOD",
            json!({"expr": "sum(up)", "range": true, "instant": true}),
            from,
            to,
        ),
        data_query(
            "RUNNING",
            json!({"expr": names::NUM_REQUESTS_RUNNING, "instant": true}),
            from,
            to,
        ),
        data_query("SYNTAX", json!({"expr": "sum(rate(x[5m])"}), from, to),
        data_query("UNKNOWN", json!({"expr": "nosuchfunction(up)"}), from, to),
        raw_query(
            "MALFORMED",
            br#"{"expr": "up", "instant": tru"#.to_vec(),
            from,
            to,
        ),
        // Fields that look like destinations are not read from queries.
        data_query(
            "URLFIELDS",
            json!({"expr": "vector(1)", "instant": true, "url": "http://127.0.0.1:1",
                   "datasource": {"url": "http://127.0.0.1:1"}, "targets": ["http://127.0.0.1:1/metrics"]}),
            from,
            to,
        ),
    ]
}

/// Drives every entry point of one datasource, collecting the answers.
async fn exercise(plugin: &Plugin, ds: &Datasource, seen: &mut Seen) {
    let resp = plugin.query(ds, queries()).await.expect("QueryData");
    seen.data(&resp);
    for q in queries() {
        let resp = plugin.query(ds, vec![q]).await.expect("QueryData");
        seen.data(&resp);
    }
    let health = plugin.check_health(ds).await.expect("CheckHealth");
    seen.health(&health);
    for route in [
        "labels",
        "labels?match[]=up",
        "label-values?label=job",
        "label-values?label=job&match[]=up",
        "label-values?label=../x",
        "metric-names",
        "metric-names?match[]=%7B__name__%3D~%22vllm.*%22%7D",
        "targets",
        "catalog",
        "nosuchroute",
    ] {
        let (code, body) = resource(plugin, ds, "GET", route).await;
        assert_ne!(code, 0, "{route}");
        seen.bytes.extend_from_slice(&body);
    }
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        for route in ["labels", "targets", "catalog", "nosuchroute"] {
            let (code, body) = resource(plugin, ds, method, route).await;
            assert_eq!(
                code,
                405,
                "{method} {route}: {}",
                String::from_utf8_lossy(&body)
            );
            seen.bytes.extend_from_slice(&body);
        }
    }
}

fn start_plugin_traced() -> impl std::future::Future<Output = Result<Plugin, String>> {
    Plugin::start_with_env(&[("RUST_LOG", "trace")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secrets_never_leave_the_plugin() {
    let prom = Prometheus::start(&[], Duration::from_secs(1))
        .await
        .expect("prometheus");
    let sim = Simulator::start(1, 1).await.expect("simulator");
    let closed = stubs::closed_port().await.expect("closed port");
    let unauthorized = echoing(401).await;
    let broken = echoing(500).await;
    let plugin = start_plugin_traced().await.expect("plugin");
    let mut seen = Seen::default();

    // Prometheus mode, reachable: queries answer, health is OK.
    let reachable = basic(Datasource::prometheus(&prom.url()).uid("prom-basic"));
    let resp = plugin
        .query(
            &reachable,
            vec![data_query(
                "A",
                json!({"expr": "vector(1)", "instant": true}),
                window().0,
                window().1,
            )],
        )
        .await
        .expect("QueryData");
    let good = frames::frames_of(&resp, "A").expect("a good query answers");
    assert_eq!(good[0].fields[1].numbers(), vec![Some(1.0)]);
    seen.data(&resp);
    exercise(&plugin, &reachable, &mut seen).await;
    let reachable_bearer = bearer(Datasource::prometheus(&prom.url()).uid("prom-bearer"));
    exercise(&plugin, &reachable_bearer, &mut seen).await;

    // Unreachable, 401 and a 500 that echoes the request (auth headers included).
    for (uid, url) in [
        ("prom-closed", format!("http://{closed}")),
        ("prom-401", format!("http://{}", unauthorized.addr)),
        ("prom-500", format!("http://{}", broken.addr)),
    ] {
        for ds in [
            basic(Datasource::prometheus(&url).uid(&format!("{uid}-basic"))),
            bearer(Datasource::prometheus(&url).uid(&format!("{uid}-bearer"))),
        ] {
            let health = plugin.check_health(&ds).await.expect("CheckHealth");
            assert_eq!(
                health.status,
                HealthStatus::Error as i32,
                "{uid}: {}",
                health.message
            );
            if uid == "prom-401" {
                assert!(health.message.contains("401"), "{}", health.message);
            }
            exercise(&plugin, &ds, &mut seen).await;
        }
    }
    // The 500 answer quoted the request: the error says so, without the secrets.
    let echoed = basic(Datasource::prometheus(&format!("http://{}", broken.addr)).uid("echo"));
    let resp = plugin
        .query(
            &echoed,
            vec![data_query(
                "E",
                json!({"expr": "vector(1)", "instant": true}),
                window().0,
                window().1,
            )],
        )
        .await
        .expect("QueryData");
    let error = frames::error_of(&resp, "E");
    assert!(
        error.contains("HTTP 500") && error.contains("<redacted>"),
        "{error}"
    );
    seen.data(&resp);

    // Invalid settings that name secret fields.
    let invalid = with_common_secrets(Datasource::prometheus(&prom.url()).uid("invalid"))
        .json("tlsAuth", json!(true))
        .secure("basicAuthPassword", PASSWORD)
        .secure("bearerToken", BEARER)
        .secure("tlsCACert", CLIENT_CERT);
    let health = plugin.check_health(&invalid).await.expect("CheckHealth");
    assert_eq!(health.status, HealthStatus::Error as i32);
    exercise(&plugin, &invalid, &mut seen).await;

    // Direct mode: a simulator, a closed port, a target that demands auth.
    let targets = vec![
        format!("http://{}/metrics", sim.addr),
        format!("http://{closed}/metrics"),
        format!("http://{}/metrics", unauthorized.addr),
    ];
    let direct_ds = basic(direct("direct-basic", &targets));
    let health = plugin.check_health(&direct_ds).await.expect("CheckHealth");
    assert_eq!(health.status, HealthStatus::Ok as i32, "{}", health.message);
    assert!(health.message.contains("HTTP 401"), "{}", health.message);
    seen.health(&health);
    exercise(&plugin, &direct_ds, &mut seen).await;
    exercise(
        &plugin,
        &bearer(direct("direct-bearer", &targets)),
        &mut seen,
    )
    .await;

    // Let the scrape loops and their logging run a little.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stderr = plugin.stderr();
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("TRACE") || l.contains("\"trace\"")),
        "the plugin did not log at trace level: {:?}",
        stderr.iter().take(5).collect::<Vec<_>>()
    );
    for line in stderr.iter().chain(plugin.stdout_after_handshake().iter()) {
        seen.text(line);
    }
    seen.text(&plugin.handshake);
    assert!(seen.bytes.len() > 100_000, "too little was checked");
    let leaks = seen.leaks();
    assert!(leaks.is_empty(), "secrets leaked: {leaks:?}");
    plugin.stop().await.expect("clean stop");
}

/// The error of a one-query QueryData of `vector(1)`, or its value.
async fn vector_one(plugin: &Plugin, ds: &Datasource) -> Result<f64, String> {
    let (from, to) = window();
    let resp = plugin
        .query(
            ds,
            vec![data_query(
                "T",
                json!({"expr": "vector(1)", "instant": true}),
                from,
                to,
            )],
        )
        .await?;
    let frames = frames::frames_of(&resp, "T").map_err(|_| frames::error_of(&resp, "T"))?;
    frames
        .first()
        .and_then(|f| f.fields.get(1))
        .and_then(|f| f.numbers().first().copied().flatten())
        .ok_or_else(|| "no value".to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_verified_unless_configured_otherwise() {
    let server = https().await;
    let plugin = Plugin::start().await.expect("plugin");
    let url = format!("https://127.0.0.1:{}", server.addr.port());

    // Prometheus mode: refused by default, with the fix named.
    let strict = Datasource::prometheus(&url).uid("tls-strict");
    let error = vector_one(&plugin, &strict).await.expect_err("untrusted");
    assert!(
        error.contains("TLS") && error.contains("tlsCACert") && error.contains("tlsSkipVerify"),
        "{error}"
    );
    let health = plugin.check_health(&strict).await.expect("CheckHealth");
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert!(health.message.contains("TLS"), "{}", health.message);

    let skip = Datasource::prometheus(&url)
        .uid("tls-skip")
        .json("tlsSkipVerify", json!(true));
    assert_eq!(vector_one(&plugin, &skip).await, Ok(1.0));
    let with_ca = Datasource::prometheus(&url)
        .uid("tls-ca")
        .secure("tlsCACert", CA_PEM);
    assert_eq!(vector_one(&plugin, &with_ca).await, Ok(1.0));
    // A CA that did not sign the certificate does not help.
    let wrong_ca = Datasource::prometheus(&url)
        .uid("tls-wrong-ca")
        .secure("tlsCACert", SERVER_PEM);
    let error = vector_one(&plugin, &wrong_ca).await.expect_err("wrong CA");
    assert!(error.contains("TLS"), "{error}");

    // Direct mode: the target is down with a TLS error, up once trusted.
    let target = vec![format!("{url}/metrics")];
    let strict = direct("tls-direct-strict", &target);
    let health = plugin.check_health(&strict).await.expect("CheckHealth");
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert!(
        health.message.to_ascii_lowercase().contains("certificate"),
        "{}",
        health.message
    );
    for ds in [
        direct("tls-direct-skip", &target).json("tlsSkipVerify", json!(true)),
        direct("tls-direct-ca", &target).secure("tlsCACert", CA_PEM),
    ] {
        let health = plugin.check_health(&ds).await.expect("CheckHealth");
        assert_eq!(health.status, HealthStatus::Ok as i32, "{}", health.message);
        let value = eventually("the https target's value", Duration::from_secs(10), || {
            let (plugin, ds) = (&plugin, &ds);
            async move {
                let (from, to) = window();
                let resp = plugin
                    .query(
                        ds,
                        vec![data_query(
                            "R",
                            json!({"expr": names::NUM_REQUESTS_RUNNING, "instant": true}),
                            from,
                            to,
                        )],
                    )
                    .await
                    .ok()?;
                let frames = frames::frames_of(&resp, "R").ok()?;
                frames.first()?.fields.get(1)?.numbers().first().copied()?
            }
        })
        .await
        .expect("value");
        assert_eq!(value, 3.0);
    }
    plugin.stop().await.expect("clean stop");
    drop(server);
}

/// Answers every request with a redirect to `location`.
async fn redirecting(location: String) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let location = location.clone();
            tokio::spawn(async move {
                if read_head(&mut conn).await.is_none() {
                    return;
                }
                let answer = format!(
                    "HTTP/1.1 307 Moved\r\nLocation: {location}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    Server { addr, task }
}

/// Counts the connections it accepts, answering each with a 500 echo.
async fn counting() -> (Server, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = read_head(&mut conn).await;
            let _ = conn
                .write_all(b"HTTP/1.1 500 No\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    (Server { addr, task }, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_redirects_to_other_servers_are_refused() {
    let (elsewhere, reached) = counting().await;
    // Another port on the same host is another server.
    let redirect = redirecting(format!("http://{}/api/v1/query", elsewhere.addr)).await;
    let plugin = Plugin::start().await.expect("plugin");
    let ds = basic(Datasource::prometheus(&format!("http://{}", redirect.addr)).uid("redirect"));
    let error = vector_one(&plugin, &ds).await.expect_err("refused");
    assert!(error.contains("refused a redirect"), "{error}");
    let health = plugin.check_health(&ds).await.expect("CheckHealth");
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert_eq!(
        reached.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the credentials went to the other server"
    );
    plugin.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_presented_with_tls_auth() {
    let server = https_server(Some(CLIENT_CA_PEM)).await;
    let plugin = Plugin::start().await.expect("plugin");
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    let trusted = |uid: &str, base: Datasource| base.uid(uid).secure("tlsCACert", CA_PEM);

    let without = trusted("mtls-none", Datasource::prometheus(&url));
    vector_one(&plugin, &without)
        .await
        .expect_err("the server demands a client certificate");
    let with = trusted("mtls", Datasource::prometheus(&url))
        .json("tlsAuth", json!(true))
        .secure("tlsClientCert", CLIENT_PEM)
        .secure("tlsClientKey", CLIENT_KEY_PEM);
    assert_eq!(vector_one(&plugin, &with).await, Ok(1.0));

    let target = vec![format!("{url}/metrics")];
    let direct_with = trusted("mtls-direct", direct("mtls-direct", &target))
        .json("tlsAuth", json!(true))
        .secure("tlsClientCert", CLIENT_PEM)
        .secure("tlsClientKey", CLIENT_KEY_PEM);
    let health = plugin
        .check_health(&direct_with)
        .await
        .expect("CheckHealth");
    assert_eq!(health.status, HealthStatus::Ok as i32, "{}", health.message);
    let direct_without = trusted("mtls-direct-none", direct("mtls-direct-none", &target));
    let health = plugin
        .check_health(&direct_without)
        .await
        .expect("CheckHealth");
    assert_eq!(
        health.status,
        HealthStatus::Error as i32,
        "{}",
        health.message
    );

    // The key never shows, not even in the log.
    let key_line = CLIENT_KEY_PEM
        .lines()
        .find(|l| !l.starts_with("-----"))
        .unwrap_or("-");
    assert!(plugin.stderr().iter().all(|l| !l.contains(key_line)));
    plugin.stop().await.expect("clean stop");
}
