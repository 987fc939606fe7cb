//! Live panels: the real `gpx_vllm` driven through Grafana Live's Stream
//! service as Grafana drives it (QueryData with `live: true` for the
//! channel, SubscribeStream, then RunStream), in direct mode scraping a
//! simulated vLLM every second.

mod support;

use grafana_plugin_sdk::pluginv2::{self, publish_stream_response, subscribe_stream_response};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::frames;
use support::grafana::{data_query, Datasource, Plugin};
use support::prometheus::Prometheus;
use support::vllm::Simulator;
use support::{eventually, now_ms};
use vllm_grafana::catalog::names;
use vllm_grafana::dashboard::{self, DatasourceFlavor};
use vllm_grafana::promql::inspect;

const UID: &str = "vllm-live";

/// Logs of the stream module at debug level: one line per packet sent.
const LOG: (&str, &str) = ("RUST_LOG", "info,vllm_grafana::plugin::stream=debug");

fn direct(targets: &[String]) -> Datasource {
    let urls: Vec<String> = targets
        .iter()
        .map(|t| format!("http://{t}/metrics"))
        .collect();
    Datasource::direct(UID, &urls)
}

fn live_query(expr: &str, legend: &str) -> pluginv2::DataQuery {
    let now = now_ms();
    data_query(
        "A",
        json!({"expr": expr, "legendFormat": legend, "range": true, "live": true}),
        now - 60_000,
        now,
    )
}

