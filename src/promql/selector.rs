//! Series selectors scoped by the dashboard variables.

use crate::catalog::{self, Scope};
use std::fmt;

/// Label matching operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher, e.g. `finished_reason="error"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.label, self.op.as_str())?;
        for c in self.value.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

/// A metric name with label matchers: `name{a="b", ...}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    name: String,
    matchers: Vec<Matcher>,
}

impl Selector {
    /// A bare selector without matchers.
    pub fn bare(name: &str) -> Selector {
        Selector {
            name: name.to_string(),
            matchers: Vec::new(),
        }
    }

    /// The standard dashboard selector of a catalog metric: `job` and
    /// `instance`, plus `model_name` and `engine` when the metric carries
    /// them (see [`Scope`]).
    ///
    /// `engine=~"$engine"` is safe on releases without the label (V0, and V1
    /// before 0.8.3): the variable's All value is `.*`, which also matches a
    /// missing label. Names outside the catalog get only `job` and `instance`.
    pub fn standard(name: &str) -> Selector {
        let scope = catalog::lookup(name).map_or(Scope::Own, |m| m.scope);
        let mut sel = Selector::bare(name)
            .re(super::labels::JOB, super::vars::JOB)
            .re(super::labels::INSTANCE, super::vars::INSTANCE);
        if matches!(scope, Scope::Engine | Scope::Model) {
            sel = sel.re(super::labels::MODEL_NAME, super::vars::MODEL_NAME);
        }
        if matches!(scope, Scope::Engine | Scope::CacheConfig) {
            sel = sel.re(super::labels::ENGINE, super::vars::ENGINE);
        }
        sel
    }

    /// A per-target series that Prometheus adds (`up`): scoped by `job` only,
    /// so a target that vanished from the instance list is still seen.
    pub fn scrape(name: &str) -> Selector {
        Selector::bare(name).re(super::labels::JOB, super::vars::JOB)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn matchers(&self) -> &[Matcher] {
        &self.matchers
    }

    fn with(mut self, label: &str, op: MatchOp, value: &str) -> Selector {
        self.matchers.push(Matcher {
            label: label.to_string(),
            op,
            value: value.to_string(),
        });
        self
    }

    /// Adds `label="value"`.
    pub fn eq(self, label: &str, value: &str) -> Selector {
        self.with(label, MatchOp::Equal, value)
    }

    /// Adds `label!="value"`.
    pub fn ne(self, label: &str, value: &str) -> Selector {
        self.with(label, MatchOp::NotEqual, value)
    }

    /// Adds `label=~"regex"`.
    pub fn re(self, label: &str, regex: &str) -> Selector {
        self.with(label, MatchOp::Regex, regex)
    }

    fn suffixed(&self, suffix: &str) -> Selector {
        Selector {
            name: format!("{}{suffix}", self.name),
            matchers: self.matchers.clone(),
        }
    }

    /// The `_bucket` series of a histogram selector.
    pub fn bucket(&self) -> Selector {
        self.suffixed("_bucket")
    }

    /// The `_sum` series of a histogram or summary selector.
    pub fn sum(&self) -> Selector {
        self.suffixed("_sum")
    }

    /// The `_count` series of a histogram or summary selector.
    pub fn count(&self) -> Selector {
        self.suffixed("_count")
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.matchers.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{m}")?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::names;

    #[test]
    fn engine_metrics_get_all_four_variables() {
        assert_eq!(
            Selector::standard(names::NUM_REQUESTS_RUNNING).to_string(),
            r#"vllm:num_requests_running{job=~"$job", instance=~"$instance", model_name=~"$model_name", engine=~"$engine"}"#
        );
    }

    #[test]
    fn process_metrics_get_only_target_labels() {
        assert_eq!(
            Selector::standard(names::PROCESS_OPEN_FDS).to_string(),
            r#"process_open_fds{job=~"$job", instance=~"$instance"}"#
        );
        assert_eq!(
            Selector::scrape(names::UP).to_string(),
            r#"up{job=~"$job"}"#
        );
    }

    #[test]
    fn histogram_suffixes_keep_matchers_and_values_are_escaped() {
        let sel = Selector::standard(names::HTTP_REQUESTS).eq("status", "5\"xx");
        assert_eq!(
            sel.to_string(),
            r#"http_requests_total{job=~"$job", instance=~"$instance", status="5\"xx"}"#
        );
        let ttft = Selector::standard(names::TIME_TO_FIRST_TOKEN).bucket();
        assert!(ttft
            .to_string()
            .starts_with("vllm:time_to_first_token_seconds_bucket{job=~"));
    }
}
