//! The generated dashboards: committed files are current, they validate
//! against Grafana's JSON Schemas, every query parses, lint rules in the
//! spirit of grafana/dashboard-linter hold, and every panel has data on old
//! and new vLLM releases.
//!
//! `UPDATE_DASHBOARDS=1 cargo test --test dashboard` rewrites `dashboards/`.

use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use vllm_grafana::catalog::{self, v, Engine, Features, Version};
use vllm_grafana::dashboard::{self, DatasourceFlavor, PanelQuery};
use vllm_grafana::promql::{self, inspect};

fn dashboards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards")
}

/// One generated dashboard: flavour, file name, panel queries, rendered JSON.
type Generated = (DatasourceFlavor, String, Vec<PanelQuery>, Value);

/// Every flavour's dashboards, built once for all tests.
fn generated() -> &'static [Generated] {
    static ALL: OnceLock<Vec<Generated>> = OnceLock::new();
    ALL.get_or_init(|| {
        DatasourceFlavor::ALL
            .iter()
            .flat_map(|&flavor| {
                dashboard::all(flavor).into_iter().map(move |(name, d)| {
                    let json = serde_json::from_str(&dashboard::render(&d)).expect("rendered JSON");
                    (flavor, name, dashboard::panels_queries(&d), json)
                })
            })
            .collect()
    })
}

/// Every visualisation panel of a dashboard JSON, collapsed rows included.
fn json_panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for item in d["panels"].as_array().into_iter().flatten() {
        if item["type"] == "row" {
            out.extend(item["panels"].as_array().into_iter().flatten());
        } else {
            out.push(item);
        }
    }
    out
}

fn assert_clean(rule: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "[{rule}] {} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

// --- 1. committed files -----------------------------------------------------

#[test]
fn committed_dashboards_are_current() {
    let dir = dashboards_dir();
    for flavor in DatasourceFlavor::ALL {
        if std::env::var_os("UPDATE_DASHBOARDS").is_some() {
            dashboard::write_all(&dir, flavor, &Default::default()).expect("write dashboards");
        }
        if let Err(e) = dashboard::check_all(&dir, flavor, &Default::default()) {
            panic!("{e}\n(or run `UPDATE_DASHBOARDS=1 cargo test --test dashboard`)");
        }
    }
}

// --- 2. Grafana JSON Schemas -------------------------------------------------

mod schema {
    use super::*;
    use jsonschema::Validator;
    use std::collections::HashMap;

    fn load(file: &str) -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/schemas")
            .join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// A validator for one definition of a schema file, or `None` when the
    /// file has no such definition.
    fn definition(file: &str, name: &str) -> Option<Validator> {
        let mut doc = load(file);
        doc["definitions"].get(name)?;
        doc["$ref"] = Value::String(format!("#/definitions/{name}"));
        Some(jsonschema::validator_for(&doc).unwrap_or_else(|e| panic!("{file}: {e}")))
    }

    fn errors(v: &Validator, instance: &Value, at: &str) -> Vec<String> {
        v.iter_errors(instance)
            .map(|e| format!("{at}{}: {e}", e.instance_path()))
            .collect()
    }

    /// A target as Grafana's Prometheus query model: the plugin's query
    /// model is that one plus `live` (streaming), which only targets of the
    /// plugin may carry.
    fn prometheus_part(target: &Value) -> Value {
        let mut t = target.clone();
        if t["datasource"]["type"] == dashboard::PLUGIN_ID {
            if let Some(obj) = t.as_object_mut() {
                obj.remove("live");
            }
        }
        t
    }

    /// Every schema error of a dashboard: the whole document, then each
    /// panel's options and custom field config against its plugin's schema,
    /// and each target against the Prometheus query model.
    pub fn problems(d: &Value) -> Vec<String> {
        let whole = definition("dashboard.jsonschema.json", "Dashboard").expect("Dashboard");
        let query = definition("prometheus.jsonschema.json", "Dataquery").expect("Dataquery");
        let mut plugins: HashMap<String, (Validator, Option<Validator>)> = HashMap::new();
        let mut out = errors(&whole, d, "");
        for p in json_panels(d) {
            let kind = p["type"].as_str().unwrap_or_default();
            let title = p["title"].as_str().unwrap_or_default();
            let (options, custom_schema) = plugins.entry(kind.to_string()).or_insert_with(|| {
                let file = format!("{kind}.jsonschema.json");
                let options = definition(&file, "Options")
                    .unwrap_or_else(|| panic!("no schema for panel type {kind}"));
                (options, definition(&file, "FieldConfig"))
            });
            out.extend(errors(options, &p["options"], &format!("{title}: options")));
            let custom = &p["fieldConfig"]["defaults"]["custom"];
            match custom_schema {
                Some(fc) if !custom.is_null() => {
                    out.extend(errors(fc, custom, &format!("{title}: custom")))
                }
                None if !custom.is_null() => out.push(format!(
                    "{title}: {kind} panels have no custom field config"
                )),
                _ => {}
            }
            for t in p["targets"].as_array().into_iter().flatten() {
                out.extend(errors(
                    &query,
                    &prometheus_part(t),
                    &format!("{title}: target"),
                ));
                if !matches!(t.get("live"), None | Some(Value::Bool(_))) {
                    out.push(format!("{title}: target: live must be true or false"));
                }
            }
        }
        out
    }
}

#[test]
fn dashboards_validate_against_grafana_schemas() {
    for (_, name, _, json) in generated() {
        assert_clean(&format!("schema {name}"), schema::problems(json));
    }
}

/// Every `$name` a query reads is a variable of its dashboard or one of
/// Grafana's built-ins: an undefined one stays literal and matches nothing.
#[test]
fn queries_read_only_defined_variables() {
    let builtins = [
        "__rate_interval",
        "__interval",
        "__range",
        "__range_s",
        "__interval_ms",
    ];
    let mut problems = Vec::new();
    for (_, name, queries, json) in generated() {
        let defined: Vec<&str> = json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str())
            .collect();
        for q in queries {
            let mut rest = q.expr.as_str();
            while let Some(i) = rest.find('$') {
                rest = &rest[i + 1..];
                let var: String = rest
                    .trim_start_matches('{')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                // `$1`: a label_replace back-reference, which Grafana leaves.
                if var.starts_with(|c: char| c.is_ascii_digit()) {
                    continue;
                }
                if !defined.contains(&var.as_str()) && !builtins.contains(&var.as_str()) {
                    problems.push(format!(
                        "{name} \"{}\": ${var} is not defined",
                        q.panel_title
                    ));
                }
            }
        }
    }
    assert_clean("defined-variables", problems);
}