/// The live frame's channel (`ds/<uid>/<path>`) from a QueryData answer.
fn channel_of(resp: &pluginv2::QueryDataResponse) -> Result<String, String> {
    let frames = frames::frames_of(resp, "A")?;
    if frames.len() != 1 {
        return Err(format!("expected one live frame, got {}", frames.len()));
    }
    frames[0].meta["channel"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no meta.channel in {}", frames[0].meta))
}

fn path_of(channel: &str) -> String {
    channel
        .strip_prefix(&format!("ds/{UID}/"))
        .unwrap_or(channel)
        .to_string()
}

/// One packet read back as Grafana's frontend reads frame JSON: the times
/// (ms), and per number field its labels and values.
struct Packet {
    times: Vec<i64>,
    series: Vec<(Value, Vec<Value>)>,
}

fn parse_packet(data: &[u8]) -> Result<Packet, String> {
    let v: Value = serde_json::from_slice(data).map_err(|e| format!("not JSON: {e}"))?;
    let fields = v["schema"]["fields"]
        .as_array()
        .ok_or_else(|| format!("no schema.fields: {v}"))?;
    let values = v["data"]["values"]
        .as_array()
        .ok_or_else(|| format!("no data.values: {v}"))?;
    if fields.len() != values.len() || fields.len() < 2 {
        return Err(format!("fields and values disagree: {v}"));
    }
    if !v["schema"]["meta"].is_null() {
        return Err(format!("packets leave the history's meta alone: {v}"));
    }
    if fields[0]["type"] != "time" {
        return Err(format!("the first field is not time: {v}"));
    }
    let times: Vec<i64> = values[0]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let mut series = Vec::new();
    for (field, column) in fields.iter().zip(values).skip(1) {
        if field["type"] != "number" {
            return Err(format!("field {} is not a number: {v}", field["name"]));
        }
        let column = column.as_array().cloned().unwrap_or_default();
        if column.len() != times.len() {
            return Err(format!("ragged packet: {v}"));
        }
        series.push((field["labels"].clone(), column));
    }
    Ok(Packet { times, series })
}

fn count(plugin: &Plugin, needle: &str) -> usize {
    plugin
        .stderr()
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_query_streams_every_scrape_and_stops_when_unsubscribed() {
    // Two targets, scraped by loops of their own: still one packet per tick.
    let sim = Simulator::start(2, 1).await.expect("simulator");
    let other = Simulator::start(2, 1).await.expect("simulator");
    let plugin = Plugin::start_with_env(&[LOG]).await.expect("plugin starts");
    let ds = direct(&[sim.addr.to_string(), other.addr.to_string()]);
    let expr = format!("sum by (model_name) ({})", names::NUM_REQUESTS_WAITING);

    // QueryData: the history as one wide frame carrying the channel.
    let out = plugin
        .query(&ds, vec![live_query(&expr, "{{model_name}}")])
        .await
        .expect("answered");
    let channel = channel_of(&out).expect("live frame");
    assert!(channel.starts_with(&format!("ds/{UID}/q1/")), "{channel}");
    assert!(channel.len() <= 160, "{channel}");
    let history = frames::frames_of(&out, "A").expect("frames");
    assert_eq!(history[0].kind(), Some("timeseries-wide"));
    assert_eq!(history[0].fields[0].name, "Time");
    let models: Vec<&str> = history[0].fields[1..]
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(models.len(), sim.models.len(), "{models:?}");

    // Grafana subscribes, then runs the stream for the first subscriber.
    let path = path_of(&channel);
    let sub = plugin.subscribe(&ds, &path).await.expect("subscribe");
    assert_eq!(sub.status, subscribe_stream_response::Status::Ok as i32);
    let mut packets = plugin.run_stream(&ds, &path).await.expect("run stream");

    let started = Instant::now();
    let window = Duration::from_secs(6);
    let mut arrivals: Vec<Duration> = Vec::new();
    let mut stamps: Vec<i64> = Vec::new();
    let mut last_t = i64::MIN;
    loop {
        let left = window.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        let Ok(next) = tokio::time::timeout(left, packets.message()).await else {
            break;
        };
        let packet = next.expect("stream status").expect("stream still open");
        arrivals.push(started.elapsed());
        let p = parse_packet(&packet.data).expect("a frame");
        assert_eq!(p.times.len(), 1, "one row per scrape");
        assert!(
            p.times[0] > last_t,
            "timestamps grow: {} then {}",
            last_t,
            p.times[0]
        );
        last_t = p.times[0];
        stamps.push(last_t);
        assert!((p.times[0] - now_ms()).abs() < 10_000, "a current time");
        assert_eq!(p.series.len(), sim.models.len());
        for (labels, values) in &p.series {
            assert!(labels["model_name"].is_string(), "{labels}");
            assert!(values[0].is_number(), "{values:?}");
        }
    }
    let gaps: Vec<u128> = arrivals
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    let stamp_gaps: Vec<i64> = stamps.windows(2).map(|w| w[1] - w[0]).collect();
    eprintln!("packets at {arrivals:?}, gaps {gaps:?} ms, timestamp gaps {stamp_gaps:?} ms");
    // Loose bounds for a loaded machine: scrape rounds start 1 s apart.
    assert!(arrivals.len() >= 3, "too few packets: {arrivals:?}");
    assert!(
        arrivals.len() <= 7,
        "more than one per scrape: {arrivals:?}"
    );
    assert!(
        stamp_gaps.iter().all(|g| *g >= 250),
        "two packets in one scrape: {stamp_gaps:?}"
    );
    assert_eq!(count(&plugin, "live stream started"), 1);

    // The last subscriber leaves: Grafana cancels RunStream.
    drop(packets);
    eventually("the stream to stop", Duration::from_secs(5), || {
        let stopped = count(&plugin, "live stream stopped") == 1;
        async move { stopped.then_some(()) }
    })
    .await
    .expect("stopped");
    let stop_line = plugin
        .stderr()
        .into_iter()
        .find(|l| l.contains("live stream stopped"))
        .unwrap_or_default();
    assert!(stop_line.contains("cancelled by Grafana"), "{stop_line}");
    assert!(stop_line.contains("\"active\":0"), "{stop_line}");
    let sent = count(&plugin, "live packet sent");
    assert!(
        sent >= arrivals.len(),
        "{sent} sent, {} read",
        arrivals.len()
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        count(&plugin, "live packet sent"),
        sent,
        "packets are still evaluated after the stream stopped"
    );
    plugin.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_settings_change_ends_the_stream_for_grafana_to_rerun() {
    let sim = Simulator::start(1, 1).await.expect("simulator");
    let plugin = Plugin::start_with_env(&[LOG]).await.expect("plugin starts");
    let ds = direct(&[sim.addr.to_string()]);
    let out = plugin
        .query(&ds, vec![live_query(names::NUM_REQUESTS_RUNNING, "")])
        .await
        .expect("answered");
    let path = path_of(&channel_of(&out).expect("live frame"));
    let mut packets = plugin.run_stream(&ds, &path).await.expect("run stream");
    let first = tokio::time::timeout(Duration::from_secs(5), packets.message())
        .await
        .expect("a packet within 5 s");
    assert!(matches!(first, Ok(Some(_))), "{first:?}");

    // New settings reach the plugin (here through a query): the old scrape
    // loop stops and the stream ends with an error, so Grafana re-runs it.
    let mut changed = ds.clone();
    changed.updated_ms += 1;
    plugin
        .query(&changed, vec![live_query(names::NUM_REQUESTS_RUNNING, "")])
        .await
        .expect("answered");
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        let mut extra = 0;
        loop {
            match packets.message().await {
                Ok(Some(_)) if extra < 10 => extra += 1,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ends within 5 s");
    let status = ended.expect_err("ends with an error status");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("settings changed"), "{status:?}");

    // Grafana's retry, with the new plugin context, streams again.
    let mut again = plugin.run_stream(&changed, &path).await.expect("rerun");
    let packet = tokio::time::timeout(Duration::from_secs(5), again.message())
        .await
        .expect("a packet within 5 s")
        .expect("status")
        .expect("open");
    parse_packet(&packet.data).expect("a frame");

    // Grafana stops the plugin while the stream runs: it ends the stream
    // and exits within go-plugin's two seconds.
    let stopping = Instant::now();
    plugin.stop().await.expect("clean stop with a stream open");
    assert!(stopping.elapsed() < Duration::from_secs(2));
    let end = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match again.message().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ended");
    assert!(end.is_err() || matches!(end, Ok(None)), "{end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn channels_that_cannot_stream_are_refused_clearly() {
    let sim = Simulator::start(1, 1).await.expect("simulator");
    let plugin = Plugin::start().await.expect("plugin starts");
    let ds = direct(&[sim.addr.to_string()]);

    // Paths that are not one of our channels: NOT_FOUND.
    for path in [
        "q1/%%%",
        "q1/dXA",                     // "up" without the legend separator
        "q1/c3VtKAA",                 // "sum(" and NUL: PromQL that does not parse
        "http://127.0.0.1:9/metrics", // never a URL
        "",
    ] {
        let sub = plugin.subscribe(&ds, path).await.expect("answered");
        assert_eq!(
            sub.status,
            subscribe_stream_response::Status::NotFound as i32,
            "{path:?}"
        );
    }
    // A query too long to carry in its channel gets a remembered one.
    let long = format!(
        "sum by (model_name) ({}{{model_name=~\"{}.*\"}})",
        names::NUM_REQUESTS_WAITING,
        (0..12)
            .map(|i| format!("no-such-model-{i}|"))
            .collect::<String>()
    );
    let out = plugin
        .query(&ds, vec![live_query(&long, "{{model_name}}")])
        .await
        .expect("answered");
    let channel = channel_of(&out).expect("live frame");
    assert!(channel.starts_with(&format!("ds/{UID}/h1/")), "{channel}");
    assert!(channel.len() <= 160, "{channel}");
    let path = path_of(&channel);
    let sub = plugin.subscribe(&ds, &path).await.expect("subscribe");
    assert_eq!(sub.status, subscribe_stream_response::Status::Ok as i32);
    let mut packets = plugin.run_stream(&ds, &path).await.expect("run stream");
    let packet = tokio::time::timeout(Duration::from_secs(5), packets.message())
        .await
        .expect("a packet within 5 s")
        .expect("status")
        .expect("open");
    assert!(!parse_packet(&packet.data)
        .expect("a frame")
        .series
        .is_empty());
    drop(packets);
    let forgotten = plugin
        .subscribe(&ds, "h1/0123456789abcdef0123456789abcdef")
        .await
        .expect("answered");
    assert_eq!(
        forgotten.status,
        subscribe_stream_response::Status::NotFound as i32
    );

    // Channels are read-only.
    let published = plugin
        .publish(&ds, "q1/dXAA", b"{}")
        .await
        .expect("answered");
    assert_eq!(
        published.status,
        publish_stream_response::Status::PermissionDenied as i32
    );

    // A Prometheus-mode datasource cannot stream: refused with the reason,
    // and a live query is answered with a notice, not an error.
    let prom = Prometheus::start(&[sim.addr.to_string()], Duration::from_secs(1))
        .await
        .expect("prometheus");
    let prom_ds = Datasource::prometheus(&prom.url()).uid("vllm-prom");
    let refused = plugin
        .subscribe(&prom_ds, "q1/dXAA")
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(refused.message().contains("direct"), "{refused:?}");
    let answered = eventually(
        "Prometheus to have scraped",
        Duration::from_secs(20),
        || {
            let plugin = &plugin;
            let prom_ds = &prom_ds;
            async move {
                let out = plugin
                    .query(prom_ds, vec![live_query("up", "")])
                    .await
                    .ok()?;
                let frames = frames::frames_of(&out, "A").ok()?;
                let has_points = frames
                    .iter()
                    .flat_map(|f| f.fields.iter())
                    .any(|f| !f.numbers().is_empty());
                has_points.then_some(frames)
            }
        },
    )
    .await
    .expect("answered");
    assert!(answered.iter().all(|f| f.meta["channel"].is_null()));
    let notices = answered[0].meta["notices"].to_string();
    assert!(
        notices.contains("live needs a direct-mode datasource"),
        "{notices}"
    );
    plugin.stop().await.expect("clean stop");
}

/// Dashboard variables as Grafana interpolates them with "All" selected.
fn all_selected(name: &str) -> Option<String> {
    if name.starts_with("__") {
        return None;
    }
    dashboard::default_value(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboards_live_row_streams() {
    let board = dashboard::overview(DatasourceFlavor::Plugin);
    let live: Vec<(String, String)> = dashboard::panels(&board)
        .flat_map(|p| p.targets.iter())
        .filter(|t| t.live)
        .map(|t| {
            (
                inspect::interpolate(&t.expr, all_selected),
                t.legend_format.clone(),
            )
        })
        .collect();
    assert_eq!(live.len(), 5, "{live:?}");
    let sim = Simulator::start(1, 1).await.expect("simulator");
    let plugin = Plugin::start().await.expect("plugin starts");
    let ds = direct(&[sim.addr.to_string()]);
    for (expr, legend) in &live {
        let out = plugin
            .query(&ds, vec![live_query(expr, legend)])
            .await
            .expect("answered");
        let channel = channel_of(&out).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let path = path_of(&channel);
        let sub = plugin.subscribe(&ds, &path).await.expect("subscribe");
        assert_eq!(
            sub.status,
            subscribe_stream_response::Status::Ok as i32,
            "{expr}"
        );
        let mut packets = plugin.run_stream(&ds, &path).await.expect("run stream");
        let next = tokio::time::timeout(Duration::from_secs(5), packets.message()).await;
        let Ok(next) = next else {
            panic!("no packet within 5 s for {expr}");
        };
        let packet = next.expect("status").expect("open");
        let p = parse_packet(&packet.data).expect("a frame");
        assert_eq!(p.series.len(), 1, "{expr}: one aggregated series");
    }
    plugin.stop().await.expect("clean stop");
}
