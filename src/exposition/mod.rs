//! Parser for the Prometheus text exposition format 0.0.4, as vLLM serves it
//! on `/metrics`.
//!
//! Two layers:
//! - [`Parser`], a zero-copy pull parser yielding one [`Entry`] per line
//!   without allocating (the scraper's hot path);
//! - [`parse`], which groups entries into [`Family`]s following the rules of
//!   Python's `prometheus_client.parser.text_string_to_metric_families`
//!   (checked against it by `tests/parser_oracle.rs`).
//!
//! Differences from prometheus_client, nearly all on input that it accepts
//! and the Go parser (what Prometheus itself runs) rejects:
//! - metric names are validated also when labels follow (`123{a="b"} 1`);
//!   quoted UTF-8 names and `{__name__="x"}` are not supported;
//! - label names follow `[a-zA-Z_][a-zA-Z0-9_]*` (Python also takes `:`);
//!   label values allow only the `\\`, `\"` and `\n` escapes (Python keeps
//!   other backslash pairs verbatim); a leading or doubled comma (`{,a="1"}`,
//!   `{,}`, `{a="1", ,b="2"}`) is an error;
//! - a sample line holds a value and at most a timestamp (Python takes the
//!   first and the last of any number of tokens); timestamps are integer
//!   milliseconds (Python also takes `1.5e3`);
//! - `-0` stays `-0.0` (Python reads it as the integer 0); digits must be
//!   ASCII (Python's `float()` takes any Unicode digit);
//! - only space and tab separate tokens inside a line (Python also splits
//!   comment lines on `\r`, `\v`, `\f` and trims label-set terms of any
//!   Unicode whitespace); whole lines are trimmed exactly like Python's
//!   `str.strip()`;
//! - `# TYPE` takes only the five 0.0.4 types (Python also `info`,
//!   `stateset`, `gaugehistogram`, `unknown`); a second `# TYPE` for the open
//!   family is an error, skipped in lenient mode (Python lets the last win);
//! - `# HELP` without a name is an error (Python silently closes the open
//!   family); `##` or `#x` followed by ` HELP ...` is a comment (Python reads
//!   a HELP line);
//! - a line of just `nan` or `inf` is an error (Python reads a sample `na`
//!   or `in`);
//! - a counter declared as `# TYPE _total counter` is kept (Python fails:
//!   stripping `_total` leaves an empty name).
//!
//! Names are kept as written: prometheus_client reports counter family
//! `X_total` as `X` (and renames samples of a counter `X` to `X_total`);
//! here the family is `X_total`, as on its TYPE line.
//!
//! Grouping (as in prometheus_client): a family starts at a HELP or TYPE
//! line with a new name. A histogram `X` takes samples `X_bucket`, `X_sum`,
//! `X_count`; a summary `X` takes `X`, `X_sum`, `X_count`; other types
//! take only `X`. `X_created` is never part of `X` (vLLM declares those as
//! gauge families of their own). A sample that does not fit closes the open
//! family and forms a one-sample untyped family named after itself.

mod error;
mod family;
mod labels;
mod lexer;
mod metric_type;
mod number;
mod pull;
mod scan;

pub use error::{BadLine, ParseError, ParseErrorKind, EXCERPT_CHARS};
pub use family::{Exposition, Family, Mode, Sample};
pub use labels::{LabelIter, RawLabels};
pub use lexer::{is_valid_label_name, is_valid_metric_name};
pub use metric_type::MetricType;
pub use pull::{Entry, Parser, RawSample};

