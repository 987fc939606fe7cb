//! PromQL functions of instant vectors and scalars, with Prometheus 2.42's
//! arithmetic (Go's `math.Max`/`Min` NaN rules, its calendar, its label
//! checks). Functions of range vectors are in `range_fns`.

use super::calendar::{self, Date};
use super::engine::Ctx;
use super::error::{execution, unsupported, EvalError};
use super::steps::{ByStep, Out};
use super::strings::unquote;
use super::value::{Lbl, Node, StepSeries};
use super::{drop_name, gomath, histogram, order, range_fns, selector};
use crate::store::{anchored, Labels, MatchOp, METRIC_NAME};
use promql_parser::parser::{Call, Expr, VectorSelector};
use std::sync::Arc;

pub(crate) fn unparen(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

pub(crate) fn arg(c: &Call, i: usize) -> Result<&Expr, EvalError> {
    c.args.args.get(i).map(|b| &**b).ok_or_else(|| {
        EvalError::Invalid(format!("{}() is missing argument {}", c.func.name, i + 1))
    })
}

fn string_arg(c: &Call, i: usize) -> Result<String, EvalError> {
    match unparen(arg(c, i)?) {
        Expr::StringLiteral(s) => Ok(unquote(&s.val).into_owned()),
        _ => Err(EvalError::Invalid(format!(
            "argument {} of {}() must be a string",
            i + 1,
            c.func.name
        ))),
    }
}

/// Functions the parser knows but Prometheus 2.42 does not.
pub(crate) fn newer_than_2_42(name: &str) -> bool {
    matches!(name, "sort_by_label" | "sort_by_label_desc")
}

pub(crate) fn eval(ctx: &mut Ctx<'_>, c: &Call, d: usize) -> Result<Node, EvalError> {
    let name = c.func.name;
    if range_fns::is_range_function(name) {
        return range_fns::eval(ctx, c, d);
    }
    match name {
        "abs" => simple(ctx, c, d, f64::abs),
        "ceil" => simple(ctx, c, d, f64::ceil),
        "floor" => simple(ctx, c, d, f64::floor),
        "exp" => simple(ctx, c, d, f64::exp),
        "sqrt" => simple(ctx, c, d, f64::sqrt),
        "ln" => simple(ctx, c, d, gomath::ln),
        "log2" => simple(ctx, c, d, gomath::log2),
        "log10" => simple(ctx, c, d, gomath::log10),
        "sin" => simple(ctx, c, d, f64::sin),
        "cos" => simple(ctx, c, d, f64::cos),
        "tan" => simple(ctx, c, d, f64::tan),
        "asin" => simple(ctx, c, d, f64::asin),
        "acos" => simple(ctx, c, d, f64::acos),
        "atan" => simple(ctx, c, d, f64::atan),
        "sinh" => simple(ctx, c, d, f64::sinh),
        "cosh" => simple(ctx, c, d, f64::cosh),
        "tanh" => simple(ctx, c, d, f64::tanh),
        "asinh" => simple(ctx, c, d, f64::asinh),
        "acosh" => simple(ctx, c, d, f64::acosh),
        "atanh" => simple(ctx, c, d, f64::atanh),
        // Multiplied first, as Prometheus does, for the same rounding.
        "rad" => simple(ctx, c, d, |v| v * std::f64::consts::PI / 180.0),
        "deg" => simple(ctx, c, d, |v| v * 180.0 / std::f64::consts::PI),
        "sgn" => simple(ctx, c, d, |v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        }),
        "round" => {
            let to = match c.args.args.len() {
                1 => vec![1.0; ctx.steps],
                _ => ctx.scalar(arg(c, 1)?, d, "round()'s to_nearest")?,
            };
            let input = ctx.vector(arg(c, 0)?, d, "round()'s argument")?;
            map_values(&input, ctx.steps, |step, v| {
                let inv = 1.0 / to.get(step).copied().unwrap_or(1.0);
                Some((v * inv + 0.5).floor() / inv)
            })
        }
        "clamp_min" | "clamp_max" => {
            let input = ctx.vector(arg(c, 0)?, d, "the clamped vector")?;
            let bound = ctx.scalar(arg(c, 1)?, d, "the clamp bound")?;
            let is_min = name == "clamp_min";
            map_values(&input, ctx.steps, |step, v| {
                let b = bound.get(step).copied().unwrap_or(f64::NAN);
                Some(if is_min { go_max(b, v) } else { go_min(b, v) })
            })
        }
        "clamp" => {
            let input = ctx.vector(arg(c, 0)?, d, "clamp()'s vector")?;
            let lo = ctx.scalar(arg(c, 1)?, d, "clamp()'s min")?;
            let hi = ctx.scalar(arg(c, 2)?, d, "clamp()'s max")?;
            map_values(&input, ctx.steps, |step, v| {
                let (lo, hi) = (lo.get(step).copied()?, hi.get(step).copied()?);
                // Prometheus answers nothing when max < min (not for NaN).
                let empty = hi < lo;
                (!empty).then(|| go_max(lo, go_min(hi, v)))
            })
        }
        "scalar" => {
            let input = ctx.vector(arg(c, 0)?, d, "scalar()'s argument")?;
            let by = ByStep::new(&input, ctx.steps);
            Ok(Node::Scalar(
                (0..ctx.steps)
                    .map(|i| match by.at(i) {
                        [(_, v)] => *v,
                        _ => f64::NAN,
                    })
                    .collect(),
            ))
        }
        "vector" => {
            let v = ctx.scalar(arg(c, 0)?, d, "vector()'s argument")?;
            Ok(Node::Vector(vec![StepSeries {
                labels: Arc::new(Labels::empty()),
                points: v
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (i as u32, v))
                    .collect(),
            }]))
        }
        "time" => Ok(Node::Scalar(
            (0..ctx.steps).map(|i| ctx.ts(i) as f64 / 1000.0).collect(),
        )),
        "pi" => Ok(Node::Scalar(vec![std::f64::consts::PI; ctx.steps])),
        "timestamp" => timestamp(ctx, c, d),
        "day_of_month" => date_function(ctx, c, d, |t| t.day as f64),
        "day_of_week" => date_function(ctx, c, d, |t| t.weekday as f64),
        "day_of_year" => date_function(ctx, c, d, |t| t.day_of_year as f64),
        "days_in_month" => date_function(ctx, c, d, |t| {
            calendar::days_in_month(t.year, t.month) as f64
        }),
        "hour" => date_function(ctx, c, d, |t| t.hour as f64),
        "minute" => date_function(ctx, c, d, |t| t.minute as f64),
        "month" => date_function(ctx, c, d, |t| t.month as f64),
        "year" => date_function(ctx, c, d, |t| t.year as f64),
        "absent" => absent(ctx, c, d),
        "label_replace" => label_replace(ctx, c, d),
        "label_join" => label_join(ctx, c, d),
        "histogram_quantile" => {
            let q = ctx.scalar(arg(c, 0)?, d, "histogram_quantile()'s quantile")?;
            let input = ctx.vector(arg(c, 1)?, d, "histogram_quantile()'s buckets")?;
            histogram::quantile(&q, &input, ctx.steps)
        }
        // Native histograms only: the store holds none, so the answer is
        // always empty (as Prometheus's for float samples).
        "histogram_count" | "histogram_sum" | "histogram_fraction" => {
            for a in &c.args.args {
                ctx.eval_arg(a, d)?;
            }
            Ok(Node::Vector(Vec::new()))
        }
        "sort" | "sort_desc" => {
            let mut input = ctx.vector(arg(c, 0)?, d, "sort()'s argument")?;
            // Only a single evaluation keeps an order (Prometheus assembles
            // a range's series from a map).
            if ctx.steps == 1 {
                order::by_value(
                    &mut input,
                    |s| s.points.first().map_or(f64::NAN, |p| p.1),
                    name == "sort_desc",
                );
            }
            Ok(Node::Vector(input))
        }
        other => Err(unsupported(format!("the function {other}()"))),
    }
}