/// The dashboards a deployment generates from the examples (SLO error-budget
/// row, Kubernetes scoping) are valid too.
#[test]
fn configured_dashboards_validate_against_grafana_schemas() {
    for example in [
        "deploy/vllm-grafana.slo.yaml",
        "deploy/vllm-grafana.kubernetes.yaml",
    ] {
        let cfg = vllm_grafana::generator_config::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(example),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let deployment = dashboard::Deployment::of(&cfg.alerts);
        for flavor in DatasourceFlavor::ALL {
            for (name, d) in dashboard::all_for(flavor, &deployment) {
                let json: Value =
                    serde_json::from_str(&dashboard::render(&d)).expect("rendered JSON");
                assert_clean(&format!("schema {example} {name}"), schema::problems(&json));
                for q in dashboard::panels_queries(&d) {
                    inspect::parse(&q.expr)
                        .unwrap_or_else(|e| panic!("{example} {name} {}: {e}", q.panel_title));
                }
            }
        }
    }
}

/// The first panel that is not a row header.
fn first_panel_mut(d: &mut Value) -> &mut Value {
    let items = d["panels"].as_array_mut().expect("panels");
    let i = items
        .iter()
        .position(|p| p["type"] != "row")
        .expect("a panel");
    &mut items[i]
}

