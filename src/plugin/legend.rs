//! Series names from `legendFormat`, resolved as Grafana's Prometheus
//! datasource does: `{{label}}` templates, `__auto`, and the
//! `name{label="value", ...}` default.

use super::backend::Labels;

/// Grafana's marker for "let the panel name the series from its labels".
pub const AUTO: &str = "__auto";

/// The display name of a series, or "" when Grafana should derive it from
/// the labels itself (`__auto`).
pub fn series_name(legend_format: &str, labels: &Labels, expr: &str) -> String {
    let name = if legend_format == AUTO {
        if labels.is_empty() {
            metric_name_from_labels(labels)
        } else {
            String::new()
        }
    } else if legend_format.is_empty() {
        metric_name_from_labels(labels)
    } else {
        apply_template(legend_format, labels)
    };
    // A series without any label would be called "{}": use the query instead.
    if name == "{}" {
        expr.to_string()
    } else {
        name
    }
}

/// Replaces each `{{ label }}` with the label's value ("" when missing).
pub fn apply_template(template: &str, labels: &Labels) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        // Non-greedy: the first `}}` that leaves at least one character inside.
        let close = after
            .char_indices()
            .skip(1)
            .map(|(i, _)| i)
            .chain(std::iter::once(after.len()))
            .find(|&i| after[i..].starts_with("}}"));
        match close {
            Some(close) if !after[..close].contains('\n') => {
                out.push_str(&rest[..open]);
                let label = after[..close].trim();
                if let Some(value) = labels.get(label) {
                    out.push_str(value);
                }
                rest = &after[close + 2..];
            }
            _ => {
                out.push_str(&rest[..open + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `name{a="1", b="2"}` with labels sorted and Go-quoted, as Prometheus'
/// Go client prints a metric; `{}` when there are no labels at all.
pub fn metric_name_from_labels(labels: &Labels) -> String {
    let name = labels.get("__name__");
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    match (name, rest.is_empty()) {
        (Some(name), true) => name.clone(),
        (None, true) => "{}".to_string(),
        (name, false) => format!(
            "{}{{{}}}",
            name.map(String::as_str).unwrap_or(""),
            rest.join(", ")
        ),
    }
}

/// Go's `%q` for the strings labels hold.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn templates_replace_labels_and_blank_missing_ones() {
        let l = labels(&[("instance", "a:8000"), ("engine", "0")]);
        assert_eq!(apply_template("{{instance}} {{ engine }}", &l), "a:8000 0");
        assert_eq!(apply_template("{{missing}}x", &l), "x");
        assert_eq!(apply_template("p95 {{instance", &l), "p95 {{instance");
        assert_eq!(apply_template("{{}}}", &l), "");
        assert_eq!(apply_template("no template", &l), "no template");
    }

    #[test]
    fn default_and_auto_names_follow_grafana() {
        let l = labels(&[("__name__", "up"), ("job", "vllm"), ("instance", "a\"b")]);
        assert_eq!(
            series_name("", &l, "up"),
            r#"up{instance="a\"b", job="vllm"}"#
        );
        assert_eq!(series_name(AUTO, &l, "up"), "");
        assert_eq!(series_name("{{job}}", &l, "up"), "vllm");
        let none = Labels::new();
        assert_eq!(series_name("", &none, "sum(up)"), "sum(up)");
        assert_eq!(series_name(AUTO, &none, "sum(up)"), "sum(up)");
        let only_name = labels(&[("__name__", "up")]);
        assert_eq!(series_name("", &only_name, "up"), "up");
        let no_name = labels(&[("job", "x")]);
        assert_eq!(series_name("", &no_name, "e"), r#"{job="x"}"#);
    }
}
