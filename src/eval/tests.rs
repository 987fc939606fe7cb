use super::*;
use crate::catalog::names;
use crate::scrape::{record_report, ScrapeReport};
use crate::store::{StoreConfig, TargetKey};

const T0: i64 = 1_700_000_000_000;

fn key(instance: &str) -> TargetKey {
    TargetKey::new("vllm", instance)
}

fn running(store: &Store, instance: &str, ts: i64, models: &[(&str, f64)]) {
    store
        .ingest(
            &key(instance),
            ts,
            models
                .iter()
                .map(|(m, v)| (names::NUM_REQUESTS_RUNNING, [("model_name", *m)], *v)),
        )
        .expect("in order");
}

fn vector(v: Value) -> Vec<(Vec<(String, String)>, f64)> {
    match v {
        Value::Vector(s) => s.into_iter().map(|s| (s.labels.into_vec(), s.v)).collect(),
        other => panic!("expected a vector, got {other:?}"),
    }
}

#[test]
fn staleness_markers_end_series_at_once_and_lookback_otherwise() {
    let store = Store::new(StoreConfig::default());
    running(&store, "a", T0, &[("m1", 1.0), ("m2", 2.0)]);
    running(&store, "a", T0 + 15_000, &[("m1", 3.0)]);
    let q = names::NUM_REQUESTS_RUNNING;
    // m2 went stale at T0+15s: gone right away, not after 5 minutes.
    let at = |t| vector(instant(&store, q, t).expect("evaluates"));
    assert_eq!(at(T0 + 10_000).len(), 2);
    assert_eq!(at(T0 + 15_000).len(), 1);
    // m1 was never marked: the lookback keeps it for 5 minutes, inclusive.
    assert_eq!(at(T0 + 15_000 + 300_000).len(), 1);
    assert_eq!(at(T0 + 15_001 + 300_000).len(), 0);
    // A failed scrape ends every series of the target at its timestamp.
    store.mark_down(&key("a"), T0 + 30_000).expect("in order");
    record_report(
        &store,
        &key("a"),
        T0 + 30_000,
        &ScrapeReport {
            up: false,
            duration_seconds: 0.0,
            samples_scraped: 0,
        },
    )
    .expect("same scrape");
    assert!(at(T0 + 30_000).is_empty());
    let up = vector(instant(&store, names::UP, T0 + 30_000).expect("evaluates"));
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].1, 0.0);
    // Range functions skip markers: the rate window sees only real samples.
    let r = range(
        &store,
        &format!("count_over_time({q}[1m])"),
        T0 + 30_000,
        T0 + 30_000,
        1,
    )
    .expect("evaluates");
    let counts: Vec<f64> = r.iter().map(|s| s.points[0].1).collect();
    assert_eq!(counts, vec![2.0, 1.0]);
}

#[test]
fn result_shapes() {
    let store = Store::new(StoreConfig::default());
    for i in 0..5 {
        running(
            &store,
            "b",
            T0 + i * 15_000,
            &[("m2", i as f64), ("m1", 10.0)],
        );
    }
    let q = names::NUM_REQUESTS_RUNNING;
    let t = T0 + 60_000;
    assert_eq!(instant(&store, "1 + 2", t), Ok(Value::Scalar { t, v: 3.0 }));
    assert_eq!(instant(&store, "\"s\"", t), Ok(Value::String("s".into())));
    let v = vector(instant(&store, &format!("sum by (model_name) ({q})"), t).expect("ok"));
    assert_eq!(
        v,
        vec![
            (vec![("model_name".into(), "m1".into())], 10.0),
            (vec![("model_name".into(), "m2".into())], 4.0)
        ]
    );
    match instant(&store, &format!("{q}[30s]"), t) {
        Ok(Value::Matrix(m)) => {
            assert_eq!(m.len(), 2);
            assert_eq!(
                m[1].points,
                vec![(T0 + 30_000, 2.0), (T0 + 45_000, 3.0), (t, 4.0)]
            );
        }
        other => panic!("{other:?}"),
    }
    let m = range(&store, "time()", T0, T0 + 30_000, 15_000).expect("ok");
    assert_eq!(m[0].points.len(), 3);
    assert!(range(&store, &format!("{q}[1m]"), T0, t, 15_000).is_err());
}

