//! Aggregation operators with `by`/`without`, matching Prometheus 2.x's
//! arithmetic (plain summation, incremental mean, Go's heap for `topk`).

use super::engine::Ctx;
use super::error::{unsupported, EvalError};
use super::steps::{ByStep, Out};
use super::value::{Lbl, Node, StepSeries};
use crate::store::{Labels, METRIC_NAME};
use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_MAX, T_MIN, T_QUANTILE, T_STDDEV,
    T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, LabelModifier};
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
        T_COUNT_VALUES => return Err(unsupported("the count_values aggregation")),
        _ => return Err(unsupported(format!("the aggregation {}", a.op))),
    };
    let (without, grouping): (bool, Vec<String>) = match &a.modifier {
        Some(LabelModifier::Include(l)) => (false, l.labels.clone()),
        Some(LabelModifier::Exclude(l)) => (true, l.labels.clone()),
        None => (false, Vec::new()),
    };
    let param = match (&a.param, op) {
        (Some(p), Agg::Topk | Agg::Bottomk | Agg::Quantile) => {
            Some(ctx.scalar(p, d, "the aggregation parameter")?)
        }
        _ => None,
    };
    let input = ctx.vector(&a.expr, d, "the aggregated expression")?;
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
    let ids: Vec<u32> = input
        .iter()
        .map(|s| out.id(Lbl::clone(&s.labels)))
        .collect();
    let mut heaps: Vec<Option<Heap>> = Vec::new();
    let mut order: Vec<u32> = Vec::new();
    for step in 0..steps {
        let kf = k.get(step).copied().unwrap_or(f64::NAN);
        if !(kf >= i64::MIN as f64 && kf <= i64::MAX as f64) {
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
                order.push(g);
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
        for &g in &order {
            if let Some(Some(h)) = heaps.get_mut(g as usize).map(Option::take) {
                for (v, si) in h.items {
                    if let Some(&id) = ids.get(si as usize) {
                        out.push(id, step, v)?;
                    }
                }
            }
        }
        order.clear();
    }
    Ok(Node::Vector(out.finish()))
}
