//! Prometheus' HTTP API through the plugin's resources (`api/v1/...`), as a
//! query editor built on that API calls it through Grafana: direct mode
//! answers like a real Prometheus 2.42 scraping the same simulators;
//! Prometheus mode hands back the server's own answer, from a real
//! Prometheus and a real VictoriaMetrics.
//!
//! What is compared in direct mode: both scrape the same simulators in job
//! `vllm` with `instance` = `host:port`, so label names, label values and
//! series of the vLLM metrics are the same sets. Values are not compared
//! (the two scrape at different moments) except for expressions that do not
//! read samples (`time()`, scalars, strings), which must be equal to the
//! byte. `_created` series are left out: direct mode drops them at the
//! scrape, Prometheus 2.42 keeps them as gauges.

mod support;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use support::grafana::{Datasource, Plugin};
use support::prometheus::Prometheus;
use support::server::encode;
use support::victoria::Victoria;
use support::vllm::Simulator;
use support::{eventually, now_ms};
use vllm_grafana::catalog::{self, names};

/// The vLLM metrics, as a series selector.
fn vllm_selector() -> String {
    let name = names::NUM_REQUESTS_RUNNING;
    let prefix = name.split(':').next().unwrap_or(name);
    format!("{{__name__=~\"{prefix}:.+\"}}")
}

/// A resource call's status and JSON body.
async fn plugin_call(
    plugin: &Plugin,
    ds: &Datasource,
    method: &str,
    path: &str,
    form: Option<&str>,
) -> (u16, Value) {
    let (code, content_type, body) = plugin
        .resource_call(ds, method, path, form)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    assert!(
        content_type.starts_with("application/json"),
        "{method} {path}: {content_type}"
    );
    let value = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "{method} {path}: not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    (u16::try_from(code).unwrap_or(0), value)
}

async fn plugin_get(plugin: &Plugin, ds: &Datasource, path: &str) -> (u16, Value) {
    plugin_call(plugin, ds, "GET", path, None).await
}

/// A server's own answer to `GET <base>/<path>`.
async fn server_get(base: &str, path: &str) -> (u16, Value) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let resp = client
        .get(format!("{base}/{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, value)
}

/// `data` of a successful answer, checked for the envelope.
fn data(path: &str, (status, body): &(u16, Value)) -> Value {
    assert_eq!(*status, 200, "{path}: {body}");
    assert_eq!(body["status"], "success", "{path}: {body}");
    body["data"].clone()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .filter_map(|s| s.as_str())
        .filter(|s| !s.ends_with("_created"))
        .map(str::to_string)
        .collect()
}

type LabelSet = BTreeMap<String, String>;

fn label_sets(v: &Value) -> BTreeSet<LabelSet> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| serde_json::from_value::<LabelSet>(s.clone()).unwrap_or_default())
        .filter(|l| !l.get("__name__").is_some_and(|n| n.ends_with("_created")))
        .collect()
}

/// The result type and the label sets of a query's `data`.
fn result_sets(v: &Value) -> (String, BTreeSet<LabelSet>) {
    let kind = v["resultType"].as_str().unwrap_or_default().to_string();
    let sets = v["result"]
        .as_array()
        .unwrap_or_else(|| panic!("no result list: {v}"))
        .iter()
        .map(|s| serde_json::from_value::<LabelSet>(s["metric"].clone()).unwrap_or_default())
        .collect();
    (kind, sets)
}

