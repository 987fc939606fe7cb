//! Aggregation operators with `by`/`without`, matching Prometheus 2.x's
//! arithmetic (plain summation, incremental mean, Go's heap for `topk`).

use super::engine::Ctx;
use super::error::{execution, unsupported, EvalError};
use super::functions::{is_label_name, unparen};
use super::order;
use super::steps::{ByStep, Out};
use super::strings::unquote;
use super::value::{Lbl, Node, StepSeries};
use crate::store::{Labels, METRIC_NAME};
use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_MAX, T_MIN, T_QUANTILE, T_STDDEV,
    T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};
use std::cmp::Ordering;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Agg {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Group,
    Stddev,
    Stdvar,
    Quantile,
    Topk,
    Bottomk,
}

pub(crate) fn eval(ctx: &mut Ctx<'_>, a: &AggregateExpr, d: usize) -> Result<Node, EvalError> {
    let op = match a.op.id() {
        T_SUM => Agg::Sum,
        T_AVG => Agg::Avg,
        T_MIN => Agg::Min,
        T_MAX => Agg::Max,
        T_COUNT => Agg::Count,
        T_GROUP => Agg::Group,
        T_STDDEV => Agg::Stddev,
        T_STDVAR => Agg::Stdvar,
        T_QUANTILE => Agg::Quantile,
        T_TOPK => Agg::Topk,
        T_BOTTOMK => Agg::Bottomk,
        T_COUNT_VALUES => return count_values(ctx, a, d),
        _ => return Err(unsupported(format!("the aggregation {}", a.op))),
    };
    let (without, grouping) = grouping(a);
    let param = match (&a.param, op) {
        (Some(p), Agg::Topk | Agg::Bottomk | Agg::Quantile) => {
            Some(ctx.param().scalar(p, d, "the aggregation parameter")?)
        }
        _ => None,
    };
    let input = aggregated(ctx, a, d)?;
    let names: Vec<&str> = grouping.iter().map(String::as_str).collect();
    let group_labels = |l: &Labels| -> Labels {
        if without {
            let mut drop = names.clone();
            drop.push(METRIC_NAME);
            l.without(&drop)
        } else {
            l.keep(&names)
        }
    };
    let mut groups = Out::default();
    let group_of: Vec<u32> = input
        .iter()
        .map(|s| groups.id(Arc::new(group_labels(&s.labels))))
        .collect();
    let by = ByStep::new(&input, ctx.steps);
    match op {
        Agg::Topk | Agg::Bottomk => {
            let k = param.unwrap_or_default();
            top(&input, &group_of, &by, &k, op == Agg::Bottomk, ctx.steps)
        }
        _ => {
            let q = param.unwrap_or_default();
            grouped(op, groups, &group_of, &by, &q, ctx.steps)
        }
    }
}

fn grouping(a: &AggregateExpr) -> (bool, Vec<String>) {
    match &a.modifier {
        Some(LabelModifier::Include(l)) => (false, l.labels.clone()),
        Some(LabelModifier::Exclude(l)) => (true, l.labels.clone()),
        None => (false, Vec::new()),
    }
}

fn aggregated(
    ctx: &mut Ctx<'_>,
    a: &AggregateExpr,
    d: usize,
) -> Result<Vec<StepSeries>, EvalError> {
    match ctx.eval(&a.expr, d)? {
        Node::Vector(v) => Ok(v),
        _ => Err(EvalError::Invalid(
            "the aggregated expression must be an instant vector".into(),
        )),
    }
}