#[test]
fn what_prometheus_2_42_refuses_is_named() {
    let store = Store::new(StoreConfig::default());
    let q = names::NUM_REQUESTS_RUNNING;
    for (expr, what) in [
        (
            format!("sort_by_label({q}, \"model_name\")"),
            "sort_by_label",
        ),
        (
            format!("sort_by_label_desc({q}, \"a\")"),
            "sort_by_label_desc",
        ),
        (
            format!("{q}{{a=\"1\" or b=\"2\"}}"),
            "`or` inside a label selector",
        ),
    ] {
        match instant(&store, &expr, T0) {
            Err(e @ EvalError::Parse(_)) => assert!(e.to_string().contains(what), "{e}"),
            other => panic!("{expr}: {other:?}"),
        }
    }
    // Everything else of 2.42's PromQL answers.
    for expr in [
        format!("max_over_time(rate({q}[1m])[5m:1m])"),
        format!("{q} @ 1700000000"),
        format!("holt_winters({q}[5m], 0.5, 0.5)"),
        format!("predict_linear({q}[5m], 60)"),
        format!("count_values(\"v\", {q})"),
        format!("label_join({q}, \"a\", \",\", \"model_name\")"),
        "hour() + pi() + year(vector(0))".to_string(),
    ] {
        assert!(instant(&store, &expr, T0).is_ok(), "{expr}");
    }
    assert!(matches!(
        instant(&store, "sum(", T0),
        Err(EvalError::Parse(_))
    ));
}

#[test]
fn work_is_bounded() {
    let store = Store::new(StoreConfig::default());
    for i in 0..100 {
        running(&store, "c", T0 + i * 15_000, &[("m", 1.0)]);
    }
    let q = names::NUM_REQUESTS_RUNNING;
    let tight = EvalOptions {
        max_samples: 50,
        ..EvalOptions::default()
    };
    assert_eq!(
        range_with(&store, q, T0, T0 + 1_500_000, 15_000, &tight),
        Err(EvalError::TooManySamples { limit: 50 })
    );
    assert!(matches!(
        range(&store, q, T0, T0 + 86_400_000, 1),
        Err(EvalError::TooManySteps { .. })
    ));
    let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    assert!(matches!(
        instant(&store, &deep, T0),
        Err(EvalError::TooDeep { .. })
    ));
    let long = "1+".repeat(40_000) + "1";
    assert!(matches!(
        instant(&store, &long, T0),
        Err(EvalError::TooLong { .. })
    ));
    assert!(range(&store, q, T0, T0 - 1, 15_000).is_err());
    assert!(range(&store, q, T0, T0, 0).is_err());
}