/// Go's `math.Max`: NaN wins over everything but +Inf.
pub(crate) fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        f64::INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && x == y {
        if x.is_sign_negative() {
            y
        } else {
            x
        }
    } else if x > y {
        x
    } else {
        y
    }
}

/// Go's `math.Min`.
pub(crate) fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && x == y {
        if x.is_sign_negative() {
            x
        } else {
            y
        }
    } else if x < y {
        x
    } else {
        y
    }
}

fn simple(ctx: &mut Ctx<'_>, c: &Call, d: usize, f: fn(f64) -> f64) -> Result<Node, EvalError> {
    let input = ctx.vector(arg(c, 0)?, d, "the argument")?;
    map_values(&input, ctx.steps, |_, v| Some(f(v)))
}

/// Applies `f` to every point, dropping the metric name (as every
/// value-changing function does); `None` drops the point.
fn map_values(
    input: &[StepSeries],
    steps: usize,
    f: impl Fn(usize, f64) -> Option<f64>,
) -> Result<Node, EvalError> {
    let relabeled: Vec<Lbl> = input.iter().map(|s| drop_name(&s.labels)).collect();
    let mut out = Out::default();
    let ids: Vec<u32> = relabeled.into_iter().map(|l| out.id(l)).collect();
    let by = ByStep::new(input, steps);
    for step in 0..steps {
        for &(si, v) in by.at(step) {
            if let (Some(r), Some(&id)) = (f(step, v), ids.get(si as usize)) {
                out.push(id, step, r)?;
            }
        }
    }
    Ok(Node::Vector(out.finish()))
}