/// Two simulators scraped every second by the plugin (direct mode) and by
/// a real Prometheus, both with at least five scrapes of each.
async fn scraped_twice() -> (Simulator, Simulator, Prometheus, Plugin, Datasource) {
    let a = Simulator::start(2, 1).await.expect("simulator a");
    let b = Simulator::start(1, 2).await.expect("simulator b");
    let prom = Prometheus::start(
        &[a.addr.to_string(), b.addr.to_string()],
        Duration::from_secs(1),
    )
    .await
    .expect("prometheus");
    let plugin = Plugin::start().await.expect("plugin");
    let ds = Datasource::direct(
        "direct-api",
        &[
            format!("http://{}/metrics", a.addr),
            format!("http://{}/metrics", b.addr),
        ],
    );
    prom.wait_for_scrapes(5, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", prom.log()));
    let path = format!(
        "api/v1/query?query={}",
        encode("min(count_over_time(up[30s]))")
    );
    eventually(
        "five direct-mode scrapes",
        Duration::from_secs(30),
        || async {
            let answer = plugin_get(&plugin, &ds, &path).await;
            let d = data(&path, &answer);
            let n: f64 = d["result"][0]["value"][1].as_str()?.parse().ok()?;
            (n >= 5.0).then_some(())
        },
    )
    .await
    .expect("direct mode scrapes");
    (a, b, prom, plugin, ds)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn direct_mode_answers_with_prometheus_sets_and_shapes() {
    let (_a, _b, prom, plugin, ds) = scraped_twice().await;
    let base = prom.url();
    let sel = encode(&vllm_selector());
    let now_s = now_ms() / 1000;
    let (start, end) = (now_s - 60, now_s + 1);

    // Label names and values, with and without match[] and a time range.
    let lists = [
        format!("api/v1/labels?match[]={sel}&start={start}&end={end}"),
        format!("api/v1/label/__name__/values?match[]={sel}"),
        format!("api/v1/label/__name__/values?match[]={sel}&start={start}&end={end}"),
        "api/v1/label/model_name/values".to_string(),
        "api/v1/label/job/values".to_string(),
        "api/v1/label/instance/values".to_string(),
        format!(
            "api/v1/label/model_name/values?match[]={}",
            encode(names::NUM_REQUESTS_RUNNING)
        ),
        // A label nobody has: an empty list from both.
        "api/v1/label/no_such_label/values".to_string(),
    ];
    for path in &lists {
        let ours = data(path, &plugin_get(&plugin, &ds, path).await);
        let theirs = data(path, &server_get(&base, path).await);
        assert_eq!(strings(&ours), strings(&theirs), "{path}");
        if !path.contains("no_such_label") {
            assert!(!strings(&ours).is_empty(), "{path}: {ours}");
        }
    }

    // Series, match[] repeated.
    let path = format!(
        "api/v1/series?match[]={}&match[]={}&start={start}&end={end}",
        encode(names::NUM_REQUESTS_RUNNING),
        encode(&format!("{}{{model_name!=\"\"}}", names::PROMPT_TOKENS)),
    );
    let ours = label_sets(&data(&path, &plugin_get(&plugin, &ds, &path).await));
    let theirs = label_sets(&data(&path, &server_get(&base, &path).await));
    assert_eq!(ours, theirs, "{path}");
    assert!(ours.len() >= 4, "{ours:?}");

    // Queries: the same result types and label sets.
    let t = now_s - 2;
    let exprs = [
        format!("sum by (model_name) ({})", names::NUM_REQUESTS_RUNNING),
        "up".to_string(),
        format!("sum by (instance) (rate({}[5s]))", names::PROMPT_TOKENS),
        format!("{}[3s]", names::NUM_REQUESTS_RUNNING),
    ];
    for expr in &exprs {
        let path = format!("api/v1/query?query={}&time={t}", encode(expr));
        let ours = result_sets(&data(&path, &plugin_get(&plugin, &ds, &path).await));
        let theirs = result_sets(&data(&path, &server_get(&base, &path).await));
        assert_eq!(ours, theirs, "{expr}");
        assert!(!ours.1.is_empty(), "{expr}");
        let path = format!(
            "api/v1/query_range?query={}&start={}&end={t}&step=1",
            encode(expr),
            t - 8
        );
        if expr.ends_with("[3s]") {
            // A range vector is no range query: both refuse it alike.
            let ours = plugin_get(&plugin, &ds, &path).await;
            let theirs = server_get(&base, &path).await;
            assert_eq!(ours.0, theirs.0, "{path}: {} / {}", ours.1, theirs.1);
            assert_eq!(ours.1["errorType"], theirs.1["errorType"], "{path}");
            continue;
        }
        let ours = result_sets(&data(&path, &plugin_get(&plugin, &ds, &path).await));
        let theirs = result_sets(&data(&path, &server_get(&base, &path).await));
        assert_eq!(ours, theirs, "{expr}");
        assert_eq!(ours.0, "matrix");
    }

    // Answers that read no samples are equal to the byte.
    let fraction = format!("{}.25", t - 5);
    let exact = [
        format!(
            "api/v1/query?query={}&time={t}",
            encode("scalar(vector(2.5))")
        ),
        format!("api/v1/query?query={}&time={fraction}", encode("\"text\"")),
        format!(
            "api/v1/query?query={}&time={fraction}",
            encode("vector(1) / 0")
        ),
        format!(
            "api/v1/query_range?query={}&start={fraction}&end={t}&step=0.5",
            encode("time()")
        ),
        format!(
            "api/v1/query_range?query={}&start={}&end={t}&step=2",
            encode("label_replace(vector(-1e-7), \"a\", \"b\", \"\", \"\")"),
            t - 10
        ),
    ];
    for path in &exact {
        let ours = plugin_get(&plugin, &ds, path).await;
        let theirs = server_get(&base, path).await;
        assert_eq!(ours, theirs, "{path}");
    }

    // Metadata: the catalog's metrics the simulators expose, typed as
    // Prometheus saw them in the scrape.
    let path = "api/v1/metadata";
    let ours = data(path, &plugin_get(&plugin, &ds, path).await);
    let theirs = data(path, &server_get(&base, path).await);
    let known = |v: &Value| -> BTreeMap<String, String> {
        v.as_object()
            .unwrap_or_else(|| panic!("not an object: {v}"))
            .iter()
            .filter(|(name, _)| catalog::lookup(name).is_some())
            .map(|(name, m)| {
                (
                    name.clone(),
                    m[0]["type"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    assert_eq!(known(&ours), known(&theirs));
    assert!(known(&ours).contains_key(names::PROMPT_TOKENS), "{ours}");
    let path = format!(
        "api/v1/metadata?metric={}",
        encode(names::TIME_TO_FIRST_TOKEN)
    );
    let one = data(&path, &plugin_get(&plugin, &ds, &path).await);
    assert_eq!(one.as_object().map(|o| o.len()), Some(1), "{one}");
    assert_eq!(one[names::TIME_TO_FIRST_TOKEN][0]["type"], "histogram");
    assert!(one[names::TIME_TO_FIRST_TOKEN][0]["help"]
        .as_str()
        .is_some_and(|h| !h.is_empty()));
    let path = "api/v1/metadata?limit=2";
    let two = data(path, &plugin_get(&plugin, &ds, path).await);
    assert_eq!(two.as_object().map(|o| o.len()), Some(2), "{two}");

    // Build information: a Prometheus-shaped answer.
    let path = "api/v1/status/buildinfo";
    let info = data(path, &plugin_get(&plugin, &ds, path).await);
    assert!(
        info["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("2.")),
        "{info}"
    );

    // `limit` truncates with a warning (Prometheus 2.42 has no `limit`).
    let path = "api/v1/label/__name__/values?limit=3";
    let (status, body) = plugin_get(&plugin, &ds, path).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().map(Vec::len), Some(3), "{body}");
    assert!(body["warnings"].to_string().contains("truncated"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forms_and_bad_input_get_prometheus_answers() {
    let (_a, _b, prom, plugin, ds) = scraped_twice().await;
    let base = prom.url();
    let t = now_ms() / 1000 - 2;
    let sel = encode(&vllm_selector());

    // POST with a form body answers as GET with the query string.
    let posts = [
        ("query", format!("query={}&time={t}", encode("sum(up)"))),
        (
            "query_range",
            format!(
                "query={}&start={}&end={t}&step=1",
                encode("count(up)"),
                t - 5
            ),
        ),
        (
            "labels",
            format!("match%5B%5D={sel}&start={}&end={t}", t - 30),
        ),
        (
            "series",
            format!("match[]={}&match[]=up", encode(names::NUM_REQUESTS_RUNNING)),
        ),
        ("label/model_name/values", format!("match[]={sel}")),
    ];
    for (route, form) in &posts {
        let path = format!("api/v1/{route}");
        let posted = plugin_call(&plugin, &ds, "POST", &path, Some(form)).await;
        let got = plugin_get(&plugin, &ds, &format!("{path}?{form}")).await;
        assert_eq!(posted.0, 200, "{path} {form}: {}", posted.1);
        assert_eq!(posted, got, "{path} {form}");
    }

    // Bad input: the status and errorType Prometheus gives, and a message
    // that names the culprit.
    let bad = [
        (
            format!("api/v1/series?match[]={}", encode("up{")),
            "match[]",
        ),
        ("api/v1/series".to_string(), "match[]"),
        (
            format!("api/v1/labels?match[]={}", encode("sum(up)")),
            "match[]",
        ),
        (format!("api/v1/query?query={}", encode("sum(")), "query"),
        ("api/v1/query?query=up&time=yesterday".to_string(), "time"),
        ("api/v1/labels?start=soon".to_string(), "start"),
        ("api/v1/label/1abc/values".to_string(), "1abc"),
        (
            "api/v1/query_range?query=up&start=10&end=5&step=1".to_string(),
            "end",
        ),
        (
            "api/v1/query_range?query=up&start=1&end=5&step=0".to_string(),
            "step",
        ),
        (
            "api/v1/query_range?query=up&start=1&end=5&step=often".to_string(),
            "step",
        ),
        (
            "api/v1/query_range?query=up&start=0&end=100000&step=1".to_string(),
            "step",
        ),
        (
            format!("api/v1/query?query={}&time={t}", encode("up + on() up")),
            "many-to-many",
        ),
    ];
    for (path, culprit) in &bad {
        let (status, body) = plugin_get(&plugin, &ds, path).await;
        let (their_status, theirs) = server_get(&base, path).await;
        assert_eq!(
            (status, &body["status"], &body["errorType"]),
            (their_status, &theirs["status"], &theirs["errorType"]),
            "{path}: {body} / {theirs}"
        );
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains(culprit), "{path}: {message}");
    }

    // The plugin's own refusals: unknown API paths, other methods, other bodies.
    for path in [
        "api/v1/status/config",
        "api/v1/admin/tsdb/snapshot",
        "api/v1/label/job/../values",
        "api/v1/targets",
    ] {
        let (status, body) = plugin_get(&plugin, &ds, path).await;
        assert!(status == 404 || status == 400, "{path}: {status} {body}");
        assert_eq!(body["status"], "error", "{path}");
    }
    for method in ["PUT", "DELETE", "PATCH"] {
        let (status, body) =
            plugin_call(&plugin, &ds, method, "api/v1/series?match[]=up", None).await;
        assert_eq!(status, 405, "{method}: {body}");
    }
    let (code, _, body) = plugin
        .resource_call(&ds, "POST", "labels", Some("match[]=up"))
        .await
        .expect("answered");
    assert_eq!(code, 405, "{}", String::from_utf8_lossy(&body));
    let json_body = plugin
        .resource_call(&ds, "POST", "api/v1/query", None)
        .await
        .expect("answered");
    // A POST without a form (no query) is the missing query's error.
    assert_eq!(json_body.0, 400);
}

/// Prometheus mode: the plugin's answer is the server's own.
async fn same_as_server(plugin: &Plugin, ds: &Datasource, base: &str, paths: &[String]) {
    for path in paths {
        let ours = plugin_get(plugin, ds, path).await;
        let theirs = server_get(base, path).await;
        assert_eq!(ours, theirs, "{path}");
    }
}

fn passthrough_paths() -> Vec<String> {
    let t = now_ms() / 1000 - 10;
    let (start, end) = (t - 30, t);
    let sel = encode(&vllm_selector());
    let sum = encode(&format!(
        "sum by (model_name) ({})",
        names::NUM_REQUESTS_RUNNING
    ));
    vec![
        format!("api/v1/labels?match[]={sel}&start={start}&end={end}"),
        format!("api/v1/label/__name__/values?match[]={sel}&start={start}&end={end}"),
        format!("api/v1/label/model_name/values?start={start}&end={end}"),
        format!(
            "api/v1/series?match[]={}&start={start}&end={end}",
            encode(names::NUM_REQUESTS_RUNNING)
        ),
        format!("api/v1/query?query={sum}&time={t}"),
        format!("api/v1/query_range?query={sum}&start={start}&end={end}&step=2"),
        format!("api/v1/query?query={}&time={t}", encode("sum(")),
        "api/v1/status/buildinfo".to_string(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prometheus_mode_hands_back_prometheus_answers() {
    let sim = Simulator::start(2, 1).await.expect("simulator");
    let prom = Prometheus::start(&[sim.addr.to_string()], Duration::from_secs(1))
        .await
        .expect("prometheus");
    prom.wait_for_scrapes(3, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", prom.log()));
    // Answers about the past do not change while Prometheus scrapes on.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let plugin = Plugin::start().await.expect("plugin");
    let ds = Datasource::prometheus(&prom.url()).uid("prom-api");
    let mut paths = passthrough_paths();
    paths.push(format!(
        "api/v1/metadata?metric={}",
        encode(names::PROMPT_TOKENS)
    ));
    same_as_server(&plugin, &ds, &prom.url(), &paths).await;
    // POST goes on as POST where Prometheus takes it, else as GET.
    let t = now_ms() / 1000 - 10;
    let form = format!("query={}&time={t}", encode("count(up)"));
    let posted = plugin_call(&plugin, &ds, "POST", "api/v1/query", Some(&form)).await;
    let theirs = server_get(&prom.url(), &format!("api/v1/query?{form}")).await;
    assert_eq!(posted, theirs);
    let posted = plugin_call(&plugin, &ds, "POST", "api/v1/label/job/values", Some("")).await;
    assert_eq!(
        posted,
        server_get(&prom.url(), "api/v1/label/job/values").await
    );
    // An unknown path never reaches the server.
    let (status, _) = plugin_get(&plugin, &ds, "api/v1/status/flags").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prometheus_mode_hands_back_victoriametrics_answers() {
    let sim = Simulator::start(2, 1).await.expect("simulator");
    let target = sim.addr.to_string();
    let vm = tokio::task::spawn_blocking(move || {
        Victoria::start("vllm", &[target], "1s", &["-search.latencyOffset=1s"])
    })
    .await
    .expect("joined")
    .expect("victoria-metrics");
    let base = vm.url();
    let count = format!(
        "api/v1/query?query={}",
        encode(&format!("count({})", names::NUM_REQUESTS_RUNNING))
    );
    eventually(
        "VictoriaMetrics has vLLM series",
        Duration::from_secs(60),
        || async {
            let (status, v) = server_get(&base, &count).await;
            (status == 200
                && v["data"]["result"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty()))
            .then_some(())
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", vm.log()));
    // Let the last 40 s fill in.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let plugin = Plugin::start().await.expect("plugin");
    let ds = Datasource::prometheus(&base).uid("vm-api");
    same_as_server(&plugin, &ds, &base, &passthrough_paths()).await;
}
