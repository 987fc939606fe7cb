//! Re-scoping generated PromQL for a deployment: extra label matchers on
//! every series selector (e.g. `namespace="inference"`) and another label in
//! the role of `instance` (e.g. `pod` under the Prometheus Operator).
//!
//! The builders write the default scope; [`Scoping::expr`] rewrites their
//! text token by token, so every panel, variable and rule is covered without
//! threading the scope through each builder. Grafana variables (`$x`,
//! `${x}`) and string literals pass through untouched.

use super::labels;
use super::Matcher;

/// How generated queries are scoped. The default changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scoping {
    /// Added to every series selector.
    pub extra: Vec<Matcher>,
    /// The label identifying one vLLM server (`instance` by default).
    pub instance_label: String,
}

impl Default for Scoping {
    fn default() -> Self {
        Scoping {
            extra: Vec::new(),
            instance_label: labels::INSTANCE.to_string(),
        }
    }
}

/// Where an identifier stands.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ctx {
    /// `{...}` of a selector: identifiers are label names.
    Matchers,
    /// `by (...)`, `on (...)` and the like: identifiers are label names.
    Labels,
    /// A call or a parenthesised expression; `label_values` counts its
    /// arguments, since its second one is a label name.
    Paren { label_values: bool, arg: usize },
    /// `[5m]`, `[1h:1m]`: durations only.
    Range,
}

const LABEL_LIST_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Words that are not series names where an expression may stand.
const KEYWORDS: &[&str] = &[
    "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "Inf", "NaN",
];

impl Scoping {
    pub fn is_default(&self) -> bool {
        *self == Scoping::default()
    }

    fn rename(&self, label: &str) -> String {
        if label == labels::INSTANCE {
            self.instance_label.clone()
        } else {
            label.to_string()
        }
    }