#[test]
fn odd_inputs_never_panic() {
    let store = Store::new(StoreConfig::default());
    for i in 0..20 {
        running(
            &store,
            "d",
            T0 + i * 15_000,
            &[("m", i as f64), ("n", f64::NAN)],
        );
    }
    let q = names::NUM_REQUESTS_RUNNING;
    let pieces = [
        q,
        "(",
        ")",
        "[5m]",
        "{",
        "}",
        "model_name=~\"m|\"",
        ",",
        "+",
        "-",
        "/",
        "%",
        "^",
        " and ",
        " or ",
        " unless ",
        " > bool ",
        "sum",
        "rate",
        "topk(",
        "1",
        "-1",
        "NaN",
        "Inf",
        " by (model_name) ",
        " on() ",
        " group_left ",
        " offset -1m",
        "histogram_quantile(",
        "\"",
        "label_replace(",
        ", \"a\", \"$1\", \"b\", \"(\"",
        "0.5",
        "scalar(",
        "absent(",
        "[0s]",
        " without () ",
        "quantile(",
        "bottomk(",
        "clamp(",
        "round(",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..3000 {
        let mut expr = String::new();
        for _ in 0..(1 + seed % 9) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            expr.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        let _ = instant(&store, &expr, T0 + 100_000);
        let _ = range(&store, &expr, T0, T0 + 300_000, 15_000);
    }
}

#[test]
fn sort_and_sort_desc_order_an_instant_answer_like_prometheus() {
    let store = Store::new(StoreConfig::default());
    let models = [
        ("w", 1.0),
        ("x", 3.0),
        ("y", 2.0),
        ("z", f64::NAN),
        ("v", f64::NEG_INFINITY),
    ];
    running(&store, "a", T0, &models);
    let q = names::NUM_REQUESTS_RUNNING;
    let order = |expr: String| -> Vec<String> {
        vector(instant(&store, &expr, T0).expect("evaluates"))
            .into_iter()
            .map(|(labels, _)| {
                labels
                    .into_iter()
                    .find(|(k, _)| k == "model_name")
                    .map(|(_, v)| v)
                    .unwrap_or_default()
            })
            .collect()
    };
    // What Prometheus 2.42 answers for the same values: NaN last both ways.
    assert_eq!(order(format!("sort({q})")), ["v", "w", "y", "x", "z"]);
    assert_eq!(
        order(format!("(sort_desc({q}))")),
        ["x", "y", "w", "v", "z"]
    );
    // Anything else keeps label order.
    assert_eq!(order(format!("{q} * 1")), ["v", "w", "x", "y", "z"]);
}

#[test]
fn subqueries_step_on_multiples_of_their_step() {
    let store = Store::new(StoreConfig::default());
    for i in 0..40 {
        running(&store, "s", T0 + i * 15_000, &[("m", i as f64)]);
    }
    let q = names::NUM_REQUESTS_RUNNING;
    let t = T0 + 7 * 60_000 + 1_234;
    let points = |expr: &str| match instant(&store, expr, t) {
        Ok(Value::Matrix(m)) => m.into_iter().flat_map(|s| s.points).collect::<Vec<_>>(),
        other => panic!("{expr}: {other:?}"),
    };
    let p = points(&format!("{q}[5m:45s]"));
    assert!(!p.is_empty());
    assert!(p.iter().all(|(ts, _)| ts % 45_000 == 0), "{p:?}");
    assert!(p.iter().all(|(ts, _)| (t - 300_000..=t).contains(ts)));
    // No step: the evaluation interval, 1 minute by default.
    let p = points(&format!("{q}[5m:]"));
    assert_eq!(p.len(), 5);
    assert!(p.iter().all(|(ts, _)| ts % 60_000 == 0));
    // Offset and @ move the window; the steps stay on the grid.
    let at = (T0 + 4 * 60_000) / 1000;
    let p = points(&format!("{q}[2m:30s] @ {at} offset 1m"));
    assert!(p
        .iter()
        .all(|(ts, _)| ts % 30_000 == 0 && *ts <= T0 + 180_000));
    let opts = EvalOptions {
        max_subquery_steps: 10,
        ..EvalOptions::default()
    };
    assert!(matches!(
        instant_with(&store, &format!("max_over_time({q}[5m:1s])"), t, &opts),
        Err(EvalError::TooManySubquerySteps { .. })
    ));
}

#[test]
fn at_modifier_fixes_the_evaluation_time() {
    let store = Store::new(StoreConfig::default());
    for i in 0..40 {
        running(&store, "s", T0 + i * 15_000, &[("m", i as f64)]);
    }
    let q = names::NUM_REQUESTS_RUNNING;
    let (start, end) = (T0 + 60_000, T0 + 300_000);
    let values = |expr: &str| -> Vec<f64> {
        range(&store, expr, start, end, 60_000)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .into_iter()
            .flat_map(|s| s.points.into_iter().map(|p| p.1))
            .collect()
    };
    // Sample i is at T0 + 15 s * i, value i.
    assert_eq!(values(&format!("{q} @ start()")), vec![4.0; 5]);
    assert_eq!(values(&format!("{q} @ end()")), vec![20.0; 5]);
    assert_eq!(values(&format!("{q} @ end() offset 1m")), vec![16.0; 5]);
    let at = (T0 + 150_000) / 1000;
    assert_eq!(values(&format!("{q} @ {at}")), vec![10.0; 5]);
    assert_eq!(
        values(&format!("timestamp({q} @ {at})")),
        vec![at as f64; 5]
    );
    // Mixed with a selector without @, only the @ side is fixed.
    assert_eq!(
        values(&format!("{q} - {q} @ start()")),
        vec![0.0, 4.0, 8.0, 12.0, 16.0]
    );
}

#[test]
fn count_values_topk_and_timestamp_answer_like_prometheus() {
    let store = Store::new(StoreConfig::default());
    let models = [("a", 2.0), ("b", 0.5), ("c", 2.0), ("d", f64::INFINITY)];
    running(&store, "v", T0, &models);
    let q = names::NUM_REQUESTS_RUNNING;
    let v = vector(instant(&store, &format!("count_values(\"model_name\", {q})"), T0).expect("ok"));
    // The value label replaces the series' own, in order of appearance.
    assert_eq!(
        v,
        vec![
            (vec![("model_name".into(), "2".into())], 2.0),
            (vec![("model_name".into(), "0.5".into())], 1.0),
            (vec![("model_name".into(), "+Inf".into())], 1.0),
        ]
    );
    let names_of = |expr: String| -> Vec<String> {
        vector(instant(&store, &expr, T0).expect("evaluates"))
            .into_iter()
            .map(|(l, _)| {
                l.into_iter()
                    .find(|(k, _)| k == "model_name")
                    .map(|(_, v)| v)
                    .unwrap_or_default()
            })
            .collect()
    };
    // Best first, as Prometheus answers an instant topk/bottomk; the tie
    // between a and c in the order Go's heap and sort leave it.
    assert_eq!(names_of(format!("topk(3, {q})")), ["d", "c", "a"]);
    assert_eq!(names_of(format!("bottomk(2, {q})")), ["b", "a"]);
    let t = vector(instant(&store, &format!("timestamp({q})"), T0 + 10_000).expect("ok"));
    assert!(t.iter().all(|(_, v)| *v == T0 as f64 / 1000.0));
    assert!(matches!(
        instant(&store, &format!("count_values(\"1x\", {q})"), T0),
        Err(EvalError::Execution(_))
    ));
}
