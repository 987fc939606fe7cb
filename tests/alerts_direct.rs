//! Alerting without Prometheus: the Grafana-managed rules of
//! `provisioning/alerting/` evaluated the way Grafana's alerting does it,
//! against the real plugin in direct mode scraping real simulators.
//!
//! Each rule's data queries go to the plugin in one QueryData call, built
//! from the provisioned `model` exactly as Grafana builds it (relative time
//! range turned into an absolute one, `refId`, `intervalMs`,
//! `maxDataPoints`, `datasource` added); the Arrow frames are decoded with
//! an independent reader and converted to numbers the way Grafana's
//! server-side expressions do (dataplane `numeric-multi` / `timeseries-multi`,
//! one value per label set, duplicate label sets rejected); then the rule's
//! expression chain (reduce / threshold / math) runs and the condition
//! decides which instances fire. The same moment's `prometheus/rules.yml`
//! expressions, run through the plugin, must select the same instances.
//!
//! Scenarios: a simulator under overload (queue growing, KV cache full), one
//! under normal load, then the normal one stopped. Both simulators run
//! fast-forward (`time_scale`) so a full `rate()` window of history and the
//! client timeouts of a sustained overload build up in seconds.

mod support;

use grafana_plugin_sdk::pluginv2;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};
use support::frames::{self, Column, Field, Frame};
use support::grafana::{raw_query, Datasource, Plugin};
use support::now_ms;
use tokio::sync::oneshot;
use vllm_grafana::alerts;
use vllm_grafana::simulator::{self, SimConfig};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// `datasourceUid` of server-side expressions (and its legacy spelling).
const EXPR_UIDS: [&str; 2] = ["__expr__", "-100"];
/// Simulated seconds per wall-clock second.
const TIME_SCALE: f64 = 60.0;

type Labels = BTreeMap<String, String>;
/// One optional number per label set.
type Numbers = Vec<(Labels, Option<f64>)>;

// --- The provisioned rules -------------------------------------------------

#[derive(Clone, Debug)]
struct Node {
    ref_id: String,
    datasource_uid: String,
    from_s: i64,
    to_s: i64,
    model: Value,
}

impl Node {
    fn is_expression(&self) -> bool {
        EXPR_UIDS.contains(&self.datasource_uid.as_str())
    }
}

#[derive(Clone, Debug)]
struct Rule {
    title: String,
    condition: String,
    no_data_state: String,
    nodes: Vec<Node>,
}

fn read_yaml(rel: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(Path::new(ROOT).join(rel))
        .map_err(|e| format!("cannot read {rel}: {e}"))?;
    serde_yaml::from_str(&text).map_err(|e| format!("{rel} is not YAML: {e}"))
}

fn text(v: &Value, what: &str) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{what} must be a string, got {v}"))
}

fn rules_of(doc: &Value) -> Result<Vec<Rule>, String> {
    let mut out = Vec::new();
    for g in doc["groups"].as_array().ok_or("no groups")? {
        for r in g["rules"].as_array().ok_or("group without rules")? {
            let title = text(&r["title"], "title")?;
            let mut nodes = Vec::new();
            for d in r["data"].as_array().ok_or("rule without data")? {
                let range = &d["relativeTimeRange"];
                nodes.push(Node {
                    ref_id: text(&d["refId"], "refId")?,
                    datasource_uid: text(&d["datasourceUid"], "datasourceUid")?,
                    from_s: range["from"].as_i64().ok_or("relativeTimeRange.from")?,
                    to_s: range["to"].as_i64().ok_or("relativeTimeRange.to")?,
                    model: d["model"].clone(),
                });
            }
            out.push(Rule {
                condition: text(&r["condition"], "condition")?,
                no_data_state: r["noDataState"].as_str().unwrap_or("NoData").to_string(),
                title,
                nodes,
            });
        }
    }
    Ok(out)
}

/// `alert name → expr` of `prometheus/rules.yml`.
fn prometheus_exprs() -> Result<BTreeMap<String, String>, String> {
    let doc = read_yaml(alerts::PROMETHEUS_RULES)?;
    let mut out = BTreeMap::new();
    for g in doc["groups"].as_array().ok_or("no groups")? {
        for r in g["rules"].as_array().ok_or("no rules")? {
            out.insert(text(&r["alert"], "alert")?, text(&r["expr"], "expr")?);
        }
    }
    Ok(out)
}

