//! Direct mode against broken and hostile metrics endpoints: the real
//! `gpx_vllm` driven over gRPC like Grafana drives it, scraping loopback
//! servers written for each case (tests/support/hostile.rs) beside a healthy
//! vLLM simulator. Each hostile target must be marked down with a reason
//! naming the limit, within the limits set in the datasource settings, while
//! the healthy target keeps answering and the process stays small and alive.

mod support;

use grafana_plugin_sdk::pluginv2;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::grafana::{promql_query, Datasource, Plugin};
use support::vllm::Simulator;
use support::{eventually, frames, hostile, procfs, stubs};
use vllm_grafana::catalog::names;

/// A direct-mode datasource with explicit, small limits.
fn direct(uid: &str, targets: &[String]) -> Datasource {
    Datasource::direct(uid, targets)
        .json("maxBodyBytes", json!(1 << 20))
        .json("seriesLimit", json!(5000))
        .json("maxLabelValueBytes", json!(4096))
}

fn instant(ref_id: &str, expr: &str) -> pluginv2::DataQuery {
    promql_query(ref_id, expr, true)
}

/// A value field's labels and its numbers.
type Numbers = (BTreeMap<String, String>, Vec<Option<f64>>);

/// Each value field of `ref_id`: its labels and numbers (`None` = null).
fn series(resp: &pluginv2::QueryDataResponse, ref_id: &str) -> Vec<Numbers> {
    let frames = frames::frames_of(resp, ref_id)
        .unwrap_or_else(|e| panic!("{ref_id}: {e}: {}", frames::error_of(resp, ref_id)));
    frames
        .iter()
        .flat_map(|f| f.fields.iter())
        .filter(|f| matches!(f.column, frames::Column::Number(_)))
        .map(|f| (f.labels.clone().unwrap_or_default(), f.numbers()))
        .collect()
}

/// The last value of `expr` per value of `label`, at now.
async fn by_label(
    plugin: &Plugin,
    ds: &Datasource,
    expr: &str,
    label: &str,
) -> BTreeMap<String, f64> {
    let out = plugin
        .query(ds, vec![instant("A", expr)])
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    series(&out, "A")
        .into_iter()
        .map(|(labels, values)| {
            let key = labels.get(label).cloned().unwrap_or_default();
            let last = values.last().copied().flatten().unwrap_or(f64::NAN);
            (key, last)
        })
        .collect()
}