/// `count_values("label", v)`: how many series have each value, the value
/// (formatted as Go's shortest decimal) in `label`, which replaces a label
/// of that name and, with `by`, joins the grouping labels.
fn count_values(ctx: &mut Ctx<'_>, a: &AggregateExpr, d: usize) -> Result<Node, EvalError> {
    let label = match a.param.as_deref().map(unparen) {
        Some(Expr::StringLiteral(s)) => unquote(&s.val).into_owned(),
        _ => {
            return Err(EvalError::Invalid(
                "count_values needs a label name as its parameter".into(),
            ))
        }
    };
    let (without, mut names) = grouping(a);
    let input = aggregated(ctx, a, d)?;
    if ctx.steps == 0 {
        return Ok(Node::Vector(Vec::new()));
    }
    if !is_label_name(&label) {
        return Err(execution(format!("invalid label name {label:?}")));
    }
    if without {
        names.push(METRIC_NAME.to_string());
    } else {
        names.push(label.clone());
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let by = ByStep::new(&input, ctx.steps);
    let mut out = Out::default();
    let mut count: Vec<f64> = Vec::new();
    let mut touched: Vec<u32> = Vec::new();
    for step in 0..ctx.steps {
        for &(si, v) in by.at(step) {
            let Some(s) = input.get(si as usize) else {
                continue;
            };
            let labeled = s.labels.with(&label, &go_format(v));
            let key = if without {
                labeled.without(&names)
            } else {
                labeled.keep(&names)
            };
            let id = out.id(Arc::new(key));
            let i = id as usize;
            if count.len() <= i {
                count.resize(i + 1, 0.0);
            }
            if count[i] == 0.0 {
                touched.push(id);
            }
            count[i] += 1.0;
        }
        for &id in &touched {
            if let Some(n) = count.get_mut(id as usize) {
                out.push(id, step, *n)?;
                *n = 0.0;
            }
        }
        touched.clear();
    }
    Ok(Node::Vector(out.finish()))
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest decimal that
/// reads back as `v`, never in exponent form. Where two shortest decimals
/// are equally close (`v` lies exactly between them), Go takes the one
/// ending in an even digit; Rust's formatting may take the other.
fn go_format(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let shortest = format!("{:e}", v.abs());
    let Some((mantissa, exp)) = shortest.split_once('e') else {
        return format!("{v}");
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return format!("{v}");
    };
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    // The exact value (a binary fraction has a finite decimal expansion of
    // at most 767 significant digits) tells a tie: a 5 and only zeros
    // after the shortest digits. One more digit, rounded, rules most out.
    let n = digits.len();
    let probe = format!("{:.*e}", n, v.abs());
    let maybe_tie = probe.split_once('e').is_some_and(|(m, _)| m.ends_with('5'));
    let exact = if maybe_tie {
        format!("{:.800e}", v.abs())
    } else {
        String::new()
    };
    if let Some((em, ee)) = exact.split_once('e') {
        let exact_digits: Vec<u8> = em.bytes().filter(u8::is_ascii_digit).collect();
        let tie = ee.parse::<i32>() == Ok(exp)
            && exact_digits.get(n) == Some(&b'5')
            && exact_digits.iter().skip(n + 1).all(|&d| d == b'0');
        if tie {
            let down = exact_digits[..n].to_vec();
            let even = if down.last().is_some_and(|d| (d - b'0') % 2 == 0) {
                Some(down)
            } else {
                increment(&down)
            };
            // Only a decimal that reads back as `v` (next to a power of two
            // the interval that does is lopsided).
            let reads_back = |d: &[u8]| {
                let text = format!("0.{}e{}", String::from_utf8_lossy(d), exp + 1);
                text.parse::<f64>() == Ok(v.abs())
            };
            if let Some(even) = even.filter(|e| reads_back(e)) {
                digits = even;
            }
        }
    }
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    let digits = String::from_utf8(digits).unwrap_or_default();
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else if point as usize >= digits.len() {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
    out
}

/// A decimal digit string plus one in its last place; `None` when it
/// would need another digit.
fn increment(digits: &[u8]) -> Option<Vec<u8>> {
    let mut out = digits.to_vec();
    for d in out.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return Some(out);
        }
    }
    None
}

#[derive(Clone, Default)]
struct Acc {
    step: Option<usize>,
    value: f64,
    mean: f64,
    count: f64,
    values: Vec<f64>,
}

fn grouped(
    op: Agg,
    mut out: Out,
    group_of: &[u32],
    by: &ByStep,
    q: &[f64],
    steps: usize,
) -> Result<Node, EvalError> {
    let mut acc: Vec<Acc> = Vec::new();
    let mut touched: Vec<u32> = Vec::new();
    for step in 0..steps {
        for &(si, v) in by.at(step) {
            let Some(&g) = group_of.get(si as usize) else {
                continue;
            };
            if acc.len() <= g as usize {
                acc.resize(g as usize + 1, Acc::default());
            }
            let a = &mut acc[g as usize];
            if a.step != Some(step) {
                *a = Acc {
                    step: Some(step),
                    value: match op {
                        Agg::Stddev | Agg::Stdvar => 0.0,
                        Agg::Group => 1.0,
                        _ => v,
                    },
                    mean: v,
                    count: 1.0,
                    values: std::mem::take(&mut a.values),
                };
                a.values.clear();
                if op == Agg::Quantile {
                    a.values.push(v);
                }
                touched.push(g);
                continue;
            }
            match op {
                Agg::Sum => a.value += v,
                Agg::Avg => {
                    a.count += 1.0;
                    if a.mean.is_infinite() {
                        if v.is_infinite() && (a.mean > 0.0) == (v > 0.0) {
                            continue;
                        }
                        if !v.is_infinite() && !v.is_nan() {
                            continue;
                        }
                    }
                    a.mean += v / a.count - a.mean / a.count;
                }
                Agg::Max => {
                    if a.value < v || a.value.is_nan() {
                        a.value = v;
                    }
                }
                Agg::Min => {
                    if a.value > v || a.value.is_nan() {
                        a.value = v;
                    }
                }
                Agg::Count => a.count += 1.0,
                Agg::Stddev | Agg::Stdvar => {
                    a.count += 1.0;
                    let delta = v - a.mean;
                    a.mean += delta / a.count;
                    a.value += delta * (v - a.mean);
                }
                Agg::Quantile => a.values.push(v),
                Agg::Group | Agg::Topk | Agg::Bottomk => {}
            }
        }
        let qv = q.get(step).copied().unwrap_or(f64::NAN);
        for &g in &touched {
            let Some(a) = acc.get_mut(g as usize) else {
                continue;
            };
            let v = match op {
                Agg::Avg => a.mean,
                Agg::Count => a.count,
                Agg::Stdvar => a.value / a.count,
                Agg::Stddev => (a.value / a.count).sqrt(),
                Agg::Quantile => quantile(qv, &mut a.values),
                _ => a.value,
            };
            out.push(g, step, v)?;
        }
        touched.clear();
    }
    Ok(Node::Vector(out.finish()))
}

/// The `q` quantile of `values` (sorted in place), interpolating between
/// neighbours; NaN for no values.
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(nan_first);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    let at = |i: f64| values.get(i as usize).copied().unwrap_or(f64::NAN);
    at(lower) * (1.0 - weight) + at(upper) * weight
}