#[test]
fn schema_validation_reports_injected_mistakes() {
    let (_, _, _, json) = &generated()[0];
    type Mistake = (&'static str, fn(&mut Value));
    let mistakes: [Mistake; 6] = [
        ("too wide", |p| p["gridPos"]["w"] = 25.into()),
        ("threshold without colour", |p| {
            if let Some(step) =
                p["fieldConfig"]["defaults"]["thresholds"]["steps"][0].as_object_mut()
            {
                step.remove("color");
            }
        }),
        ("unknown option", |p| {
            p["options"]["colourMode"] = "value".into()
        }),
        ("bad query format", |p| {
            p["targets"][0]["format"] = "timeseries".into()
        }),
        ("string datasource", |p| {
            p["datasource"] = "${datasource}".into()
        }),
        // generated()[0] is the Prometheus flavour, which cannot stream.
        ("live on a Prometheus target", |p| {
            p["targets"][0]["live"] = true.into()
        }),
    ];
    for (what, inject) in mistakes {
        let mut bad = json.clone();
        inject(first_panel_mut(&mut bad));
        assert!(!schema::problems(&bad).is_empty(), "not reported: {what}");
    }
}

// --- 3. PromQL parses --------------------------------------------------------

/// The series selector inside `label_values(<selector>, <label>)`.
fn label_values_selector(query: &str) -> Option<&str> {
    let inner = query.strip_prefix("label_values(")?.strip_suffix(')')?;
    Some(inner.rsplit_once(',')?.0)
}

#[test]
fn every_query_parses() {
    let mut problems = Vec::new();
    for (_, name, queries, json) in generated() {
        for q in queries {
            if let Err(e) = inspect::parse(&q.expr) {
                problems.push(format!(
                    "{name} / {} / {}: {e}\n    {}",
                    q.panel_title, q.ref_id, q.expr
                ));
            }
        }
        for var in json["templating"]["list"].as_array().into_iter().flatten() {
            if var["type"] != "query" {
                continue;
            }
            let query = var["query"].as_str().unwrap_or_default();
            match label_values_selector(query).map(inspect::parse) {
                Some(Ok(_)) => {}
                other => problems.push(format!("{name} / variable {}: {other:?}", var["name"])),
            }
        }
    }
    assert_clean("parse", problems);
}

// --- 4. lint rules -----------------------------------------------------------

/// Lint rules over queries and dashboard JSON. Each returns its violations.
mod lint {
    use super::*;
    use promql_parser::parser::Expr;
    use std::time::Duration;
    use vllm_grafana::catalog::{dcgm, Kind, Scope};

    /// Stands in for `$__rate_interval` so its use can be told from a
    /// hand-written window; no query spells this duration itself.
    const RATE_INTERVAL_SENTINEL: Duration = Duration::from_secs(427);

    /// Parses with `$__rate_interval` as the sentinel and every other
    /// variable left in place (`"$job"` is a valid regex and string).
    fn parse(expr: &str) -> Result<Expr, String> {
        promql_parser::parser::parse(&inspect::interpolate(expr, |name| match name {
            "__rate_interval" => Some(format!("{}s", RATE_INTERVAL_SENTINEL.as_secs())),
            "__interval" | "__range" => Some("1h".to_string()),
            "__range_s" => Some("3600".to_string()),
            n if promql::number_vars::ALL.contains(&n) => Some("1".to_string()),
            _ => None,
        }))
    }

    fn each_query(
        queries: &[PanelQuery],
        mut check: impl FnMut(&Expr) -> Vec<String>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for q in queries {
            match parse(&q.expr) {
                Ok(ast) => out.extend(
                    check(&ast)
                        .into_iter()
                        .map(|p| format!("{} / {}: {p}", q.panel_title, q.ref_id)),
                ),
                Err(e) => out.push(format!(
                    "{} / {}: does not parse: {e}",
                    q.panel_title, q.ref_id
                )),
            }
        }
        out
    }

    /// The catalog entry of a selected series name (histogram samples too).
    fn def(name: &str) -> Option<&'static catalog::MetricDef> {
        catalog::lookup(name)
    }

    fn base_name(name: &str) -> String {
        def(name).map_or(name.to_string(), |m| m.name.to_string())
    }

    /// A series that only grows: a counter, or a histogram/summary sample.
    fn is_counter_like(name: &str) -> bool {
        def(name).is_some_and(|m| match m.kind {
            Kind::Counter => true,
            Kind::Histogram | Kind::Summary => name != m.name,
            Kind::Gauge => false,
        })
    }

    /// [target-job-instance] vLLM selectors carry the job and instance
    /// matchers, and model_name/engine where the metric has those labels;
    /// Prometheus' own series carry job.
    pub fn selectors_are_scoped(queries: &[PanelQuery]) -> Vec<String> {
        each_query(queries, |ast| {
            let mut out = Vec::new();
            let selectors = inspect::selectors(ast);
            // The DCGM exporter is a target of its own: its series are
            // scoped by the join to the selected vLLM servers instead.
            let gpu = selectors.iter().any(|s| dcgm::lookup(&s.name).is_some());
            let joined = selectors.iter().any(|s| def(&s.name).is_some());
            if gpu && !joined {
                out.push("reads DCGM series without joining them to vLLM's".to_string());
            }
            for s in selectors {
                if dcgm::lookup(&s.name).is_some() {
                    continue;
                }
                let mut want = vec![("job", "$job")];
                if let Some(m) = def(&s.name) {
                    want.push(("instance", "$instance"));
                    if matches!(m.scope, Scope::Engine | Scope::Model) {
                        want.push(("model_name", "$model_name"));
                    }
                    if matches!(m.scope, Scope::Engine | Scope::CacheConfig) {
                        want.push(("engine", "$engine"));
                    }
                }
                for (label, var) in want {
                    if s.matcher(label) != Some(("=~", var)) {
                        out.push(format!("{} lacks {label}=~\"{var}\"", s.name));
                    }
                }
            }
            out
        })
    }

    /// [target-rate-interval] every range selector uses `$__rate_interval`.
    pub fn rates_use_rate_interval(queries: &[PanelQuery]) -> Vec<String> {
        each_query(queries, |ast| {
            inspect::selectors(ast)
                .into_iter()
                .filter(|s| s.range.is_some_and(|r| r != RATE_INTERVAL_SENTINEL))
                .map(|s| format!("{} has a fixed range window", s.name))
                .collect()
        })
    }

    /// [target-counter-agg] counters and histogram samples appear only as
    /// the range argument of rate/increase/irate, and only they do; a bare
    /// histogram name selects nothing.
    pub fn counters_only_in_rates(queries: &[PanelQuery]) -> Vec<String> {
        each_query(queries, |ast| {
            let mut out = Vec::new();
            for s in inspect::selectors(ast) {
                let in_rate =
                    matches!(s.function, Some("rate" | "increase" | "irate")) && s.range.is_some();
                let counter = is_counter_like(&s.name);
                if counter && !in_rate {
                    out.push(format!("counter {} used outside rate/increase", s.name));
                }
                if !counter && in_rate {
                    out.push(format!("{} is not a counter but is rated", s.name));
                }
                if def(&s.name).is_some_and(|m| m.name == s.name && m.kind == Kind::Histogram) {
                    out.push(format!(
                        "histogram {} selected without _bucket/_sum/_count",
                        s.name
                    ));
                }
            }
            out
        })
    }

    /// [ratio-unguarded] no `/ (x > 0)`: an idle ratio must stay NaN (shown
    /// as "idle"), not disappear.
    pub fn ratios_unguarded(queries: &[PanelQuery]) -> Vec<String> {
        each_query(queries, |ast| {
            let mut out = Vec::new();
            inspect::walk(ast, &mut |e, _| {
                let Expr::Binary(b) = e else { return };
                if b.op.to_string() != "/" {
                    return;
                }
                let mut rhs = &*b.rhs;
                while let Expr::Paren(p) = rhs {
                    rhs = &p.expr;
                }
                if let Expr::Binary(guard) = rhs {
                    if guard.op.is_comparison_operator() {
                        out.push(format!("division guarded by `{}`", guard.op));
                    }
                }
            });
            out
        })
    }

    /// [metric-known] every selected metric is in the catalog, is a series
    /// Prometheus adds, or is recorded by `prometheus/recording.yml`.
    pub fn metrics_known(queries: &[PanelQuery]) -> Vec<String> {
        let recorded: Vec<String> =
            vllm_grafana::alerts::recording::recording_rules(&Default::default())
                .into_iter()
                .map(|(record, _)| record)
                .collect();
        each_query(queries, |ast| {
            inspect::metric_names(ast)
                .into_iter()
                .filter(|n| {
                    def(n).is_none()
                        && dcgm::lookup(n).is_none()
                        && !promql::SCRAPE_SERIES.contains(&n.as_str())
                        && !recorded.contains(n)
                })
                .map(|n| format!("{n} is not in the catalog"))
                .collect()
        })
    }

    /// [rename-paired] a renamed metric is queried as `(new) or (old)`.
    pub fn renames_paired(queries: &[PanelQuery]) -> Vec<String> {
        each_query(queries, |ast| {
            let used: BTreeSet<String> = inspect::metric_names(ast)
                .iter()
                .map(|n| base_name(n))
                .collect();
            let branches: Vec<(BTreeSet<String>, BTreeSet<String>)> = inspect::or_branches(ast)
                .into_iter()
                .map(|(l, r)| {
                    (
                        l.iter().map(|n| base_name(n)).collect(),
                        r.iter().map(|n| base_name(n)).collect(),
                    )
                })
                .collect();
            let mut out = Vec::new();
            for name in &used {
                let Some(other) = promql::counterpart(name) else {
                    continue;
                };
                let (new, old) = if promql::is_successor(name) {
                    (name.as_str(), other)
                } else {
                    (other, name.as_str())
                };
                let paired = branches
                    .iter()
                    .any(|(l, r)| l.contains(new) && r.contains(old) && !l.contains(old));
                if !paired {
                    out.push(format!("{name} is not queried as ({new}) or ({old})"));
                }
            }
            out
        })
    }

    /// [template-datasource] a datasource variable of the flavour's type,
    /// used by every panel, target and query variable.
    pub fn datasource_variable_used(d: &Value, plugin_id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let vars = d["templating"]["list"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let has = vars.iter().any(|v| {
            v["type"] == "datasource" && v["name"] == "datasource" && v["query"] == plugin_id
        });
        if !has {
            out.push(format!("no datasource variable of type {plugin_id}"));
        }
        let expected = serde_json::json!({"type": plugin_id, "uid": "${datasource}"});
        for v in vars.iter().filter(|v| v["type"] == "query") {
            if v["datasource"] != expected {
                out.push(format!("variable {} reads {}", v["name"], v["datasource"]));
            }
        }
        for p in json_panels(d) {
            if p["datasource"] != expected {
                out.push(format!("panel {} reads {}", p["title"], p["datasource"]));
            }
            for t in p["targets"].as_array().into_iter().flatten() {
                if t["datasource"] != expected {
                    out.push(format!(
                        "{} / {} reads {}",
                        p["title"], t["refId"], t["datasource"]
                    ));
                }
            }
        }
        out
    }

    /// [panel-units] [panel-description] every panel has a unit and says
    /// what it shows and what to do.
    pub fn panels_explained(d: &Value) -> Vec<String> {
        let mut out = Vec::new();
        for p in json_panels(d) {
            let title = p["title"].as_str().unwrap_or_default();
            if title.is_empty() {
                out.push("a panel has no title".to_string());
            }
            if p["fieldConfig"]["defaults"]["unit"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
            {
                out.push(format!("{title}: no unit"));
            }
            let text = p["description"].as_str().unwrap_or_default();
            // The metrics line alone is not an explanation.
            let own = text.split("\n\nMetrics:").next().unwrap_or_default();
            if own.len() < 60 {
                out.push(format!("{title}: description too short: {own:?}"));
            }
        }
        out
    }

    /// [layout] unique ids and titles; panels inside the 24 columns and not
    /// overlapping (a collapsed row's panels among themselves, below it).
    pub fn layout(d: &Value) -> Vec<String> {
        #[derive(Clone, Copy)]
        struct Rect {
            id: u64,
            x: u64,
            y: u64,
            w: u64,
            h: u64,
        }
        fn rect(p: &Value) -> Rect {
            let n = |k: &str| p["gridPos"][k].as_u64().unwrap_or(0);
            Rect {
                id: p["id"].as_u64().unwrap_or(0),
                x: n("x"),
                y: n("y"),
                w: n("w"),
                h: n("h"),
            }
        }
        let overlaps = |a: Rect, b: Rect| {
            a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
        };

        let mut out = Vec::new();
        let top: Vec<&Value> = d["panels"].as_array().into_iter().flatten().collect();
        // Top-level items share the grid; each collapsed row's panels share
        // the space it opens when expanded.
        let mut groups: Vec<Vec<Rect>> = vec![top.iter().map(|p| rect(p)).collect()];
        for row in top
            .iter()
            .filter(|p| p["type"] == "row" && p["collapsed"] == true)
        {
            let inner: Vec<Rect> = row["panels"]
                .as_array()
                .into_iter()
                .flatten()
                .map(rect)
                .collect();
            if let Some(r) = inner.iter().find(|r| r.y <= rect(row).y) {
                out.push(format!("panel {} is above its collapsed row", r.id));
            }
            groups.push(inner);
        }
        let ids: Vec<u64> = groups.iter().flatten().map(|r| r.id).collect();
        if ids.contains(&0) || ids.iter().collect::<HashSet<_>>().len() != ids.len() {
            out.push(format!("ids are not unique and positive: {ids:?}"));
        }
        let mut titles = HashSet::new();
        for p in json_panels(d) {
            if !titles.insert(p["title"].to_string()) {
                out.push(format!("title {} used twice", p["title"]));
            }
        }
        for group in &groups {
            for (i, a) in group.iter().enumerate() {
                if a.w == 0 || a.h == 0 || a.x + a.w > 24 {
                    out.push(format!("panel {} does not fit the grid", a.id));
                }
                for b in &group[i + 1..] {
                    if overlaps(*a, *b) {
                        out.push(format!("panels {} and {} overlap", a.id, b.id));
                    }
                }
            }
        }
        out
    }
}

/// A lint rule over queries: its id and its check.
type QueryRule = (&'static str, fn(&[PanelQuery]) -> Vec<String>);

fn query_rules() -> Vec<QueryRule> {
    vec![
        ("target-job-instance", lint::selectors_are_scoped),
        ("target-rate-interval", lint::rates_use_rate_interval),
        ("target-counter-agg", lint::counters_only_in_rates),
        ("ratio-unguarded", lint::ratios_unguarded),
        ("metric-known", lint::metrics_known),
        ("rename-paired", lint::renames_paired),
    ]
}

#[test]
fn queries_follow_the_lint_rules() {
    for (_, name, queries, _) in generated() {
        for (rule, check) in query_rules() {
            assert_clean(&format!("{rule} {name}"), check(queries));
        }
    }
}

#[test]
fn datasource_variable_exists_and_every_target_uses_it() {
    for (flavor, name, _, json) in generated() {
        assert_clean(
            &format!("template-datasource {name}"),
            lint::datasource_variable_used(json, flavor.plugin_id()),
        );
    }
}

#[test]
fn panels_have_units_and_descriptions() {
    for (_, name, _, json) in generated() {
        assert_clean(&format!("panel-units {name}"), lint::panels_explained(json));
    }
}

#[test]
fn ids_are_unique_and_panels_fit_the_grid_without_overlap() {
    for (_, name, _, json) in generated() {
        assert_clean(&format!("layout {name}"), lint::layout(json));
    }
}

#[test]
fn lint_rules_catch_bad_queries_and_panels() {
    let std_sel =
        r#"{job=~"$job", instance=~"$instance", model_name=~"$model_name", engine=~"$engine"}"#;
    let q = |expr: String| PanelQuery {
        panel_title: "bad".to_string(),
        ref_id: "A".to_string(),
        expr,
        instant: false,
        conditional: None,
    };
    let bad: Vec<(&str, PanelQuery)> = vec![
        ("target-job-instance", q("sum(vllm:num_requests_running{job=~\"$job\"})".into())),
        ("target-rate-interval", q(format!("sum(rate(vllm:prompt_tokens_total{std_sel}[5m]))"))),
        ("target-counter-agg", q(format!("sum(vllm:prompt_tokens_total{std_sel})"))),
        ("target-counter-agg", q(format!("rate(vllm:num_requests_running{std_sel}[$__rate_interval])"))),
        (
            "ratio-unguarded",
            q(format!(
                "sum(rate(vllm:prefix_cache_hits_total{std_sel}[$__rate_interval])) / (sum(rate(vllm:prefix_cache_queries_total{std_sel}[$__rate_interval])) > 0)"
            )),
        ),
        ("metric-known", q(format!("sum(vllm:no_such_metric{std_sel})"))),
        ("rename-paired", q(format!("max(vllm:kv_cache_usage_perc{std_sel})"))),
        (
            "rename-paired",
            q(format!("max(vllm:gpu_cache_usage_perc{std_sel}) or max(vllm:kv_cache_usage_perc{std_sel})")),
        ),
    ];
    for (rule, query) in bad {
        let (_, check) = query_rules()
            .into_iter()
            .find(|(r, _)| *r == rule)
            .expect("rule");
        assert!(
            !check(std::slice::from_ref(&query)).is_empty(),
            "[{rule}] missed: {}",
            query.expr
        );
    }

    let (flavor, _, _, json) = &generated()[0];
    let mut no_unit = json.clone();
    no_unit["panels"][1]["fieldConfig"]["defaults"]["unit"] = "".into();
    assert!(!lint::panels_explained(&no_unit).is_empty());
    let mut fixed_uid = json.clone();
    fixed_uid["panels"][1]["targets"][0]["datasource"]["uid"] = "abc123".into();
    assert!(!lint::datasource_variable_used(&fixed_uid, flavor.plugin_id()).is_empty());
    let mut overlapping = json.clone();
    overlapping["panels"][2]["gridPos"] = overlapping["panels"][1]["gridPos"].clone();
    assert!(!lint::layout(&overlapping).is_empty());
}

// --- 5. every panel has data on old and new releases ------------------------

/// A typical deployment: Linux, one API server, traffic seen.
fn usual_features() -> Features {
    Features {
        linux: true,
        traffic: true,
        ..Features::default()
    }
}

/// Sample names `version` exposes with `features` on its default engine.
fn exposed(version: Version, features: Features) -> HashSet<String> {
    let mut names: HashSet<String> =
        catalog::metrics_at(version, Engine::default_for(version), features)
            .flat_map(|m| m.sample_names())
            .chain(promql::SCRAPE_SERIES.iter().map(|s| s.to_string()))
            .collect();
    // What the recording rules make of them (the Fleet dashboard reads those).
    let recorded = vllm_grafana::alerts::recording::records_of(&|n| names.contains(n));
    names.extend(recorded);
    names
}

/// Panels none of whose queries can return data with these metrics.
fn panels_without_data(
    queries: &[PanelQuery],
    names: &HashSet<String>,
    include: impl Fn(&PanelQuery) -> bool,
) -> Vec<String> {
    let mut titles: Vec<&str> = Vec::new();
    let mut answered: HashSet<&str> = HashSet::new();
    for q in queries.iter().filter(|q| include(q)) {
        if !titles.contains(&q.panel_title.as_str()) {
            titles.push(&q.panel_title);
        }
        let ast = inspect::parse(&q.expr).expect("queries parse");
        if inspect::answerable(&ast, &|n| names.contains(n)) {
            answered.insert(&q.panel_title);
        }
    }
    titles
        .into_iter()
        .filter(|t| !answered.contains(t))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_unconditional_panel_has_data_on_old_and_new_releases() {
    for (_, name, queries, _) in generated() {
        for version in [v(0, 7, 0), v(0, 11, 0), v(0, 20, 0), v(0, 33, 0)] {
            let names = exposed(version, usual_features());
            let missing = panels_without_data(queries, &names, |q| q.conditional.is_none());
            assert_clean(&format!("version-proof {name} at vLLM {version}"), missing);
        }
    }
}

/// Sample names `version` exposes on its default engine with every
/// condition met (every connector, switch and endpoint; one API server),
/// beyond what [`Features`] can express.
fn exposed_with_everything(version: Version) -> HashSet<String> {
    let engine = Engine::default_for(version);
    let mut names: HashSet<String> = catalog::METRICS
        .iter()
        .filter(|m| m.exposed_at(version, engine, false))
        .flat_map(|m| m.sample_names())
        .chain(promql::SCRAPE_SERIES.iter().map(|s| s.to_string()))
        // A DCGM exporter beside vLLM, with SM activity in its counters.
        .chain(
            catalog::dcgm::DCGM_METRICS
                .iter()
                .map(|m| m.name.to_string()),
        )
        .collect();
    let recorded = vllm_grafana::alerts::recording::records_of(&|n| names.contains(n));
    names.extend(recorded);
    names
}

#[test]
fn conditional_panels_have_data_when_their_feature_is_on() {
    let names = exposed_with_everything(catalog::LATEST);
    for (_, name, queries, _) in generated() {
        assert_clean(
            &format!("conditional {name}"),
            panels_without_data(queries, &names, |q| q.conditional.is_some()),
        );
        assert!(queries.iter().any(|q| q.conditional.is_some()));
    }
}

/// Base names of the catalog metrics a query selects.
fn families_of(expr: &str) -> BTreeSet<String> {
    let ast = inspect::parse(expr).expect("queries parse");
    inspect::metric_names(&ast)
        .iter()
        .filter_map(|n| catalog::lookup(n))
        .map(|m| m.name.to_string())
        .collect()
}

/// Families of the latest release (V1 engine, whatever they need to be
/// switched on) that no panel of `dashboards` reads, by name. `_created`
/// series are not families of the catalog; an info family (labels, value 1)
/// counts only where a table shows its labels.
fn families_missing_from(dashboards: &[&Value]) -> Vec<String> {
    let mut charted = BTreeSet::new();
    let mut tabled = BTreeSet::new();
    for json in dashboards {
        for p in json_panels(json) {
            for t in p["targets"].as_array().into_iter().flatten() {
                let found = families_of(t["expr"].as_str().unwrap_or_default());
                if p["type"] == "table" {
                    tabled.extend(found.iter().cloned());
                }
                charted.extend(found);
            }
        }
    }
    catalog::METRICS
        .iter()
        .filter(|m| m.exposed_at(catalog::LATEST, Engine::V1, false))
        .filter_map(|m| {
            let info = m.unit == catalog::Unit::Info;
            match (info, tabled.contains(m.name), charted.contains(m.name)) {
                (true, false, _) => Some(format!("{} (info: needs a table)", m.name)),
                (false, _, false) => Some(m.name.to_string()),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn every_family_of_the_latest_release_is_on_a_panel() {
    let all: Vec<&Value> = generated().iter().map(|(_, _, _, json)| json).collect();
    assert_clean(
        &format!("coverage of vLLM {}", catalog::LATEST),
        families_missing_from(&all),
    );
}

#[test]
fn coverage_check_names_what_is_missing() {
    let q = "sum(vllm:num_requests_running{job=~\"$job\"})";
    assert_eq!(
        families_of(q).into_iter().collect::<Vec<_>>(),
        [catalog::names::NUM_REQUESTS_RUNNING]
    );
    let h = "sum(rate(vllm:e2e_request_latency_seconds_bucket[1m]))";
    assert!(families_of(h).contains(catalog::names::E2E_REQUEST_LATENCY));
    // The Fleet dashboard alone (recorded rates, raw gauges) misses most
    // families, info ones as such.
    let (_, _, _, fleet) = generated()
        .iter()
        .find(|(_, name, _, _)| name == "vllm-fleet.json")
        .expect("the Fleet dashboard");
    let missing = families_missing_from(&[fleet]);
    assert!(missing.contains(&catalog::names::NIXL_XFER_TIME.to_string()));
    assert!(missing.contains(&format!(
        "{} (info: needs a table)",
        catalog::names::CACHE_CONFIG_INFO
    )));
    assert!(!missing.contains(&catalog::names::NUM_REQUESTS_RUNNING.to_string()));
}

#[test]
fn dashboards_link_to_each_other_keeping_time_and_variables() {
    for flavor in DatasourceFlavor::ALL {
        let set = dashboard::all(flavor);
        let uids: BTreeSet<String> = set.iter().map(|(_, d)| d.uid.clone()).collect();
        for (name, d) in &set {
            let json: Value = serde_json::from_str(&dashboard::render(d)).expect("json");
            let links = json["links"].as_array().expect("links");
            assert_eq!(links.len(), set.len() - 1, "{name}");
            for link in links {
                assert_eq!(link["keepTime"], true, "{name}");
                assert_eq!(link["includeVars"], true, "{name}");
                let url = link["url"].as_str().unwrap_or_default();
                let target = url.strip_prefix("/d/").unwrap_or_default();
                assert!(uids.contains(target) && target != d.uid, "{name}: {url}");
            }
        }
    }
}

#[test]
fn version_check_catches_a_panel_on_a_removed_name_only() {
    let q = PanelQuery {
        panel_title: "old cache gauge".to_string(),
        ref_id: "A".to_string(),
        expr: r#"max(vllm:gpu_cache_usage_perc{job=~"$job"})"#.to_string(),
        instant: false,
        conditional: None,
    };
    let at = |version| {
        panels_without_data(
            std::slice::from_ref(&q),
            &exposed(version, usual_features()),
            |_| true,
        )
    };
    assert!(at(v(0, 10, 0)).is_empty());
    assert_eq!(at(v(0, 20, 0)), vec!["old cache gauge".to_string()]);
}

// --- the SLO variables select real buckets ---------------------------------

#[test]
fn slo_choices_are_bucket_bounds_of_every_release() {
    let histograms = [
        (
            catalog::names::TIME_TO_FIRST_TOKEN,
            dashboard::TTFT_SLO_CHOICES,
        ),
        (
            catalog::names::INTER_TOKEN_LATENCY,
            dashboard::ITL_SLO_CHOICES,
        ),
        (
            catalog::names::TIME_PER_OUTPUT_TOKEN,
            dashboard::ITL_SLO_CHOICES,
        ),
    ];
    for (name, choices) in histograms {
        let m = catalog::lookup(name).expect("in catalog");
        let buckets = m.buckets.expect("a histogram");
        for &version in catalog::RELEASES {
            let exposed =
                m.exposed_at(version, Engine::V1, true) || m.exposed_at(version, Engine::V0, true);
            if !exposed {
                continue;
            }
            let bounds: Vec<String> = buckets
                .bounds(version, 32768)
                .into_iter()
                .map(vllm_grafana::simulator::go_float)
                .collect();
            for (_, value) in choices {
                assert!(
                    bounds.iter().any(|b| b == value),
                    "{name} at {version} has no bucket le=\"{value}\": {bounds:?}"
                );
            }
        }
    }
    assert!(dashboard::TTFT_SLO_CHOICES
        .iter()
        .any(|(_, v)| *v == dashboard::TTFT_SLO_DEFAULT));
    assert!(dashboard::ITL_SLO_CHOICES
        .iter()
        .any(|(_, v)| *v == dashboard::ITL_SLO_DEFAULT));
}

#[test]
fn slo_panels_select_the_variable_bucket() {
    let mut seen = BTreeSet::new();
    for q in generated().iter().flat_map(|(_, _, queries, _)| queries) {
        let ast = inspect::parse(
            &q.expr
                .replace("$ttft_slo", "TTFT")
                .replace("$itl_slo", "ITL"),
        )
        .expect("parses");
        for s in inspect::selectors(&ast) {
            if let Some(("=", le)) = s.matcher("le") {
                seen.insert((s.name.clone(), le.to_string()));
            }
        }
    }
    let expect: BTreeSet<(String, String)> = [
        (catalog::names::TIME_TO_FIRST_TOKEN, "TTFT"),
        (catalog::names::INTER_TOKEN_LATENCY, "ITL"),
        (catalog::names::TIME_PER_OUTPUT_TOKEN, "ITL"),
    ]
    .iter()
    .map(|(a, b)| (format!("{a}_bucket"), b.to_string()))
    .collect();
    assert_eq!(seen, expect);
}

#[test]
fn rows_follow_the_plan() {
    let d = dashboard::overview(DatasourceFlavor::Prometheus);
    let json: Value = serde_json::from_str(&dashboard::render(&d)).expect("json");
    let rows: Vec<&str> = json["panels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["type"] == "row")
        .map(|p| p["title"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        rows,
        [
            "Overview",
            "Latency",
            "Throughput & tokens",
            "Cache",
            "Requests & errors",
            "Request parameters",
            "Scheduler",
            "GPU work estimates",
            "Process",
            "Speculative decoding & LoRA",
            "Other optional features"
        ]
    );
    let kinds: BTreeSet<&str> = json_panels(&json)
        .iter()
        .map(|p| p["type"].as_str().unwrap_or_default())
        .collect();
    for kind in [
        "timeseries",
        "stat",
        "gauge",
        "table",
        "heatmap",
        "bargauge",
    ] {
        assert!(kinds.contains(kind), "no {kind} panel");
    }
    assert_eq!(json["schemaVersion"], 39);
}