/// The provisioned datasource with `uid` (its `type` and `jsonData`).
fn provisioned_datasource(uid: &str) -> Result<Value, String> {
    let dir = Path::new(ROOT).join("provisioning/datasources");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.ends_with(".yml") && !name.ends_with(".yaml") {
            continue;
        }
        let doc = read_yaml(&format!("provisioning/datasources/{name}"))?;
        for ds in doc["datasources"].as_array().into_iter().flatten() {
            if ds["uid"] == uid {
                return Ok(ds.clone());
            }
        }
    }
    Err(format!("no provisioned datasource has uid {uid}"))
}

// --- What Grafana sends ----------------------------------------------------

/// The DataQuery Grafana's alerting sends for one data node at `now_ms`:
/// the model with `maxDataPoints` / `intervalMs` defaulted (43200 / 1000,
/// as `AlertQuery.GetModel` does), `refId` and `datasource` set, the
/// relative time range made absolute.
fn grafana_query(node: &Node, ds_type: &str, now_ms: i64) -> Result<pluginv2::DataQuery, String> {
    let mut model = node.model.clone();
    let obj = model
        .as_object_mut()
        .ok_or_else(|| format!("{}: model is not an object", node.ref_id))?;
    let positive = |v: Option<&Value>| v.and_then(Value::as_f64).filter(|x| *x > 0.0);
    let max_dp = positive(obj.get("maxDataPoints")).unwrap_or(43200.0);
    let interval_ms = positive(obj.get("intervalMs")).unwrap_or(1000.0);
    obj.insert("maxDataPoints".into(), json!(max_dp));
    obj.insert("intervalMs".into(), json!(interval_ms));
    obj.insert("refId".into(), json!(node.ref_id));
    obj.insert(
        "datasource".into(),
        json!({"type": ds_type, "uid": node.datasource_uid}),
    );
    let query_type = obj
        .get("queryType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let bytes = serde_json::to_vec(&model).map_err(|e| e.to_string())?;
    let mut q = raw_query(
        &node.ref_id,
        bytes,
        now_ms - node.from_s * 1000,
        now_ms - node.to_s * 1000,
    );
    q.max_data_points = max_dp as i64;
    q.interval_ms = interval_ms as i64;
    q.query_type = query_type;
    Ok(q)
}

// --- Frames to values, as Grafana's server-side expressions read them ------

#[derive(Clone, Debug, PartialEq)]
enum Results {
    /// One optional number per label set.
    Numbers(Numbers),
    /// One series per label set.
    Series(Vec<(Labels, Vec<Option<f64>>)>),
    NoData,
}

fn value_fields(f: &Frame) -> Vec<&Field> {
    f.fields
        .iter()
        .filter(|x| matches!(x.column, Column::Number(_)))
        .collect()
}

fn unique(labels: &[&Labels]) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for l in labels {
        if !seen.insert(*l) {
            return Err(format!(
                "frame cannot uniquely be identified by its labels: has duplicate results with labels {l:?}"
            ));
        }
    }
    Ok(())
}

/// Reads one query's frames like Grafana's expression engine, stricter
/// where the plugin promises more: only the dataplane types the plugin
/// writes, no string fields, exactly one number per `numeric-multi` frame.
fn convert(frames: &[Frame]) -> Result<Results, String> {
    let Some(first) = frames.first() else {
        return Ok(Results::NoData);
    };
    let kind = first.kind().unwrap_or("").to_string();
    if first.meta["typeVersion"] != json!([0, 1]) {
        return Err(format!(
            "frame type version {} is not dataplane 0.1",
            first.meta["typeVersion"]
        ));
    }
    if first.fields.is_empty() {
        return if frames.len() == 1 {
            Ok(Results::NoData)
        } else {
            Err("an empty first frame followed by more frames".into())
        };
    }
    for f in frames {
        if f.kind() != Some(kind.as_str()) {
            return Err(format!("mixed frame types {kind:?} and {:?}", f.kind()));
        }
        if let Some(s) = f
            .fields
            .iter()
            .find(|x| matches!(x.column, Column::Text(_)))
        {
            return Err(format!(
                "string field {:?} in a {kind} frame: alerting wants numbers with labels",
                s.name
            ));
        }
        if value_fields(f).len() != 1 {
            return Err(format!(
                "a {kind} frame must have exactly one number field, got {}",
                value_fields(f).len()
            ));
        }
    }
    match kind.as_str() {
        "numeric-multi" => {
            let mut out = Vec::new();
            for f in frames {
                let v = value_fields(f)[0];
                let nums = v.numbers();
                if nums.len() != 1 {
                    return Err(format!(
                        "a numeric-multi value field must hold one value, got {}",
                        nums.len()
                    ));
                }
                out.push((v.labels.clone().unwrap_or_default(), nums[0]));
            }
            unique(&out.iter().map(|(l, _)| l).collect::<Vec<_>>())?;
            Ok(Results::Numbers(out))
        }
        "timeseries-multi" => {
            let mut out = Vec::new();
            for f in frames {
                let time = f
                    .fields
                    .iter()
                    .find(|x| matches!(x.column, Column::Time(_)))
                    .ok_or("a timeseries-multi frame without a time field")?;
                let v = value_fields(f)[0];
                if time.times().len() != v.numbers().len() {
                    return Err("time and value fields differ in length".into());
                }
                out.push((v.labels.clone().unwrap_or_default(), v.numbers()));
            }
            unique(&out.iter().map(|(l, _)| l).collect::<Vec<_>>())?;
            Ok(Results::Series(out))
        }
        other => Err(format!(
            "frame type {other:?} is not one the plugin promises for alerting"
        )),
    }
}