fn nan_first(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// Go's `container/heap` over `(value, series)`, ordered as Prometheus's
/// `vectorByValueHeap` (or its reverse for `bottomk`): ties and NaNs pick
/// the same series as Prometheus does.
struct Heap {
    items: Vec<(f64, u32)>,
    reverse: bool,
}

impl Heap {
    fn less(&self, i: usize, j: usize) -> bool {
        let (a, b) = (self.items[i].0, self.items[j].0);
        if a.is_nan() {
            return true;
        }
        if self.reverse {
            a > b
        } else {
            a < b
        }
    }

    fn up(&mut self, mut j: usize) {
        while j > 0 {
            let i = (j - 1) / 2;
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            j = i;
        }
    }

    fn down(&mut self, mut i: usize, n: usize) {
        loop {
            let j1 = 2 * i + 1;
            if j1 >= n {
                break;
            }
            let mut j = j1;
            if j1 + 1 < n && self.less(j1 + 1, j1) {
                j = j1 + 1;
            }
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            i = j;
        }
    }

    fn push(&mut self, x: (f64, u32)) {
        self.items.push(x);
        self.up(self.items.len() - 1);
    }

    fn pop(&mut self) {
        let n = self.items.len() - 1;
        self.items.swap(0, n);
        self.down(0, n);
        self.items.pop();
    }
}

fn top(
    input: &[StepSeries],
    group_of: &[u32],
    by: &ByStep,
    k: &[f64],
    bottom: bool,
    steps: usize,
) -> Result<Node, EvalError> {
    let mut out = Out::default();
    // Created on first output, so that a single step's series come out in
    // the order Prometheus answers them.
    let mut ids: Vec<Option<u32>> = vec![None; input.len()];
    let mut heaps: Vec<Option<Heap>> = Vec::new();
    let mut seen_groups: Vec<u32> = Vec::new();
    for step in 0..steps {
        let kf = k.get(step).copied().unwrap_or(f64::NAN);
        // Go's float64 just below 2^63 is Prometheus's upper bound.
        if !(-9_223_372_036_854_775_808.0..=9_223_372_036_854_774_784.0).contains(&kf) {
            // `{:e}`: Display would print 1e300 with all its 301 digits.
            return Err(EvalError::Execution(format!(
                "Scalar value {kf:e} overflows int64"
            )));
        }
        let k = kf as i64;
        if k < 1 {
            continue;
        }
        let k = k as usize;
        for &(si, v) in by.at(step) {
            let Some(&g) = group_of.get(si as usize) else {
                continue;
            };
            if heaps.len() <= g as usize {
                heaps.resize_with(g as usize + 1, || None);
            }
            let slot = &mut heaps[g as usize];
            let Some(h) = slot else {
                *slot = Some(Heap {
                    items: vec![(v, si)],
                    reverse: bottom,
                });
                seen_groups.push(g);
                continue;
            };
            let top = h.items[0].0;
            let better = if bottom { top > v } else { top < v };
            if h.items.len() < k || better || top.is_nan() {
                if h.items.len() == k {
                    if k == 1 {
                        h.items[0] = (v, si);
                        continue;
                    }
                    h.pop();
                }
                h.push((v, si));
            }
        }
        for &g in &seen_groups {
            if let Some(Some(mut h)) = heaps.get_mut(g as usize).map(Option::take) {
                // Each group's answer, best first, as Prometheus sorts it.
                if steps == 1 && h.items.len() > 1 {
                    order::by_value(&mut h.items, |x| x.0, !bottom);
                }
                for (v, si) in h.items {
                    let (Some(slot), Some(s)) = (ids.get_mut(si as usize), input.get(si as usize))
                    else {
                        continue;
                    };
                    let id = *slot.get_or_insert_with(|| out.id(Lbl::clone(&s.labels)));
                    out.push(id, step, v)?;
                }
            }
        }
        seen_groups.clear();
    }
    Ok(Node::Vector(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::go_format;

    #[test]
    fn formats_values_as_go_does() {
        for (v, go) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (0.5, "0.5"),
            (1e21, "1000000000000000000000"),
            (1.32e-20, "0.0000000000000000000132"),
            (-1.3199999999999999e-5, "-0.000013199999999999999"),
            (123.456, "123.456"),
            (f64::INFINITY, "+Inf"),
            (f64::NAN, "NaN"),
            // Exactly between two shortest decimals: Go takes the even one.
            (1.1682510375976562e-05, "0.000011682510375976562"),
            (0.0005044937133789062, "0.0005044937133789062"),
            (0.0625, "0.0625"),
            // Answers of Prometheus 2.42 for ties next to powers of two.
            (5.960464477539063e-08, "0.00000005960464477539063"),
            (1.7881393432617188e-07, "0.00000017881393432617188"),
            (2.9802322387695312e-08, "0.000000029802322387695312"),
            (2.0f64.powi(-20), "0.00000095367431640625"),
        ] {
            assert_eq!(go_format(v), go, "{v:e}");
        }
    }
}