/// Parses a whole exposition into families.
///
/// In [`Mode::Strict`] the first bad line is returned as the error; in
/// [`Mode::Lenient`] bad lines are skipped and listed in
/// [`Exposition::bad_lines`], and the result is always `Ok`.
///
/// ```
/// use vllm_grafana::exposition::{parse, Mode, MetricType};
/// let text = "# TYPE vllm:prompt_tokens_total counter\n\
///             vllm:prompt_tokens_total{model_name=\"m\"} 148\n";
/// let exp = parse(text, Mode::Strict).unwrap();
/// let fam = exp.family("vllm:prompt_tokens_total").unwrap();
/// assert_eq!(fam.metric_type, MetricType::Counter);
/// assert_eq!(fam.samples[0].label("model_name"), Some("m"));
/// ```
pub fn parse(text: &str, mode: Mode) -> Result<Exposition<'_>, ParseError> {
    family::build(text, mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_and_counts(e: &Exposition<'_>) -> Vec<(String, MetricType, usize)> {
        e.families
            .iter()
            .map(|f| (f.name.to_owned(), f.metric_type, f.samples.len()))
            .collect()
    }

    #[test]
    fn groups_like_prometheus_client() {
        let text = "\
# HELP h Histogram.
# TYPE h histogram
h_bucket{le=\"1\"} 1
h_bucket{le=\"+Inf\"} 2
h_sum 3
h_count 2
h 9
h_created 1
# TYPE h_created gauge
h_created 1
# TYPE s summary
s{quantile=\"0.5\"} 1
s_sum 2
s_count 3
# TYPE c counter
c_total 1
# HELP only Help only.
# TYPE typed_only gauge
u 1
u 2
";
        let e = parse(text, Mode::Strict).unwrap();
        let want: Vec<(String, MetricType, usize)> = [
            ("h", MetricType::Histogram, 4),
            ("h", MetricType::Untyped, 1),
            ("h_created", MetricType::Untyped, 1),
            ("h_created", MetricType::Gauge, 1),
            ("s", MetricType::Summary, 3),
            ("c", MetricType::Counter, 0),
            ("c_total", MetricType::Untyped, 1),
            ("only", MetricType::Untyped, 0),
            ("typed_only", MetricType::Gauge, 0),
            ("u", MetricType::Untyped, 1),
            ("u", MetricType::Untyped, 1),
        ]
        .into_iter()
        .map(|(n, t, c)| (n.to_owned(), t, c))
        .collect();
        assert_eq!(names_and_counts(&e), want);
        assert_eq!(e.family("h").unwrap().help.as_deref(), Some("Histogram."));
        assert_eq!(e.sample_count(), 13);
        assert_eq!(e.samples().count(), 13);
    }

    #[test]
    fn help_and_type_merge_in_either_order() {
        let text = "# TYPE g gauge\n# HELP g first\n# HELP g second\ng 1\n";
        let e = parse(text, Mode::Strict).unwrap();
        assert_eq!(e.families.len(), 1);
        let f = &e.families[0];
        assert_eq!(
            (f.metric_type, f.help.as_deref()),
            (MetricType::Gauge, Some("second"))
        );
    }

    #[test]
    fn duplicate_type_is_strict_error_and_lenient_skip() {
        let text = "# TYPE g gauge\ng 1\n# TYPE g counter\ng 2\n";
        let err = parse(text, Mode::Strict).unwrap_err();
        assert_eq!(
            (err.line, err.column, err.kind.clone()),
            (3, 8, ParseErrorKind::DuplicateType)
        );
        let e = parse(text, Mode::Lenient).unwrap();
        assert_eq!(
            names_and_counts(&e),
            [("g".to_owned(), MetricType::Gauge, 2)]
        );
        assert_eq!(e.bad_lines.len(), 1);
        assert_eq!(e.bad_lines[0].line, 3);
    }

    #[test]
    fn lenient_keeps_good_lines_and_state() {
        let text = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"2\" 1\nh_count 1\n";
        let e = parse(text, Mode::Lenient).unwrap();
        assert_eq!(
            names_and_counts(&e),
            [("h".to_owned(), MetricType::Histogram, 2)]
        );
        assert_eq!(e.bad_lines[0].line, 3);
        assert!(parse(text, Mode::Strict).is_err());
    }

    #[test]
    fn sample_accessors() {
        let e = parse("m{a=\"x\\\\y\",b=\"2\"} 1 5\n", Mode::Strict).unwrap();
        let s = e.samples().next().unwrap();
        assert_eq!(s.label("a"), Some("x\\y"));
        assert_eq!(s.label("c"), None);
        assert_eq!(s.timestamp_ms, Some(5));
    }
}