// --- The expression chain --------------------------------------------------

fn reduce(data: &Results, model: &Value) -> Result<Results, String> {
    let reducer = model["reducer"].as_str().ok_or("reduce without reducer")?;
    let mode = model["settings"]["mode"].as_str().unwrap_or("");
    let replace = model["settings"]["replaceWithValue"].as_f64();
    let map = |v: Option<f64>| -> Option<Option<f64>> {
        let bad = v.is_none_or(|x| !x.is_finite());
        match (mode, bad) {
            ("dropNN", true) => None,
            ("replaceNN", true) => Some(replace),
            _ => Some(v),
        }
    };
    match data {
        Results::NoData => Ok(Results::NoData),
        Results::Numbers(n) => Ok(Results::Numbers(
            n.iter()
                .filter_map(|(l, v)| map(*v).map(|v| (l.clone(), v)))
                .collect(),
        )),
        Results::Series(series) => {
            let mut out = Vec::new();
            for (l, points) in series {
                let vals: Vec<f64> = points
                    .iter()
                    .filter_map(|p| map(*p))
                    .map(|p| p.unwrap_or(f64::NAN))
                    .collect();
                let v = match reducer {
                    "last" => vals.last().copied(),
                    "count" => Some(vals.len() as f64),
                    _ if vals.is_empty() => Some(f64::NAN),
                    "sum" => Some(vals.iter().sum()),
                    "mean" => Some(vals.iter().sum::<f64>() / vals.len() as f64),
                    "min" => Some(vals.iter().copied().fold(f64::INFINITY, f64::min)),
                    "max" => Some(vals.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
                    other => return Err(format!("unknown reducer {other:?}")),
                };
                out.push((l.clone(), v.or(Some(f64::NAN))));
            }
            Ok(Results::Numbers(out))
        }
    }
}

fn predicate(kind: &str, params: &[f64]) -> Result<Box<dyn Fn(f64) -> bool>, String> {
    let need = if kind.contains("range") { 2 } else { 1 };
    if params.len() < need {
        return Err(format!("threshold {kind} needs {need} parameter(s)"));
    }
    let (a, b) = (params[0], params.get(1).copied().unwrap_or(f64::NAN));
    Ok(match kind {
        "gt" => Box::new(move |x| x > a),
        "lt" => Box::new(move |x| x < a),
        "gte" => Box::new(move |x| x >= a),
        "lte" => Box::new(move |x| x <= a),
        "eq" => Box::new(move |x| x == a),
        "ne" => Box::new(move |x| x != a),
        "within_range" => Box::new(move |x| x > a && x < b),
        "outside_range" => Box::new(move |x| x < a || x > b),
        "within_range_included" => Box::new(move |x| x >= a && x <= b),
        "outside_range_included" => Box::new(move |x| x <= a || x >= b),
        other => return Err(format!("unknown threshold type {other:?}")),
    })
}

fn as_bool(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

fn threshold(data: &Results, model: &Value) -> Result<Results, String> {
    let conditions = model["conditions"].as_array().ok_or("no conditions")?;
    if conditions.len() != 1 {
        return Err("threshold expression requires exactly one condition".into());
    }
    let ev = &conditions[0]["evaluator"];
    let params: Vec<f64> = ev["params"]
        .as_array()
        .ok_or("evaluator without params")?
        .iter()
        .map(|p| {
            p.as_f64()
                .ok_or(format!("threshold parameter {p} is not a number"))
        })
        .collect::<Result<_, _>>()?;
    let p = predicate(
        ev["type"].as_str().ok_or("evaluator without type")?,
        &params,
    )?;
    match data {
        Results::NoData => Ok(Results::NoData),
        Results::Numbers(n) => Ok(Results::Numbers(
            n.iter()
                .map(|(l, v)| (l.clone(), v.map(|x| as_bool(p(x)))))
                .collect(),
        )),
        Results::Series(s) => Ok(Results::Series(
            s.iter()
                .map(|(l, pts)| {
                    (
                        l.clone(),
                        pts.iter().map(|v| v.map(|x| as_bool(p(x)))).collect(),
                    )
                })
                .collect(),
        )),
    }
}

/// `$A <op> <number>`, `<number> <op> $A` or `$A <op> $B` (equal label sets).
fn math(vars: &BTreeMap<String, Results>, model: &Value) -> Result<Results, String> {
    let expr = model["expression"]
        .as_str()
        .ok_or("math without expression")?;
    let tokens: Vec<&str> = expr.split_whitespace().collect();
    let [lhs, op, rhs] = tokens[..] else {
        return Err(format!(
            "math expression {expr:?} is not `operand op operand`"
        ));
    };
    let apply = |x: f64, y: f64| -> Result<f64, String> {
        Ok(match op {
            ">" => as_bool(x > y),
            "<" => as_bool(x < y),
            ">=" => as_bool(x >= y),
            "<=" => as_bool(x <= y),
            "==" => as_bool(x == y),
            "!=" => as_bool(x != y),
            "&&" => as_bool(x != 0.0 && y != 0.0),
            "||" => as_bool(x != 0.0 || y != 0.0),
            "+" => x + y,
            "-" => x - y,
            "*" => x * y,
            "/" => x / y,
            other => return Err(format!("math operator {other:?} not supported here")),
        })
    };
    let operand = |t: &str| -> Result<Result<&Results, f64>, String> {
        match t.strip_prefix('$') {
            Some(name) => vars
                .get(name.trim_matches(|c| c == '{' || c == '}'))
                .map(Ok)
                .ok_or_else(|| format!("math refers to unknown ${name}")),
            None => t
                .parse::<f64>()
                .map(Err)
                .map_err(|_| format!("math operand {t:?} is neither $refId nor a number")),
        }
    };
    let numbers = |d: &Results| -> Result<Option<Numbers>, String> {
        match d {
            Results::Numbers(n) => Ok(Some(n.clone())),
            Results::NoData => Ok(None),
            Results::Series(_) => Err("math over series is not supported here".into()),
        }
    };
    let combine = |n: Numbers, f: &dyn Fn(f64) -> Result<f64, String>| {
        n.into_iter()
            .map(|(l, v)| Ok((l, v.map(f).transpose()?)))
            .collect::<Result<Vec<_>, String>>()
            .map(Results::Numbers)
    };
    match (operand(lhs)?, operand(rhs)?) {
        (Ok(a), Err(y)) => match numbers(a)? {
            Some(n) => combine(n, &|x| apply(x, y)),
            None => Ok(Results::NoData),
        },
        (Err(x), Ok(b)) => match numbers(b)? {
            Some(n) => combine(n, &|y| apply(x, y)),
            None => Ok(Results::NoData),
        },
        (Ok(a), Ok(b)) => {
            let (Some(a), Some(b)) = (numbers(a)?, numbers(b)?) else {
                return Ok(Results::NoData);
            };
            let b: BTreeMap<Labels, Option<f64>> = b.into_iter().collect();
            let mut out = Vec::new();
            for (l, x) in a {
                if let Some(y) = b.get(&l) {
                    let v = match (x, y) {
                        (Some(x), Some(y)) => Some(apply(x, *y)?),
                        _ => None,
                    };
                    out.push((l, v));
                }
            }
            Ok(Results::Numbers(out))
        }
        (Err(x), Err(y)) => Ok(Results::Numbers(vec![(Labels::new(), Some(apply(x, y)?))])),
    }
}

/// Evaluates `ref_id` of `rule` given the data nodes' results.
fn evaluate(
    rule: &Rule,
    ref_id: &str,
    results: &mut BTreeMap<String, Results>,
    depth: usize,
) -> Result<Results, String> {
    if let Some(d) = results.get(ref_id) {
        return Ok(d.clone());
    }
    if depth > rule.nodes.len() {
        return Err(format!("{}: expression cycle at {ref_id}", rule.title));
    }
    let node = rule
        .nodes
        .iter()
        .find(|n| n.ref_id == ref_id)
        .ok_or_else(|| format!("{}: no node {ref_id}", rule.title))?;
    let m = &node.model;
    let input = |results: &mut BTreeMap<String, Results>| -> Result<Results, String> {
        let name = m["expression"].as_str().ok_or("expression without input")?;
        evaluate(rule, name.trim_start_matches('$'), results, depth + 1)
    };
    let out = match m["type"].as_str() {
        Some("reduce") => reduce(&input(results)?, m)?,
        Some("threshold") => threshold(&input(results)?, m)?,
        Some("math") => {
            let expr = m["expression"].as_str().unwrap_or("");
            for var in expr.split_whitespace().filter_map(|t| t.strip_prefix('$')) {
                let var = var.trim_matches(|c| c == '{' || c == '}');
                evaluate(rule, var, results, depth + 1)?;
            }
            math(results, m)?
        }
        other => return Err(format!("{}: unsupported node type {other:?}", rule.title)),
    };
    results.insert(ref_id.to_string(), out.clone());
    Ok(out)
}

/// The instances the rule's condition puts in Alerting, as ngalert decides:
/// condition value non-zero fires, 0 is Normal, no value is NoData (which
/// fires only with `noDataState: Alerting`); time series are refused.
fn firing(rule: &Rule, condition: &Results) -> Result<BTreeSet<Labels>, String> {
    match condition {
        Results::NoData => Ok(if rule.no_data_state == "Alerting" {
            BTreeSet::from([Labels::new()])
        } else {
            BTreeSet::new()
        }),
        Results::Series(_) => Err(format!(
            "{}: invalid format of evaluation results: looks like time series data, only reduced data can be alerted on",
            rule.title
        )),
        Results::Numbers(n) => {
            unique(&n.iter().map(|(l, _)| l).collect::<Vec<_>>())?;
            Ok(n.iter()
                .filter(|(_, v)| v.is_some_and(|x| x != 0.0))
                .map(|(l, _)| l.clone())
                .collect())
        }
    }
}

fn without_name(l: &Labels) -> Labels {
    let mut l = l.clone();
    l.remove("__name__");
    l
}

// --- Evaluation against the plugin -----------------------------------------

struct Harness {
    plugin: Plugin,
    ds: Datasource,
    ds_type: String,
    rules: Vec<Rule>,
    prom: BTreeMap<String, String>,
}

/// `rule title → firing instances` for one evaluation moment, checked
/// against `prometheus/rules.yml` at the same moment.
type Firing = BTreeMap<String, BTreeSet<Labels>>;

impl Harness {
    /// Runs one rule as Grafana would at `now`; returns its firing instances.
    async fn run_rule(&self, rule: &Rule, now: i64) -> Result<BTreeSet<Labels>, String> {
        let data_nodes: Vec<&Node> = rule.nodes.iter().filter(|n| !n.is_expression()).collect();
        let queries = data_nodes
            .iter()
            .map(|n| grafana_query(n, &self.ds_type, now))
            .collect::<Result<Vec<_>, _>>()?;
        let resp = self.plugin.query(&self.ds, queries).await?;
        let mut results = BTreeMap::new();
        for n in &data_nodes {
            let frames = frames::frames_of(&resp, &n.ref_id)
                .map_err(|e| format!("{} {}: {e}", rule.title, n.ref_id))?;
            let data = convert(&frames).map_err(|e| format!("{} {}: {e}", rule.title, n.ref_id))?;
            results.insert(n.ref_id.clone(), data);
        }
        let cond = evaluate(rule, &rule.condition, &mut results, 0)?;
        firing(rule, &cond)
    }

    /// The same rule's Prometheus expression at `now`, as an instant query.
    async fn run_prometheus(&self, rule: &Rule, now: i64) -> Result<BTreeSet<Labels>, String> {
        let expr = self
            .prom
            .get(&rule.title)
            .ok_or_else(|| format!("{} is not in {}", rule.title, alerts::PROMETHEUS_RULES))?;
        let model = json!({"refId": "P", "expr": expr, "instant": true, "range": false});
        let q = raw_query(
            "P",
            serde_json::to_vec(&model).map_err(|e| e.to_string())?,
            now - 600_000,
            now,
        );
        let resp = self.plugin.query(&self.ds, vec![q]).await?;
        let frames = frames::frames_of(&resp, "P").map_err(|e| format!("{} P: {e}", rule.title))?;
        match convert(&frames).map_err(|e| format!("{} P: {e}", rule.title))? {
            Results::NoData => Ok(BTreeSet::new()),
            Results::Numbers(n) => Ok(n.into_iter().map(|(l, _)| l).collect()),
            Results::Series(_) => Err(format!(
                "{}: an instant query answered with series",
                rule.title
            )),
        }
    }

    /// Every rule at one moment. Errors are what Grafana would show as the
    /// rule's Error state (a query error or frames it cannot read).
    async fn evaluate_all(&self) -> Result<(Firing, Vec<String>), String> {
        let now = now_ms();
        let mut fired = Firing::new();
        let mut disagreements = Vec::new();
        for rule in &self.rules {
            let grafana = self.run_rule(rule, now).await?;
            let prometheus = self.run_prometheus(rule, now).await?;
            let g: BTreeSet<Labels> = grafana.iter().map(without_name).collect();
            let p: BTreeSet<Labels> = prometheus.iter().map(without_name).collect();
            if g != p {
                disagreements.push(format!(
                    "{}: Grafana rule fires {g:?}, rules.yml selects {p:?}",
                    rule.title
                ));
            }
            fired.insert(rule.title.clone(), g);
        }
        Ok((fired, disagreements))
    }
}

/// Rules firing for `instance`.
fn rules_firing_for(fired: &Firing, instance: &str) -> BTreeSet<String> {
    fired
        .iter()
        .filter(|(_, set)| {
            set.iter()
                .any(|l| l.get("instance").map(String::as_str) == Some(instance))
        })
        .map(|(rule, _)| rule.clone())
        .collect()
}

// --- Simulators ------------------------------------------------------------

struct Sim {
    instance: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), simulator::SimError>>,
}

impl Sim {
    async fn start(models: usize, engines: usize, rps: f64) -> Result<Sim, String> {
        let cfg = SimConfig {
            listen: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
            models,
            engines,
            requests_per_second: rps,
            time_scale: TIME_SCALE,
            ..SimConfig::default()
        };
        let server = simulator::bind(cfg).await.map_err(|e| e.to_string())?;
        let instance = server.local_addr().to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Ok(Sim {
            instance,
            stop: Some(stop),
            task,
        })
    }

    fn url(&self) -> String {
        format!("http://{}/metrics", self.instance)
    }

    /// Stops serving and waits (bounded) until the port is closed.
    async fn stop(mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(10), &mut self.task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(e.to_string()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => {
                self.task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

// --- Tests -----------------------------------------------------------------

const QUEUE: &str = "VllmHighRequestQueue";
const KV_CACHE: &str = "VllmKvCacheNearlyFull";
const TTFT: &str = "VllmTimeToFirstTokenHigh";
const FAILURES: &str = "VllmRequestFailureRatioHigh";
const PREEMPTIONS: &str = "VllmPreemptionStorm";
const TARGET_DOWN: &str = "VllmTargetDown";
const STALLED: &str = "VllmEngineStalled";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provisioned_rules_fire_under_overload_and_not_under_normal_load() {
    let doc = read_yaml(alerts::GRAFANA_RULES).expect("rules file");
    let rules = rules_of(&doc).expect("rules");
    let prom = prometheus_exprs().expect("rules.yml");
    let all: BTreeSet<String> = rules.iter().map(|r| r.title.clone()).collect();
    assert_eq!(
        all,
        prom.keys().cloned().collect::<BTreeSet<_>>(),
        "both rule files hold the same alerts"
    );
    let expected_overload: BTreeSet<String> = [QUEUE, KV_CACHE, TTFT, FAILURES, PREEMPTIONS]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(expected_overload.is_subset(&all), "{all:?}");
    assert!(
        all.contains(TARGET_DOWN) && all.contains(STALLED),
        "{all:?}"
    );

    let uids: BTreeSet<&str> = rules
        .iter()
        .flat_map(|r| r.nodes.iter())
        .filter(|n| !n.is_expression())
        .map(|n| n.datasource_uid.as_str())
        .collect();
    assert_eq!(uids.len(), 1, "one datasource for every rule: {uids:?}");
    let uid = uids.iter().next().copied().unwrap_or_default().to_string();
    let provisioned = provisioned_datasource(&uid).expect("the rules' datasource is provisioned");
    let ds_type = text(&provisioned["type"], "type").expect("type");
    assert_eq!(ds_type, vllm_grafana::dashboard::PLUGIN_ID);
    assert_eq!(provisioned["jsonData"]["mode"], "direct");

    // 40 requests/s overload one engine (queue, full KV cache, preemptions;
    // after 300 simulated seconds of waiting, clients time out); 4/s per
    // model is a comfortable load for two models on two engines each.
    let overload = Sim::start(1, 1, 40.0).await.expect("overloaded simulator");
    let normal = Sim::start(2, 2, 4.0).await.expect("normal simulator");
    let plugin = Plugin::start().await.expect("plugin starts");
    let mut json_data = provisioned["jsonData"].clone();
    json_data["targets"] = json!([overload.url(), normal.url()]);
    json_data["scrapeInterval"] = json!("1s");
    let h = Harness {
        plugin,
        ds: Datasource {
            uid: uid.clone(),
            url: String::new(),
            json: json_data,
            secure: Default::default(),
            updated_ms: 1_700_000_000_000,
        },
        ds_type,
        rules,
        prom,
    };

    // Until the overload fires its set: every evaluation's frames must be
    // readable, the two rule files must agree, and after a warm-up (five
    // scrapes, 300 simulated seconds) the normal target fires nothing and
    // the overloaded one nothing outside its set.
    // A scrape landing between the Grafana query and the rules.yml query
    // can make one evaluation disagree; three in a row cannot be that.
    let started = Instant::now();
    let warm = Duration::from_secs(5);
    let mut last = String::new();
    let mut matched = false;
    let mut disagreeing = 0;
    while started.elapsed() < Duration::from_secs(60) {
        let (fired, disagreements) = h.evaluate_all().await.unwrap_or_else(|e| panic!("{e}"));
        let over = rules_firing_for(&fired, &overload.instance);
        let norm = rules_firing_for(&fired, &normal.instance);
        last = format!("overload fires {over:?}; normal fires {norm:?}; {disagreements:?}");
        disagreeing = if disagreements.is_empty() {
            0
        } else {
            disagreeing + 1
        };
        assert!(disagreeing < 3, "the rule files disagree: {last}");
        if started.elapsed() >= warm {
            assert!(norm.is_empty(), "normal load must fire nothing: {last}");
            assert!(
                over.is_subset(&expected_overload),
                "overload fires an unexpected rule: {last}"
            );
        }
        if over == expected_overload && disagreements.is_empty() {
            eprintln!("after {:?}: {last}", started.elapsed());
            matched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        matched,
        "overload never fired {expected_overload:?}: {last}"
    );

    // The normal target stops: it becomes a down target and nothing else.
    let normal_instance = normal.instance.clone();
    normal.stop().await.expect("simulator stops");
    let started = Instant::now();
    let mut matched = false;
    while started.elapsed() < Duration::from_secs(30) {
        let (fired, disagreements) = h.evaluate_all().await.unwrap_or_else(|e| panic!("{e}"));
        let norm = rules_firing_for(&fired, &normal_instance);
        let over = rules_firing_for(&fired, &overload.instance);
        last = format!("stopped target fires {norm:?}; overload fires {over:?}; {disagreements:?}");
        disagreeing = if disagreements.is_empty() {
            0
        } else {
            disagreeing + 1
        };
        assert!(disagreeing < 3, "the rule files disagree: {last}");
        assert!(!over.contains(TARGET_DOWN), "{last}");
        if norm == BTreeSet::from([TARGET_DOWN.to_string()]) && disagreements.is_empty() {
            eprintln!("after {:?}: {last}", started.elapsed());
            matched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        matched,
        "the stopped target never fired only {TARGET_DOWN}: {last}"
    );
    h.plugin.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_query_as_condition_is_refused_like_grafana_refuses_it() {
    // The same rule with its query switched to a range query returns time
    // series, which Grafana's alerting refuses without a reduce step.
    let doc = read_yaml(alerts::GRAFANA_RULES).expect("rules file");
    let mut rule = rules_of(&doc)
        .expect("rules")
        .into_iter()
        .find(|r| r.title == TARGET_DOWN)
        .expect("target-down rule");
    for n in rule.nodes.iter_mut().filter(|n| !n.is_expression()) {
        n.model["instant"] = json!(false);
        n.model["range"] = json!(true);
    }
    let sim = Sim::start(1, 1, 4.0).await.expect("simulator");
    let plugin = Plugin::start().await.expect("plugin");
    let uid = rule
        .nodes
        .iter()
        .find(|n| !n.is_expression())
        .map(|n| n.datasource_uid.clone())
        .expect("data node");
    let provisioned = provisioned_datasource(&uid).expect("datasource");
    let mut json_data = provisioned["jsonData"].clone();
    json_data["targets"] = json!([sim.url()]);
    json_data["scrapeInterval"] = json!("1s");
    let h = Harness {
        plugin,
        ds: Datasource {
            uid,
            url: String::new(),
            json: json_data,
            secure: Default::default(),
            updated_ms: 1_700_000_000_000,
        },
        ds_type: text(&provisioned["type"], "type").expect("type"),
        rules: vec![rule.clone()],
        prom: BTreeMap::new(),
    };
    let err = h
        .run_rule(&rule, now_ms())
        .await
        .expect_err("series as a condition");
    assert!(err.contains("looks like time series"), "{err}");

    // With a reduce step in between, the same series are accepted.
    let mut reduced = rule.clone();
    let data_ref = reduced
        .nodes
        .iter()
        .find(|n| !n.is_expression())
        .map(|n| n.ref_id.clone())
        .expect("data node");
    reduced.nodes.push(Node {
        ref_id: "B".into(),
        datasource_uid: EXPR_UIDS[0].into(),
        from_s: 0,
        to_s: 0,
        model: json!({"refId": "B", "type": "reduce", "reducer": "last", "expression": data_ref}),
    });
    for n in reduced.nodes.iter_mut() {
        if n.model["type"] == "threshold" {
            n.model["expression"] = json!("B");
        }
    }
    let fired = h
        .run_rule(&reduced, now_ms())
        .await
        .expect("reduced series");
    assert!(fired.is_empty(), "a live target is not down: {fired:?}");
    h.plugin.stop().await.expect("clean stop");
}

fn number_frame(labels: &[(&str, &str)], values: Vec<Option<f64>>, text_field: bool) -> Frame {
    let labels: Labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let n = values.len();
    let mut fields = vec![
        Field {
            name: "Time".into(),
            labels: None,
            config: Value::Null,
            nullable: false,
            column: Column::Time(vec![0; n]),
        },
        Field {
            name: "Value".into(),
            labels: Some(labels),
            config: Value::Null,
            nullable: false,
            column: Column::Number(values),
        },
    ];
    if text_field {
        fields.push(Field {
            name: "instance".into(),
            labels: None,
            config: Value::Null,
            nullable: false,
            column: Column::Text(vec!["x".into(); n]),
        });
    }
    Frame {
        name: String::new(),
        ref_id: "A".into(),
        meta: json!({"type": "numeric-multi", "typeVersion": [0, 1]}),
        fields,
    }
}

#[test]
fn the_frame_reader_rejects_what_alerting_rejects() {
    let a = number_frame(&[("instance", "a")], vec![Some(1.0)], false);
    let b = number_frame(&[("instance", "b")], vec![Some(2.0)], false);
    assert!(matches!(convert(&[a.clone(), b]), Ok(Results::Numbers(n)) if n.len() == 2));
    let dup = convert(&[a.clone(), a.clone()]).expect_err("duplicate labels");
    assert!(dup.contains("duplicate"), "{dup}");
    let text = convert(&[number_frame(&[], vec![Some(1.0)], true)]).expect_err("string field");
    assert!(text.contains("string field"), "{text}");
    let rows =
        convert(&[number_frame(&[], vec![Some(1.0), Some(2.0)], false)]).expect_err("two rows");
    assert!(rows.contains("one value"), "{rows}");
    let mut untyped = a.clone();
    untyped.meta = json!({});
    assert!(convert(&[untyped]).is_err());
    let mut empty = a;
    empty.fields.clear();
    assert_eq!(convert(&[empty]), Ok(Results::NoData));
}

#[test]
fn the_expression_chain_follows_grafana() {
    let rule = Rule {
        title: "t".into(),
        condition: "C".into(),
        no_data_state: "OK".into(),
        nodes: vec![
            Node {
                ref_id: "B".into(),
                datasource_uid: "__expr__".into(),
                from_s: 0,
                to_s: 0,
                model: json!({"type": "math", "expression": "$A * 100"}),
            },
            Node {
                ref_id: "C".into(),
                datasource_uid: "__expr__".into(),
                from_s: 0,
                to_s: 0,
                model: json!({"type": "threshold", "expression": "B",
                    "conditions": [{"evaluator": {"type": "gt", "params": [50]}}]}),
            },
        ],
    };
    let l = |i: &str| Labels::from([("instance".to_string(), i.to_string())]);
    let mut results = BTreeMap::from([(
        "A".to_string(),
        Results::Numbers(vec![
            (l("a"), Some(0.9)),
            (l("b"), Some(0.1)),
            (l("c"), Some(f64::NAN)),
            (l("d"), None),
        ]),
    )]);
    let cond = evaluate(&rule, "C", &mut results, 0).expect("evaluates");
    assert_eq!(firing(&rule, &cond), Ok(BTreeSet::from([l("a")])));
    assert_eq!(firing(&rule, &Results::NoData), Ok(BTreeSet::new()));
    let alerting = Rule {
        no_data_state: "Alerting".into(),
        ..rule.clone()
    };
    assert_eq!(firing(&alerting, &Results::NoData).map(|s| s.len()), Ok(1));
}
