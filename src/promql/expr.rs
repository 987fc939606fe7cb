//! PromQL expressions built as text with operator precedence tracked, so
//! operands are parenthesised only where PromQL needs it.

use super::selector::Selector;
use super::vars;
use std::fmt;

/// Binding strength of the outermost operator, weakest first (PromQL grammar).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    AndUnless,
    Comparison,
    Additive,
    Multiplicative,
    Power,
    Atom,
}

/// Comparison operators. A comparison filters a vector: use it for
/// conditions, never to guard a division (idle ratios should be NaN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Cmp {
    pub fn as_str(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
        }
    }
}

/// A PromQL expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    text: String,
    prec: Prec,
}

impl Expr {
    fn atom(text: String) -> Expr {
        Expr {
            text,
            prec: Prec::Atom,
        }
    }

    /// A number literal.
    pub fn num(value: f64) -> Expr {
        Expr::atom(format!("{value}"))
    }

    /// An instant-vector selector.
    /// An expression already written out (e.g. with a fixed rate window),
    /// as one parenthesised operand.
    pub fn parenthesised(text: &str) -> Expr {
        Expr::atom(format!("({text})"))
    }

    pub fn select(sel: &Selector) -> Expr {
        Expr::atom(sel.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// This expression as an operand that must bind at least as tightly as `min`.
    fn operand(&self, min: Prec) -> String {
        if self.prec < min {
            format!("({})", self.text)
        } else {
            self.text.clone()
        }
    }

    fn binary(self, op: &str, rhs: Expr, prec: Prec) -> Expr {
        // Left-associative, except `^`.
        let (left_min, right_min) = match prec {
            Prec::Power => (next(prec), prec),
            _ => (prec, next(prec)),
        };
        Expr {
            text: format!("{} {op} {}", self.operand(left_min), rhs.operand(right_min)),
            prec,
        }
    }

    pub fn or(self, rhs: Expr) -> Expr {
        self.binary("or", rhs, Prec::Or)
    }

    pub fn and(self, rhs: Expr) -> Expr {
        self.binary("and", rhs, Prec::AndUnless)
    }

    pub fn unless(self, rhs: Expr) -> Expr {
        self.binary("unless", rhs, Prec::AndUnless)
    }

    pub fn cmp(self, op: Cmp, rhs: Expr) -> Expr {
        self.binary(op.as_str(), rhs, Prec::Comparison)
    }

    /// `self op bool rhs`: 1 where the comparison holds, 0 where not (the
    /// series stay).
    pub fn cmp_bool(self, op: Cmp, rhs: Expr) -> Expr {
        self.binary(&format!("{} bool", op.as_str()), rhs, Prec::Comparison)
    }

    /// `self and on (labels) rhs`: the series of `self` whose `labels`
    /// some series of `rhs` has.
    pub fn and_on(self, on: &[&str], rhs: Expr) -> Expr {
        self.binary(&format!("and on ({})", on.join(", ")), rhs, Prec::AndUnless)
    }

    /// `self unless on (labels) rhs`: the series of `self` whose `labels`
    /// no series of `rhs` has.
    pub fn unless_on(self, on: &[&str], rhs: Expr) -> Expr {
        self.binary(
            &format!("unless on ({})", on.join(", ")),
            rhs,
            Prec::AndUnless,
        )
    }

    /// `self or on (labels) rhs`.
    pub fn or_on(self, on: &[&str], rhs: Expr) -> Expr {
        self.binary(&format!("or on ({})", on.join(", ")), rhs, Prec::Or)
    }

    /// `self * on (labels) group_left () rhs` (`self` has many series per
    /// `on` labels, `rhs` one), or `group_right` when `self` is the one.
    pub fn mul_on(self, on: &[&str], many: Many, rhs: Expr) -> Expr {
        let group = match many {
            Many::Left => "group_left",
            Many::Right => "group_right",
        };
        self.binary(
            &format!("* on ({}) {group} ()", on.join(", ")),
            rhs,
            Prec::Multiplicative,
        )
    }
}

/// Which side of a many-to-one match has the many series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Many {
    Left,
    Right,
}

impl std::ops::Add for Expr {
    type Output = Expr;
    fn add(self, rhs: Expr) -> Expr {
        self.binary("+", rhs, Prec::Additive)
    }
}

impl std::ops::Sub for Expr {
    type Output = Expr;
    fn sub(self, rhs: Expr) -> Expr {
        self.binary("-", rhs, Prec::Additive)
    }
}

impl std::ops::Mul for Expr {
    type Output = Expr;
    fn mul(self, rhs: Expr) -> Expr {
        self.binary("*", rhs, Prec::Multiplicative)
    }
}

/// Unguarded: 0/0 gives NaN, which dashboards map to "idle".
impl std::ops::Div for Expr {
    type Output = Expr;
    fn div(self, rhs: Expr) -> Expr {
        self.binary("/", rhs, Prec::Multiplicative)
    }
}

fn next(p: Prec) -> Prec {
    match p {
        Prec::Or => Prec::AndUnless,
        Prec::AndUnless => Prec::Comparison,
        Prec::Comparison => Prec::Additive,
        Prec::Additive => Prec::Multiplicative,
        Prec::Multiplicative => Prec::Power,
        Prec::Power | Prec::Atom => Prec::Atom,
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<Expr> for String {
    fn from(e: Expr) -> String {
        e.text
    }
}

fn range_call(func: &str, sel: &Selector) -> Expr {
    Expr::atom(format!("{func}({sel}[{}])", vars::RATE_INTERVAL))
}

/// `rate(sel[$__rate_interval])`.
pub fn rate(sel: &Selector) -> Expr {
    range_call("rate", sel)
}

/// `increase(sel[$__rate_interval])`.
pub fn increase(sel: &Selector) -> Expr {
    range_call("increase", sel)
}

/// `op by (labels) (e)`, or `op(e)` without labels.
pub fn aggregate(op: &str, by: &[&str], e: Expr) -> Expr {
    if by.is_empty() {
        Expr::atom(format!("{op}({e})"))
    } else {
        Expr::atom(format!("{op} by ({}) ({e})", by.join(", ")))
    }
}

pub fn sum(by: &[&str], e: Expr) -> Expr {
    aggregate("sum", by, e)
}

pub fn max(by: &[&str], e: Expr) -> Expr {
    aggregate("max", by, e)
}

pub fn count(by: &[&str], e: Expr) -> Expr {
    aggregate("count", by, e)
}

/// `topk by (labels) (k, e)`.
pub fn topk(k: u32, by: &[&str], e: Expr) -> Expr {
    if by.is_empty() {
        Expr::atom(format!("topk({k}, {e})"))
    } else {
        Expr::atom(format!("topk by ({}) ({k}, {e})", by.join(", ")))
    }
}

/// `scalar(e)`: the value of a single-series vector as a scalar (NaN when
/// `e` has no series or several), to divide a labelled vector by a total.
pub fn scalar(e: Expr) -> Expr {
    Expr::atom(format!("scalar({e})"))
}

/// `label_replace(e, "dst", "replacement", "src", "regex")`.
pub fn label_replace(e: Expr, dst: &str, replacement: &str, src: &str, regex: &str) -> Expr {
    Expr::atom(format!(
        "label_replace({e}, \"{dst}\", \"{replacement}\", \"{src}\", \"{regex}\")"
    ))
}

/// `func(e[$__rate_interval])` for the `*_over_time` functions of gauges.
pub fn over_time(func: &str, sel: &Selector) -> Expr {
    range_call(func, sel)
}

/// `func((e)[range:step])`: a subquery.
pub fn over_time_of(func: &str, e: Expr, range: &str, step: &str) -> Expr {
    Expr::atom(format!("{func}(({e})[{range}:{step}])"))
}

/// `time()`: the evaluation time in Unix seconds.
pub fn time() -> Expr {
    Expr::atom("time()".to_string())
}

/// `vector(v)`: a constant series without labels.
pub fn vector(value: f64) -> Expr {
    Expr::atom(format!("vector({value})"))
}

/// `sum by (labels) (rate(sel[$__rate_interval]))`.
pub fn sum_rate(sel: &Selector, by: &[&str]) -> Expr {
    sum(by, rate(sel))
}

/// Quantile `q` of a histogram: `histogram_quantile(q, sum by (le, by...)
/// (rate(hist_bucket[$__rate_interval])))`. `hist` selects the base name.
pub fn histogram_quantile(q: f64, hist: &Selector, by: &[&str]) -> Expr {
    let mut labels = vec!["le"];
    labels.extend_from_slice(by);
    quantile_of_buckets(q, sum_rate(&hist.bucket(), &labels))
}

/// `histogram_quantile(q, buckets)` for bucket rates already summed by `le`
/// (e.g. recorded ones).
pub fn quantile_of_buckets(q: f64, buckets: Expr) -> Expr {
    Expr::atom(format!("histogram_quantile({q}, {buckets})"))
}

/// Mean observation of a histogram over the rate window: rate of `_sum`
/// over rate of `_count` (NaN when nothing was observed).
pub fn histogram_mean(hist: &Selector, by: &[&str]) -> Expr {
    sum_rate(&hist.sum(), by) / sum_rate(&hist.count(), by)
}

/// Share of observations at or below the bucket bound `le` (which must be a
/// bound the histogram really has, spelt as the exporter prints it).
pub fn share_at_most(hist: &Selector, le: &str, by: &[&str]) -> Expr {
    sum_rate(&hist.bucket().eq("le", le), by) / sum_rate(&hist.count(), by)
}

/// `(new) or (old)`: the series of `new`, and those of `old` whose label
/// sets `new` lacks. Put the current name first so it wins where a release
/// exposes both.
pub fn fallback(new: Expr, old: Expr) -> Expr {
    Expr {
        text: format!("({new}) or ({old})"),
        prec: Prec::Or,
    }
}

/// Builds `build(name)`, and when vLLM renamed the metric (see
/// [`super::counterpart`]), the [`fallback`] over both names, newest first.
pub fn version_proof(name: &'static str, build: impl Fn(&'static str) -> Expr) -> Expr {
    version_proof_all([name], |[m]| build(m))
}

/// [`version_proof`] for queries of several metrics renamed together (such
/// as a hit ratio): `build` gets all current names, then all old ones.
pub fn version_proof_all<const N: usize>(
    names: [&'static str; N],
    build: impl Fn([&'static str; N]) -> Expr,
) -> Expr {
    let pairs = names.map(super::rename::pair);
    if pairs.iter().all(Option::is_none) {
        return build(names);
    }
    let new = std::array::from_fn(|i| pairs[i].map_or(names[i], |(new, _)| new));
    let old = std::array::from_fn(|i| pairs[i].map_or(names[i], |(_, old)| old));
    fallback(build(new), build(old))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::names;

    #[test]
    fn operands_are_parenthesised_only_when_needed() {
        let a = Expr::num(1.0);
        let b = Expr::num(2.0);
        let c = Expr::num(3.0);
        assert_eq!(
            ((a.clone() + b.clone()) * c.clone()).as_str(),
            "(1 + 2) * 3"
        );
        assert_eq!((a.clone() + b.clone() * c.clone()).as_str(), "1 + 2 * 3");
        assert_eq!(
            (a.clone() - (b.clone() - c.clone())).as_str(),
            "1 - (2 - 3)"
        );
        assert_eq!((a.clone() / b.clone() / c.clone()).as_str(), "1 / 2 / 3");
        assert_eq!(
            (fallback(a.clone(), b.clone()) / c).as_str(),
            "((1) or (2)) / 3"
        );
        assert_eq!(
            a.cmp(Cmp::Gt, Expr::num(0.0)).and(b).as_str(),
            "1 > 0 and 2"
        );
    }

    #[test]
    fn quantile_groups_by_le_first() {
        let sel = Selector::bare(names::TIME_TO_FIRST_TOKEN);
        assert_eq!(
            histogram_quantile(0.95, &sel, &["instance"]).as_str(),
            "histogram_quantile(0.95, sum by (le, instance) (rate(vllm:time_to_first_token_seconds_bucket[$__rate_interval])))"
        );
    }

    #[test]
    fn renamed_metrics_get_both_names_newest_first() {
        let e = version_proof(names::GPU_CACHE_USAGE_PERC, |m| {
            max(&[], Expr::select(&Selector::bare(m)))
        });
        assert_eq!(
            e.as_str(),
            "(max(vllm:kv_cache_usage_perc)) or (max(vllm:gpu_cache_usage_perc))"
        );
        let ratio = version_proof_all(
            [names::PREFIX_CACHE_HITS, names::PREFIX_CACHE_QUERIES],
            |[h, q]| Expr::select(&Selector::bare(h)) / Expr::select(&Selector::bare(q)),
        );
        assert_eq!(
            ratio.as_str(),
            "(vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total) or (vllm:gpu_prefix_cache_hits_total / vllm:gpu_prefix_cache_queries_total)"
        );
        let plain = version_proof(names::REQUEST_TIME_PER_OUTPUT_TOKEN, |m| {
            Expr::select(&Selector::bare(m))
        });
        assert_eq!(plain.as_str(), names::REQUEST_TIME_PER_OUTPUT_TOKEN);
    }

    #[test]
    fn slo_share_selects_the_bucket_bound() {
        let e = share_at_most(
            &Selector::bare(names::TIME_TO_FIRST_TOKEN),
            "$ttft_slo",
            &[],
        );
        assert_eq!(
            e.as_str(),
            "sum(rate(vllm:time_to_first_token_seconds_bucket{le=\"$ttft_slo\"}[$__rate_interval])) / sum(rate(vllm:time_to_first_token_seconds_count[$__rate_interval]))"
        );
    }
}
