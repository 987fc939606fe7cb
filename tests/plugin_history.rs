//! Direct mode's test and benchmark hook (`VLLM_GRAFANA_DIRECT_HISTORY`,
//! `src/plugin/history.rs`): the real `gpx_vllm`, started with the variable
//! naming an OpenMetrics file, answers a fresh direct-mode datasource from
//! that history, the datasource's own target's lines only, labelled as its
//! scrapes are; and the scrape loop goes on after it.

mod support;

use serde_json::json;
use std::time::Duration;
use support::answers::{from_frames, Answers};
use support::grafana::{data_query, Datasource, Plugin};
use support::vllm::{history_openmetrics, Simulator};
use vllm_grafana::catalog::names;

const EVERY: Duration = Duration::from_secs(15);

async fn instant(plugin: &Plugin, ds: &Datasource, expr: &str, at_ms: i64) -> Answers {
    let q = data_query(
        "A",
        json!({"expr": expr, "instant": true, "range": false}),
        at_ms - 60_000,
        at_ms,
    );
    let resp = plugin.query(ds, vec![q]).await.expect("QueryData");
    let frames = support::frames::frames_of(&resp, "A")
        .unwrap_or_else(|e| panic!("{expr}: {e}: {}", support::frames::error_of(&resp, "A")));
    from_frames(&frames)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_file_seeds_direct_mode_for_its_targets() {
    let sim = Simulator::start(1, 1).await.expect("simulator");
    let instance = sim.addr.to_string();
    let end_ms = (support::now_ms() - 10 * 60_000) / 15_000 * 15_000;
    let span = Duration::from_secs(30 * 60);
    let mut text = String::new();
    // The target's history, and another server's the datasource does not scrape.
    for who in [instance.as_str(), "elsewhere:8000"] {
        let part = history_openmetrics(1, 1, end_ms, span, EVERY, who, "vllm").expect("history");
        text.push_str(part.trim_end().trim_end_matches("# EOF"));
    }
    text.push_str("# EOF\n");
    let running = names::NUM_REQUESTS_RUNNING;
    let lines = text
        .lines()
        .filter(|l| l.starts_with(&format!("{running}{{instance=\"{instance}\"")))
        .count();
    assert_eq!(lines, 120, "30 minutes every 15 s");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("history.om");
    std::fs::write(&file, &text).expect("write history");

    let path = file.display().to_string();
    let plugin = Plugin::start_with_env(&[("VLLM_GRAFANA_DIRECT_HISTORY", &path)])
        .await
        .expect("plugin starts");
    let ds = Datasource::direct("history", &[format!("http://{instance}/metrics")]);

    let counted = instant(
        &plugin,
        &ds,
        &format!("count_over_time({running}[30m])"),
        end_ms,
    )
    .await;
    let keys: Vec<&String> = counted.keys().collect();
    assert_eq!(counted.len(), 1, "{keys:?}");
    assert!(
        keys[0].contains(&format!("instance={instance}")) && keys[0].contains("job=vllm"),
        "{keys:?}"
    );
    assert_eq!(counted.values().next(), Some(&120.0));
    // The other server's lines were not stored.
    let elsewhere = instant(
        &plugin,
        &ds,
        &format!("count({running}{{instance=\"elsewhere:8000\"}}) or vector(0)"),
        end_ms,
    )
    .await;
    assert_eq!(elsewhere.values().sum::<f64>(), 0.0);

    // The scrape loop runs after the history: live samples come in too.
    let live = support::eventually("a live scrape", Duration::from_secs(20), || async {
        let now = support::now_ms();
        let up = instant(&plugin, &ds, "up", now).await;
        (up.values().sum::<f64>() == 1.0).then_some(())
    })
    .await;
    assert!(live.is_ok(), "{live:?}");
    plugin.stop().await.expect("plugin stops");
}