/// `timestamp(v)`: the time of each sample of a selector, else the
/// evaluation time (everything else has been evaluated at it).
fn timestamp(ctx: &mut Ctx<'_>, c: &Call, d: usize) -> Result<Node, EvalError> {
    let a = arg(c, 0)?;
    if let Expr::VectorSelector(vs) = unparen(a) {
        let times = selector::timestamps(ctx, vs)?;
        return map_values(&times, ctx.steps, |_, t| Some(t));
    }
    let input = ctx.vector(a, d, "timestamp()'s argument")?;
    let steps: Vec<f64> = (0..ctx.steps).map(|i| ctx.ts(i) as f64 / 1000.0).collect();
    map_values(&input, ctx.steps, |step, _| steps.get(step).copied())
}

/// A date function: of each value (Unix seconds) or, without an argument,
/// of the evaluation time as a one-element vector.
fn date_function(
    ctx: &mut Ctx<'_>,
    c: &Call,
    d: usize,
    f: fn(&Date) -> f64,
) -> Result<Node, EvalError> {
    if c.args.args.is_empty() {
        return Ok(Node::Vector(vec![StepSeries {
            labels: Arc::new(Labels::empty()),
            points: (0..ctx.steps)
                .map(|i| (i as u32, f(&calendar::date(ctx.ts(i) / 1000))))
                .collect(),
        }]));
    }
    let input = ctx.vector(arg(c, 0)?, d, "the argument")?;
    map_values(&input, ctx.steps, |_, v| {
        Some(f(&calendar::date(calendar::go_int64(v))))
    })
}

/// The labels `absent()` and `absent_over_time()` answer with: those the
/// selector's equality matchers fix, except a label matched more than once
/// (Prometheus keeps the first `=` of a label not seen before and drops
/// the label at any later matcher of it).
pub(crate) fn absent_labels(vs: Option<&VectorSelector>) -> Result<Labels, EvalError> {
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut has: Vec<String> = Vec::new();
    if let Some(vs) = vs {
        for m in selector::matchers(vs)? {
            if m.name == METRIC_NAME {
                continue;
            }
            if matches!(m.op, MatchOp::Equal) && !has.contains(&m.name) {
                labels.retain(|(k, _)| *k != m.name);
                labels.push((m.name.clone(), m.value.clone()));
                has.push(m.name.clone());
            } else {
                labels.retain(|(k, _)| *k != m.name);
            }
        }
    }
    Ok(Labels::new(labels))
}

fn absent(ctx: &mut Ctx<'_>, c: &Call, d: usize) -> Result<Node, EvalError> {
    let a = arg(c, 0)?;
    let input = ctx.vector(a, d, "absent()'s argument")?;
    let mut present = vec![false; ctx.steps];
    for s in &input {
        for &(i, _) in &s.points {
            if let Some(p) = present.get_mut(i as usize) {
                *p = true;
            }
        }
    }
    let vs = match unparen(a) {
        Expr::VectorSelector(vs) => Some(vs),
        _ => None,
    };
    let points: Vec<(u32, f64)> = present
        .iter()
        .enumerate()
        .filter(|(_, p)| !**p)
        .map(|(i, _)| (i as u32, 1.0))
        .collect();
    Ok(Node::Vector(if points.is_empty() {
        Vec::new()
    } else {
        vec![StepSeries {
            labels: Arc::new(absent_labels(vs)?),
            points,
        }]
    }))
}