/// Waits (30 s at most) until `up` per instance is `want`: every target has
/// finished a scrape, each with the outcome expected.
async fn wait_for_up(plugin: &Plugin, ds: &Datasource, want: &BTreeMap<String, f64>) {
    eventually("up as expected", Duration::from_secs(30), || async {
        let up = by_label(plugin, ds, "up", "instance").await;
        (&up == want).then_some(())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// Save & test passed, finding one vLLM endpoint among `targets`.
fn assert_ok_with_one_vllm_of(health: &pluginv2::CheckHealthResponse, targets: usize) {
    assert_eq!(
        health.status,
        pluginv2::check_health_response::HealthStatus::Ok as i32,
        "{}",
        health.message
    );
    let head = format!("1 of {targets} targets are vLLM endpoints");
    assert!(health.message.starts_with(&head), "{}", health.message);
}

/// The `targets` resource, keyed by target URL.
async fn targets(plugin: &Plugin, ds: &Datasource) -> BTreeMap<String, Value> {
    let (code, body) = plugin
        .resource(ds, "targets")
        .await
        .expect("targets answered");
    assert_eq!(code, 200, "{body}");
    body.as_array()
        .expect("a list")
        .iter()
        .map(|t| (t["url"].as_str().unwrap_or("").to_string(), t.clone()))
        .collect()
}

/// The target's `lastError`, which must contain every one of `parts`.
fn assert_error(listed: &BTreeMap<String, Value>, url: &str, parts: &[&str]) {
    let t = listed
        .get(url)
        .unwrap_or_else(|| panic!("{url} not listed: {listed:?}"));
    assert_eq!(t["state"], json!("down"), "{url}: {t}");
    let error = t["lastError"]
        .as_str()
        .unwrap_or_else(|| panic!("{url}: no lastError: {t}"));
    eprintln!("lastError: {error}");
    assert!(
        error.starts_with(url),
        "{url}: the error does not name the target: {error}"
    );
    for part in parts {
        assert!(
            error.contains(part),
            "{url}: {part:?} missing from {error:?}"
        );
    }
}

/// Peak resident memory of a process, in bytes (Linux `VmHWM`).
fn peak_rss(pid: u32) -> u64 {
    procfs::status_kib(pid, "VmHWM").expect("VmHWM in /proc/<pid>/status") * 1024
}

/// The plugin is alive and never panicked.
fn assert_healthy_process(plugin: &mut Plugin) {
    assert!(plugin.is_running(), "the plugin exited");
    let stderr = plugin.stderr();
    assert!(
        !stderr.iter().any(|l| l.contains("panicked")),
        "the plugin panicked:\n{}",
        stderr.join("\n")
    );
}

fn instance(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oversized_slow_and_compressed_answers_are_cut_at_the_limits() {
    let sim = Simulator::start(1, 1).await.expect("simulator");
    let silent = stubs::silent().await.expect("silent");
    let slow = hostile::slowloris(60, false).await.expect("slowloris body");
    let slow_head = hostile::slowloris(60, true).await.expect("slowloris head");
    let endless = hostile::endless_chunked(100_000).await.expect("endless");
    let declared = hostile::huge(200 << 20, true)
        .await
        .expect("200 MB declared");
    let undeclared = hostile::huge(200 << 20, false)
        .await
        .expect("200 MB undeclared");
    // 400,000 back-references: about 650 KB that inflate to about 103 MB.
    let (bomb, inflated) = hostile::gzip_bomb(400_000);
    assert!(bomb.len() < 700_000 && inflated > 100_000_000);
    let gzip = hostile::gzip(Arc::new(bomb)).await.expect("gzip");
    let million = hostile::many_series(1_000_000).await.expect("1M series");

    let sim_url = format!("http://{}/metrics", sim.addr);
    let silent_url = format!("{}/metrics", silent.url());
    let urls = [
        sim_url.clone(),
        silent_url.clone(),
        slow.url(),
        slow_head.url(),
        endless.url(),
        declared.url(),
        undeclared.url(),
        gzip.url(),
    ];
    let ds = direct("limits", &urls)
        .json("scrapeInterval", json!("2s"))
        .json("timeout", json!(2));
    // The body limit is generous here so that the series limit is what stops it.
    let series_ds = direct("series", &[million.url()])
        .json("maxBodyBytes", json!(64 << 20))
        .json("seriesLimit", json!(10_000))
        .json("timeout", json!(20))
        .json("scrapeInterval", json!("20s"));
    let mut plugin = Plugin::start().await.expect("plugin starts");

    // The first query answers with what the first scrapes have stored by
    // then (the healthy target's); the hostile ones follow as each fails.
    let started = Instant::now();
    let up = by_label(&plugin, &ds, "up", "instance").await;
    eprintln!(
        "first query beside 7 hostile targets took {:?}",
        started.elapsed()
    );
    assert_eq!(up.get(&instance(&sim_url)), Some(&1.0), "{up:?}");
    let expected: BTreeMap<String, f64> = urls
        .iter()
        .map(|u| (instance(u), if *u == sim_url { 1.0 } else { 0.0 }))
        .collect();
    wait_for_up(&plugin, &ds, &expected).await;

    let listed = targets(&plugin, &ds).await;
    let timeout = ["no complete answer within 2 s", "raise `timeout`"];
    assert_error(&listed, &silent_url, &timeout);
    assert_error(&listed, &slow.url(), &timeout);
    assert_error(&listed, &slow_head.url(), &timeout);
    for url in [&silent_url, &slow.url(), &slow_head.url()] {
        let took = listed[url]["scrapeDurationSeconds"]
            .as_f64()
            .unwrap_or(f64::NAN);
        eprintln!("{url}: scrape ended after {took:.3} s");
        assert!((1.9..5.0).contains(&took), "{url}: {took}");
    }
    let body_limit = [
        "larger than maxBodyBytes (1048576 bytes)",
        "raise maxBodyBytes",
    ];
    assert_error(&listed, &endless.url(), &body_limit);
    assert_error(&listed, &undeclared.url(), &body_limit);
    assert_error(
        &listed,
        &declared.url(),
        &["larger than maxBodyBytes (1048576 bytes); Content-Length says 209715200"],
    );
    assert_error(
        &listed,
        &gzip.url(),
        &["Content-Encoding \"gzip\"", "does not decode"],
    );
    assert_eq!(listed[&sim_url]["state"], json!("up"));
    assert_eq!(listed[&sim_url]["lastError"], Value::Null);

    // One million series against seriesLimit 10000.
    let want = BTreeMap::from([(instance(&million.url()), 0.0)]);
    wait_for_up(&plugin, &series_ds, &want).await;
    let listed_series = targets(&plugin, &series_ds).await;
    assert_error(
        &listed_series,
        &million.url(),
        &["more than seriesLimit (10000) samples", "raise seriesLimit"],
    );
    let stored = by_label(&plugin, &series_ds, "count(hostile_series)", "").await;
    assert!(
        stored.is_empty(),
        "a refused scrape stored series: {stored:?}"
    );

    // The healthy target keeps answering while the loop rescrapes the others.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let running = format!("sum({})", names::NUM_REQUESTS_RUNNING);
    let sum = by_label(&plugin, &ds, &running, "").await;
    assert!(
        sum.values().all(|v| v.is_finite()) && sum.len() == 1,
        "{sum:?}"
    );
    let up = by_label(&plugin, &ds, "up", "instance").await;
    assert_eq!(up, expected);
    assert!(gzip.requests() >= 2 && endless.requests() >= 2, "rescraped");

    // Save & test names each problem once, with its target.
    let health = plugin.check_health(&ds).await.expect("health answered");
    assert_ok_with_one_vllm_of(&health, 8);
    for url in &urls[1..] {
        assert_eq!(
            health.message.matches(url.as_str()).count(),
            1,
            "{url}: {}",
            health.message
        );
    }

    let peak = peak_rss(plugin.pid());
    eprintln!("plugin VmHWM after the hostile scrapes: {} MiB", peak >> 20);
    assert!(peak < 400 << 20, "VmHWM {peak} bytes");
    assert_healthy_process(&mut plugin);
    plugin.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redirects_errors_and_odd_contents_are_handled_per_target() {
    let sim = Simulator::start(1, 1).await.expect("simulator");
    // Another host: 127.0.0.2 is loopback too, but not the configured host.
    let elsewhere = hostile::serve_on(
        "127.0.0.2",
        hostile::handler(|mut conn, _| async move {
            hostile::respond(&mut conn, "200 OK", &[], b"stolen 1\n").await;
        }),
    )
    .await
    .expect("127.0.0.2");
    let cross = hostile::redirect("302 Found", elsewhere.url())
        .await
        .expect("cross");
    let same = hostile::redirect_same_host("hostile_moved 7\n")
        .await
        .expect("same host");
    let looping = hostile::redirect_loop().await.expect("loop");
    let html = stubs::fixed(
        500,
        "text/html",
        "<html><head><title>Upstream exploded</title></head><body><h1>500</h1></body></html>",
    )
    .await
    .expect("500");
    let html_url = format!("{}/metrics", html.url());
    // 200 answers that are not the text format: an auth proxy's login page,
    // the OpenAI API's model list, and a text file.
    let login = stubs::fixed(
        200,
        "text/html; charset=utf-8",
        "<!DOCTYPE html><html><head><title>Sign in \u{1b}[31m</title></head><body><form></form></body></html>",
    )
    .await
    .expect("login page");
    let login_url = format!("{}/metrics", login.url());
    let models = stubs::fixed(200, "application/json", "{\"object\":\"list\",\"data\":[]}")
        .await
        .expect("JSON");
    let models_url = format!("{}/metrics", models.url());
    let prose = stubs::fixed(200, "text/plain", "Welcome!\nNothing to see here.\n")
        .await
        .expect("prose");
    let prose_url = format!("{}/metrics", prose.url());
    let big_label = hostile::text(|_| {
        format!(
            "hostile_ok 1\nhostile_big{{v=\"{}\"}} 1\n",
            "x".repeat(1 << 20)
        )
    })
    .await
    .expect("1 MB label");
    let dups = hostile::text(|_| {
        "# TYPE hostile_dup gauge\nhostile_dup{a=\"1\",b=\"2\"} 1\nhostile_dup{b=\"2\",a=\"1\"} 2\nhostile_dup{a=\"1\",b=\"2\"} 3\nhostile_dup{a=\"2\",b=\"2\"} 4\n".to_string()
    })
    .await
    .expect("duplicates");
    let odd = hostile::text(|_| {
        "hostile_value{k=\"nan\"} NaN\nhostile_value{k=\"pinf\"} +Inf\nhostile_value{k=\"ninf\"} -Inf\nhostile_value{k=\"max\"} 1.7976931348623157e308\n".to_string()
    })
    .await
    .expect("NaN and Inf");
    // 10, 20, then a restart: 5, 15, and 15 from then on.
    let counter = hostile::text(|n| {
        let v = [10, 20, 5, 15].get(n).copied().unwrap_or(15);
        format!("# TYPE hostile_requests_total counter\nhostile_requests_total {v}\n")
    })
    .await
    .expect("counter");

    let sim_url = format!("http://{}/metrics", sim.addr);
    let urls = [
        sim_url.clone(),
        cross.url(),
        same.url(),
        looping.url(),
        html_url.clone(),
        big_label.url(),
        dups.url(),
        odd.url(),
        counter.url(),
        login_url.clone(),
        models_url.clone(),
        prose_url.clone(),
    ];
    let ds = direct("contents", &urls).json("maxBodyBytes", json!(4 << 20));
    let mut plugin = Plugin::start().await.expect("plugin starts");

    let up = by_label(&plugin, &ds, "up", "instance").await;
    let down = [
        cross.url(),
        looping.url(),
        html_url.clone(),
        big_label.url(),
        login_url.clone(),
        models_url.clone(),
        prose_url.clone(),
    ];
    let expected: BTreeMap<String, f64> = urls
        .iter()
        .map(|u| (instance(u), if down.contains(u) { 0.0 } else { 1.0 }))
        .collect();
    assert_eq!(up, expected);

    let listed = targets(&plugin, &ds).await;
    assert_error(
        &listed,
        &cross.url(),
        &[
            "refused a redirect",
            &format!("it points to {}", elsewhere.url()),
            "another host or port",
        ],
    );
    assert_eq!(
        elsewhere.requests(),
        0,
        "the cross-host redirect was followed"
    );
    assert_error(
        &listed,
        &looping.url(),
        &["refused a redirect: more than 3 in a row"],
    );
    assert_error(
        &listed,
        &html_url,
        &["HTTP 500 Internal Server Error: Upstream exploded"],
    );
    assert_error(
        &listed,
        &big_label.url(),
        &[
            "series \"hostile_big\" has a value of 1048576 bytes for label \"v\"",
            "more than maxLabelValueBytes (4096)",
        ],
    );
    let not_text = "reachable, but not Prometheus text (got";
    assert_error(
        &listed,
        &login_url,
        &[&format!(
            "{not_text} HTML (a page titled \"Sign in [31m\"))"
        )],
    );
    assert_error(&listed, &models_url, &[&format!("{not_text} JSON)")]);
    assert_error(
        &listed,
        &prose_url,
        &[&format!(
            "{not_text} text with no valid sample; line 1, column"
        )],
    );
    // Save & test says the same, in the same words.
    let health = plugin.check_health(&ds).await.expect("health answered");
    for url in [&login_url, &models_url, &prose_url] {
        let said = listed[url]["lastError"].as_str().unwrap_or("");
        assert!(
            health.message.contains(said),
            "{said:?} not in {}",
            health.message
        );
    }
    // A refused scrape stores nothing of it.
    assert!(by_label(&plugin, &ds, "hostile_ok", "").await.is_empty());
    assert_eq!(
        by_label(&plugin, &ds, "hostile_moved", "").await.get(""),
        Some(&7.0)
    );

    // Duplicates: the first value of a series wins (whatever the label
    // order), the others are counted.
    let dup = &listed[&dups.url()];
    assert_eq!(
        (dup["state"].clone(), dup["duplicateSamples"].clone()),
        (json!("up"), json!(2)),
        "{dup}"
    );
    assert_eq!(
        by_label(&plugin, &ds, "hostile_dup", "a").await,
        BTreeMap::from([("1".to_string(), 1.0), ("2".to_string(), 4.0)])
    );

    // NaN and infinities are kept as such.
    let values = by_label(&plugin, &ds, "hostile_value", "k").await;
    assert!(values["nan"].is_nan(), "{values:?}");
    assert_eq!(values["pinf"], f64::INFINITY);
    assert_eq!(values["ninf"], f64::NEG_INFINITY);
    assert_eq!(values["max"], f64::MAX);
    let finite = by_label(&plugin, &ds, "hostile_value > -Inf < +Inf", "k").await;
    assert_eq!(finite.keys().collect::<Vec<_>>(), ["max"]);

    // A counter that goes back is a restart: 10 → 20, reset, 5 → 15 is an
    // increase of 25 (a delta would give 5), plus Prometheus' extrapolation.
    eventually(
        "six scrapes of the counter",
        Duration::from_secs(20),
        || {
            let n = counter.requests();
            async move { (n >= 6).then_some(()) }
        },
    )
    .await
    .expect("scraped");
    let resets = by_label(&plugin, &ds, "resets(hostile_requests_total[1m])", "").await;
    assert_eq!(resets.get(""), Some(&1.0), "{resets:?}");
    let increase = by_label(&plugin, &ds, "increase(hostile_requests_total[1m])", "").await;
    let increase = increase.get("").copied().unwrap_or(f64::NAN);
    assert!((25.0..40.0).contains(&increase), "increase {increase}");
    // rate is increase per second (evaluated at the same instant).
    let gap = by_label(
        &plugin,
        &ds,
        "rate(hostile_requests_total[1m]) * 60 - increase(hostile_requests_total[1m])",
        "",
    )
    .await;
    let gap = gap.get("").copied().unwrap_or(f64::NAN);
    assert!(gap.abs() < 1e-9, "rate * 60 - increase = {gap}");

    // The rescrapes changed nothing, and the healthy target still answers.
    let listed = targets(&plugin, &ds).await;
    assert_eq!(elsewhere.requests(), 0);
    assert_eq!(listed[&dups.url()]["duplicateSamples"], json!(2));
    assert_eq!(
        by_label(&plugin, &ds, "count(hostile_dup)", "")
            .await
            .get(""),
        Some(&2.0)
    );
    assert_eq!(by_label(&plugin, &ds, "up", "instance").await, expected);
    let running = format!("sum({})", names::NUM_REQUESTS_RUNNING);
    assert_eq!(by_label(&plugin, &ds, &running, "").await.len(), 1);
    assert_healthy_process(&mut plugin);
    plugin.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_change_stops_the_old_scrape_loop() {
    let old = hostile::text(|_| "hostile_old 1\n".to_string())
        .await
        .expect("old");
    let new = hostile::text(|_| "hostile_new 2\n".to_string())
        .await
        .expect("new");
    let before = direct("moving", &[old.url()]);
    let mut after = direct("moving", &[new.url()]);
    after.updated_ms += 1;
    let mut plugin = Plugin::start().await.expect("plugin starts");

    assert_eq!(
        by_label(&plugin, &before, "hostile_old", "").await.get(""),
        Some(&1.0)
    );
    eventually(
        "three scrapes of the old target",
        Duration::from_secs(15),
        || {
            let n = old.requests();
            async move { (n >= 3).then_some(()) }
        },
    )
    .await
    .expect("old target scraped by the loop");
    assert_eq!(new.requests(), 0);

    assert_eq!(
        by_label(&plugin, &after, "hostile_new", "").await.get(""),
        Some(&2.0)
    );
    // A scrape already under way when the settings changed may still land.
    let at_change = old.requests();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let later = old.requests();
    assert!(
        later <= at_change + 1,
        "the old loop still scrapes: {at_change} then {later}"
    );
    assert!(
        new.requests() >= 3,
        "the new loop does not scrape: {}",
        new.requests()
    );
    let listed = targets(&plugin, &after).await;
    assert_eq!(listed.keys().collect::<Vec<_>>(), [&new.url()]);
    assert_healthy_process(&mut plugin);
    plugin.stop().await.expect("clean stop");
}

/// Ten targets that accept connections and never answer, beside two
/// healthy ones, with a 20 s scrape timeout: no request waits for them.
/// Save & test answers within its own bound (well under Grafana's 30 s)
/// naming each silent target; the first query answers after a short wait
/// with the healthy targets' data; a cancelled first query does not make
/// the next one wait again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hung_targets_never_stall_requests() {
    let mut silent = Vec::new();
    for _ in 0..10 {
        silent.push(stubs::silent().await.expect("silent"));
    }
    let healthy_a = Simulator::start(1, 1).await.expect("simulator");
    let healthy_b = hostile::text(|n| format!("hostile_scrapes {n}\n"))
        .await
        .expect("healthy");
    let silent_urls: Vec<String> = silent
        .iter()
        .map(|s| format!("{}/metrics", s.url()))
        .collect();
    let mut urls = silent_urls.clone();
    urls.push(format!("http://{}/metrics", healthy_a.addr));
    urls.push(healthy_b.url());
    let settings = |uid: &str| {
        direct(uid, &urls)
            .json("scrapeInterval", json!("20s"))
            .json("timeout", json!(20))
    };
    let mut plugin = Plugin::start().await.expect("plugin starts");

    // Save & test on a fresh datasource.
    let started = Instant::now();
    let health = plugin
        .check_health(&settings("hung-health"))
        .await
        .expect("health answered");
    let took = started.elapsed();
    eprintln!("CheckHealth with 10 silent targets took {took:?}");
    assert!(took < Duration::from_secs(12), "{took:?}");
    assert_ok_with_one_vllm_of(&health, 12);
    for url in &silent_urls {
        assert!(
            health
                .message
                .contains(&format!("{url}: no answer yet after")),
            "{url}: {}",
            health.message
        );
    }

    // A first query that Grafana cancels, then the retry.
    let ds = settings("hung-query");
    let started = Instant::now();
    let cancelled = tokio::time::timeout(
        Duration::from_millis(1000),
        plugin.query(&ds, vec![instant("A", "up")]),
    )
    .await;
    assert!(
        cancelled.is_err(),
        "the first query should still be waiting"
    );
    let retry = Instant::now();
    let up = by_label(&plugin, &ds, "up", "instance").await;
    let (retry_took, total) = (retry.elapsed(), started.elapsed());
    eprintln!("first query: cancelled after 1 s, the retry took {retry_took:?} ({total:?} in all)");
    // The wait is counted from the datasource's creation (about 0.5 s are
    // left), not per request (which would take 1.5 s).
    assert!(retry_took < Duration::from_millis(1400), "{retry_took:?}");
    let healthy = BTreeMap::from([(instance(&urls[10]), 1.0), (instance(&urls[11]), 1.0)]);
    assert_eq!(up, healthy, "only the healthy targets have scraped");
    // Later queries do not wait at all, and the healthy targets keep answering.
    let again = Instant::now();
    let running = format!("sum({})", names::NUM_REQUESTS_RUNNING);
    let sum = by_label(&plugin, &ds, &running, "").await;
    assert!(
        sum.len() == 1 && sum.values().all(|v| v.is_finite()),
        "{sum:?}"
    );
    eprintln!("a later query took {:?}", again.elapsed());
    let listed = targets(&plugin, &ds).await;
    for url in &silent_urls {
        assert_eq!(listed[url]["state"], json!("unknown"), "{url}");
    }
    // The query editor's Prometheus API answers from what is stored too,
    // without waiting for the silent targets (no scrape of theirs has
    // ended yet, so only the healthy instances have samples).
    let (status, values) = plugin
        .resource(&ds, "api/v1/label/instance/values")
        .await
        .expect("label values answered");
    assert_eq!(status, 200, "{values}");
    let mut instances: Vec<&str> = values["data"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    instances.sort_unstable();
    let mut want: Vec<String> = healthy.keys().cloned().collect();
    want.sort_unstable();
    assert_eq!(instances, want, "{values}");
    assert_healthy_process(&mut plugin);
    plugin.stop().await.expect("clean stop");
}
