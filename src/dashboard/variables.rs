//! Dashboard variables: the datasource, the chained label filters, and the
//! SLO thresholds.

use super::model::{DataSourceRef, OptionValue, Variable, VariableKind, VariableOption};
use crate::catalog::names;
use crate::promql::{labels, vars, Selector};

/// Variable names.
pub const DATASOURCE: &str = "datasource";
pub const TTFT_SLO: &str = "ttft_slo";
pub const ITL_SLO: &str = "itl_slo";

/// The metric whose labels feed the filters: every vLLM release has it.
const LABEL_SOURCE: &str = names::NUM_REQUESTS_RUNNING;

/// Time-to-first-token SLO choices `(text, value)`. Values are `le` bounds
/// of `vllm:time_to_first_token_seconds` in every release, spelt as vLLM
/// prints them, so `le="$ttft_slo"` selects a real bucket.
pub const TTFT_SLO_CHOICES: &[(&str, &str)] = &[
    ("250 ms", "0.25"),
    ("500 ms", "0.5"),
    ("1 s", "1.0"),
    ("2.5 s", "2.5"),
    ("5 s", "5.0"),
];
pub const TTFT_SLO_DEFAULT: &str = "1.0";

/// Inter-token latency SLO choices: `le` bounds of the inter-token latency
/// histogram (and of its old name) in every release.
pub const ITL_SLO_CHOICES: &[(&str, &str)] = &[
    ("25 ms", "0.025"),
    ("50 ms", "0.05"),
    ("100 ms", "0.1"),
    ("200 ms", "0.2"),
];
pub const ITL_SLO_DEFAULT: &str = "0.1";

/// The price of one GPU-hour and the GPUs of a vLLM server where no DCGM
/// exporter counts them (the GPUs & cost dashboard).
pub use crate::promql::number_vars::{GPUS_PER_INSTANCE, GPU_HOUR_COST};

/// The ad-hoc filter variable's name.
pub const FILTERS: &str = "filters";

pub(super) fn variables(datasource_type: &str) -> Vec<Variable> {
    let mut list = standard(datasource_type);
    // Grafana's Prometheus datasource applies ad-hoc filters to every query
    // itself; the plugin's datasource does not take them.
    if datasource_type == super::PROMETHEUS_ID {
        list.push(Variable {
            kind: VariableKind::Adhoc,
            name: FILTERS.to_string(),
            label: "Filters".to_string(),
            description: "Any label filter (e.g. namespace, pod, cluster), added to every query of the dashboard.".to_string(),
            datasource: Some(DataSourceRef {
                kind: datasource_type.to_string(),
                uid: format!("${{{DATASOURCE}}}"),
            }),
            query: String::new(),
            definition: None,
            refresh: 0,
            regex: String::new(),
            sort: 0,
            multi: false,
            include_all: false,
            all_value: None,
            hide: 0,
            current: None,
            options: Vec::new(),
        });
    }
    list
}

fn standard(datasource_type: &str) -> Vec<Variable> {
    let ds = DataSourceRef {
        kind: datasource_type.to_string(),
        uid: format!("${{{DATASOURCE}}}"),
    };
    vec![
        Variable {
            kind: VariableKind::Datasource,
            name: DATASOURCE.to_string(),
            label: "Data source".to_string(),
            description: "Where the vLLM metrics are read from.".to_string(),
            datasource: None,
            query: datasource_type.to_string(),
            definition: None,
            refresh: 1,
            regex: String::new(),
            sort: 0,
            multi: false,
            include_all: false,
            all_value: None,
            hide: 0,
            current: None,
            options: Vec::new(),
        },
        // job and instance expand "All" to the listed values, not `.*`: the
        // unreachable-target panel reads `up`, which every scrape target of
        // Prometheus has, and must stay on the vLLM jobs.
        filter(
            &ds,
            labels::JOB,
            "Job",
            "Prometheus scrape jobs that expose vLLM metrics.",
            Selector::bare(LABEL_SOURCE),
            None,
        ),
        filter(
            &ds,
            labels::INSTANCE,
            "Instance",
            "vLLM API servers (scrape targets) of the selected jobs.",
            Selector::bare(LABEL_SOURCE).re(labels::JOB, vars::JOB),
            None,
        ),
        // "All" is `.*`, which also matches series without the label: the
        // engine label is absent on V0 and before 0.8.3.
        filter(
            &ds,
            labels::MODEL_NAME,
            "Model",
            "Served model names (--served-model-name).",
            Selector::bare(LABEL_SOURCE)
                .re(labels::JOB, vars::JOB)
                .re(labels::INSTANCE, vars::INSTANCE),
            Some(".*"),
        ),
        filter(
            &ds,
            labels::ENGINE,
            "Engine",
            "Data-parallel engine index (vLLM 0.8.3 and later on the V1 engine). Empty on older releases, where All still matches everything.",
            Selector::bare(LABEL_SOURCE)
                .re(labels::JOB, vars::JOB)
                .re(labels::INSTANCE, vars::INSTANCE)
                .re(labels::MODEL_NAME, vars::MODEL_NAME),
            Some(".*"),
        ),
        custom(
            TTFT_SLO,
            "TTFT SLO",
            "Time-to-first-token target for the SLO panels; each choice is a histogram bucket bound.",
            TTFT_SLO_CHOICES,
            TTFT_SLO_DEFAULT,
        ),
        custom(
            ITL_SLO,
            "ITL SLO",
            "Inter-token latency target for the SLO panels; each choice is a histogram bucket bound.",
            ITL_SLO_CHOICES,
            ITL_SLO_DEFAULT,
        ),
    ]
}