/// Prometheus 2.42's label name rule.
pub(crate) fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Relabels each input series once with `f`; the values pass unchanged.
fn relabel(
    input: &[StepSeries],
    steps: usize,
    f: impl Fn(&Labels) -> Labels,
) -> Result<Node, EvalError> {
    let mut out = Out::default();
    let ids: Vec<u32> = input
        .iter()
        .map(|s| out.id(Arc::new(f(&s.labels))))
        .collect();
    let by = ByStep::new(input, steps);
    for step in 0..steps {
        for &(si, v) in by.at(step) {
            if let Some(&id) = ids.get(si as usize) {
                out.push(id, step, v)?;
            }
        }
    }
    Ok(Node::Vector(out.finish()))
}

fn label_replace(ctx: &mut Ctx<'_>, c: &Call, d: usize) -> Result<Node, EvalError> {
    let dst = string_arg(c, 1)?;
    let repl = string_arg(c, 2)?;
    let src = string_arg(c, 3)?;
    let re_src = string_arg(c, 4)?;
    let input = ctx.vector(arg(c, 0)?, d, "label_replace()'s vector")?;
    if ctx.steps == 0 {
        return Ok(Node::Vector(Vec::new()));
    }
    let re = anchored(&re_src).map_err(|_| {
        execution(format!(
            "invalid regular expression in label_replace(): {re_src}"
        ))
    })?;
    if !is_label_name(&dst) {
        return Err(execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    relabel(&input, ctx.steps, |l| {
        let value = l.value(&src);
        match re.captures(value) {
            Some(caps) => {
                let mut res = String::new();
                caps.expand(&repl, &mut res);
                l.with(&dst, &res)
            }
            None => l.clone(),
        }
    })
}

fn label_join(ctx: &mut Ctx<'_>, c: &Call, d: usize) -> Result<Node, EvalError> {
    let dst = string_arg(c, 1)?;
    let sep = string_arg(c, 2)?;
    let srcs = (3..c.args.args.len())
        .map(|i| string_arg(c, i))
        .collect::<Result<Vec<_>, _>>()?;
    let input = ctx.vector(arg(c, 0)?, d, "label_join()'s vector")?;
    if ctx.steps == 0 {
        return Ok(Node::Vector(Vec::new()));
    }
    if let Some(bad) = srcs.iter().find(|s| !is_label_name(s)) {
        return Err(execution(format!(
            "invalid source label name in label_join(): {bad}"
        )));
    }
    if !is_label_name(&dst) {
        return Err(execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    relabel(&input, ctx.steps, |l| {
        let joined: Vec<&str> = srcs.iter().map(|s| l.value(s)).collect();
        l.with(&dst, &joined.join(&sep))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_min_max_propagate_nan() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert_eq!(go_max(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert_eq!(go_min(f64::NAN, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert_eq!(go_min(2.0, 1.0), 1.0);
    }

    #[test]
    fn absent_keeps_the_first_equality_of_each_label() {
        let vs = |q: &str| match promql_parser::parser::parse(q) {
            Ok(Expr::VectorSelector(vs)) => vs,
            other => panic!("{other:?}"),
        };
        let labels = |q: &str| absent_labels(Some(&vs(q))).expect("valid").into_vec();
        assert_eq!(labels(r#"x{a="1",b="2"}"#).len(), 2);
        assert!(labels(r#"x{a="1",a="2"}"#).is_empty());
        assert!(labels(r#"x{a="1",a=~"2"}"#).is_empty());
        // A regex first does not count as a first equality.
        assert_eq!(
            labels(r#"x{a=~"2",a="1"}"#),
            vec![("a".to_string(), "1".to_string())]
        );
        assert!(labels(r#"x{a="1",a=~"2",a="3"}"#).is_empty());
    }
}