    /// The text to insert into a selector's braces.
    fn extra_matchers(&self) -> String {
        self.extra
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `expr` with the extra matchers on every selector and the instance
    /// label renamed in matchers, grouping clauses and `label_values`.
    pub fn expr(&self, expr: &str) -> String {
        if self.is_default() {
            return expr.to_string();
        }
        let extra = self.extra_matchers();
        let chars: Vec<char> = expr.chars().collect();
        let mut out = String::with_capacity(expr.len() + extra.len() * 4);
        let mut stack: Vec<Ctx> = Vec::new();
        // The next `(` opens a label list / a `label_values` call.
        let mut pending_labels = false;
        let mut pending_label_values = false;
        let mut i = 0;
        let next_significant = |from: usize| chars[from..].iter().find(|c| !c.is_whitespace());
        while i < chars.len() {
            let c = chars[i];
            match c {
                '"' | '\'' | '`' => {
                    let start = i;
                    i += 1;
                    while i < chars.len() && chars[i] != c {
                        if chars[i] == '\\' && c != '`' {
                            i += 1;
                        }
                        i += 1;
                    }
                    i = (i + 1).min(chars.len());
                    out.extend(&chars[start..i]);
                    continue;
                }
                '$' => {
                    // A Grafana variable: `$name` or `${name...}`.
                    let start = i;
                    i += 1;
                    if chars.get(i) == Some(&'{') {
                        while i < chars.len() && chars[i] != '}' {
                            i += 1;
                        }
                        i = (i + 1).min(chars.len());
                    } else {
                        while i < chars.len() && is_ident_char(chars[i]) {
                            i += 1;
                        }
                    }
                    out.extend(&chars[start..i]);
                    continue;
                }
                c if c.is_ascii_digit()
                    || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
                {
                    // Numbers and durations (`5m`, `1e-3`, `0x1f`).
                    let start = i;
                    while i < chars.len()
                        && (chars[i].is_ascii_alphanumeric()
                            || chars[i] == '.'
                            || (matches!(chars[i], '+' | '-') && matches!(chars[i - 1], 'e' | 'E')))
                    {
                        i += 1;
                    }
                    out.extend(&chars[start..i]);
                    continue;
                }
                c if is_ident_start(c) => {
                    let start = i;
                    while i < chars.len() && is_ident_char(chars[i]) {
                        i += 1;
                    }
                    let word: String = chars[start..i].iter().collect();
                    let after = next_significant(i).copied();
                    // `sum by (x) (...)`: an aggregation, not a series.
                    let rest: String = chars[i..].iter().collect();
                    let rest = rest.trim_start();
                    let before_grouping = ["by", "without"].iter().any(|k| {
                        rest.strip_prefix(k)
                            .is_some_and(|r| r.trim_start().starts_with('('))
                    });
                    let label_position = match stack.last() {
                        Some(Ctx::Matchers) | Some(Ctx::Labels) => true,
                        Some(Ctx::Paren {
                            label_values: true,
                            arg,
                        }) => *arg >= 1,
                        _ => false,
                    };
                    if label_position {
                        out.push_str(&self.rename(&word));
                    } else if LABEL_LIST_KEYWORDS.contains(&word.as_str()) {
                        pending_labels = true;
                        out.push_str(&word);
                    } else if after == Some('(') || before_grouping {
                        pending_label_values = word == "label_values";
                        out.push_str(&word);
                    } else if after == Some('{')
                        || KEYWORDS.contains(&word.as_str())
                        || extra.is_empty()
                        || matches!(stack.last(), Some(Ctx::Range))
                    {
                        out.push_str(&word);
                    } else {
                        // A bare series name: give it braces.
                        out.push_str(&word);
                        out.push('{');
                        out.push_str(&extra);
                        out.push('}');
                    }
                    continue;
                }
                '{' => {
                    stack.push(Ctx::Matchers);
                    out.push('{');
                    if !extra.is_empty() {
                        out.push_str(&extra);
                        if next_significant(i + 1) != Some(&'}') {
                            out.push_str(", ");
                        }
                    }
                }
                '(' => {
                    stack.push(if pending_labels {
                        Ctx::Labels
                    } else {
                        Ctx::Paren {
                            label_values: pending_label_values,
                            arg: 0,
                        }
                    });
                    pending_labels = false;
                    pending_label_values = false;
                    out.push('(');
                }
                '[' => {
                    stack.push(Ctx::Range);
                    out.push('[');
                }
                '}' | ')' | ']' => {
                    stack.pop();
                    out.push(c);
                }
                ',' => {
                    if let Some(Ctx::Paren { arg, .. }) = stack.last_mut() {
                        *arg += 1;
                    }
                    out.push(',');
                }
                '#' => {
                    while i < chars.len() && chars[i] != '\n' {
                        out.push(chars[i]);
                        i += 1;
                    }
                    continue;
                }
                c => out.push(c),
            }
            i += 1;
        }
        out
    }

    /// A legend or template text with `{{instance}}` and `$labels.instance`
    /// following the renamed label.
    pub fn text(&self, text: &str) -> String {
        if self.instance_label == labels::INSTANCE {
            return text.to_string();
        }
        let to = &self.instance_label;
        text.replace("{{instance}}", &format!("{{{{{to}}}}}"))
            .replace("{{ instance }}", &format!("{{{{ {to} }}}}"))
            .replace("$labels.instance", &format!("$labels.{to}"))
    }

    /// A label name as the scoped queries return it.
    pub fn label(&self, label: &str) -> String {
        self.rename(label)
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::MatchOp;

    fn k8s() -> Scoping {
        Scoping {
            extra: vec![Matcher {
                label: "namespace".into(),
                op: MatchOp::Equal,
                value: "inference".into(),
            }],
            instance_label: "pod".into(),
        }
    }

    #[test]
    fn default_changes_nothing() {
        let e = r#"sum by (instance) (rate(x_total{job=~"$job"}[5m]))"#;
        assert_eq!(Scoping::default().expr(e), e);
    }

    #[test]
    fn matchers_are_added_and_instance_renamed_everywhere_it_is_a_label() {
        let s = k8s();
        assert_eq!(
            s.expr(r#"sum by (instance, engine) (rate(vllm:x_total{job=~"$job", instance=~"$instance"}[$__rate_interval]))"#),
            r#"sum by (pod, engine) (rate(vllm:x_total{namespace="inference", job=~"$job", pod=~"$instance"}[$__rate_interval]))"#
        );
        assert_eq!(
            s.expr(r#"a{} / on (instance) group_left (model_name) b offset 5m"#),
            r#"a{namespace="inference"} / on (pod) group_left (model_name) b{namespace="inference"} offset 5m"#
        );
        assert_eq!(
            s.expr(r#"label_values(vllm:num_requests_running{job=~"$job"}, instance)"#),
            r#"label_values(vllm:num_requests_running{namespace="inference", job=~"$job"}, pod)"#
        );
    }

    #[test]
    fn strings_variables_numbers_and_functions_pass_through() {
        let s = k8s();
        let e = r#"histogram_quantile(0.95, sum by (le) (rate(h_bucket{le="instance", x=~"${instance:regex}"}[1m:30s]))) > bool 1e-3 or vector(0)"#;
        assert_eq!(
            s.expr(e),
            r#"histogram_quantile(0.95, sum by (le) (rate(h_bucket{namespace="inference", le="instance", x=~"${instance:regex}"}[1m:30s]))) > bool 1e-3 or vector(0)"#
        );
    }

    #[test]
    fn legends_and_templates_follow_the_label() {
        let s = k8s();
        assert_eq!(s.text("{{instance}} {{engine}}"), "{{pod}} {{engine}}");
        assert_eq!(s.text("on {{ $labels.instance }}"), "on {{ $labels.pod }}");
    }
}