/// What Grafana substitutes for variable `name` on a freshly opened
/// dashboard: "All" (`.*`) for the label filters, the SLO defaults, and
/// [`crate::promql::inspect::sample_value`] for the built-ins.
pub fn default_value(name: &str) -> Option<String> {
    match name {
        TTFT_SLO => Some(TTFT_SLO_DEFAULT.to_string()),
        ITL_SLO => Some(ITL_SLO_DEFAULT.to_string()),
        _ => crate::promql::inspect::sample_value(name),
    }
}

/// A number typed on the dashboard, starting at `default`.
pub(super) fn textbox(name: &str, display: &str, description: &str, default: &str) -> Variable {
    let value = VariableOption {
        selected: true,
        text: OptionValue::One(default.to_string()),
        value: OptionValue::One(default.to_string()),
    };
    Variable {
        kind: VariableKind::Textbox,
        name: name.to_string(),
        label: display.to_string(),
        description: description.to_string(),
        datasource: None,
        query: default.to_string(),
        definition: None,
        refresh: 0,
        regex: String::new(),
        sort: 0,
        multi: false,
        include_all: false,
        all_value: None,
        hide: 0,
        current: Some(value.clone()),
        options: vec![value],
    }
}

/// A multi-value label filter with "All" selected, refreshed with the time range.
fn filter(
    ds: &DataSourceRef,
    label: &str,
    display: &str,
    description: &str,
    source: Selector,
    all_value: Option<&str>,
) -> Variable {
    let query = format!("label_values({source}, {label})");
    Variable {
        kind: VariableKind::Query,
        name: label.to_string(),
        label: display.to_string(),
        description: description.to_string(),
        datasource: Some(ds.clone()),
        query: query.clone(),
        definition: Some(query),
        refresh: 2,
        regex: String::new(),
        sort: 1,
        multi: true,
        include_all: true,
        all_value: all_value.map(str::to_string),
        hide: 0,
        current: Some(VariableOption {
            selected: true,
            text: OptionValue::Many(vec!["All".to_string()]),
            value: OptionValue::Many(vec!["$__all".to_string()]),
        }),
        options: Vec::new(),
    }
}

fn custom(
    name: &str,
    display: &str,
    description: &str,
    choices: &[(&str, &str)],
    default: &str,
) -> Variable {
    let option = |text: &str, value: &str| VariableOption {
        selected: value == default,
        text: OptionValue::One(text.to_string()),
        value: OptionValue::One(value.to_string()),
    };
    let current = choices
        .iter()
        .find(|(_, v)| *v == default)
        .map(|(t, v)| option(t, v));
    Variable {
        kind: VariableKind::Custom,
        name: name.to_string(),
        label: display.to_string(),
        description: description.to_string(),
        datasource: None,
        query: choices
            .iter()
            .map(|(t, v)| format!("{t} : {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        definition: None,
        refresh: 0,
        regex: String::new(),
        sort: 0,
        multi: false,
        include_all: false,
        all_value: None,
        hide: 0,
        current,
        options: choices.iter().map(|(t, v)| option(t, v)).collect(),
    }
}
