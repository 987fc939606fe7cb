//! PromQL functions, with Prometheus 2.x's arithmetic (extrapolation,
//! counter resets, Kahan sums, Go's `math.Max`/`Min` NaN rules).

use super::engine::Ctx;
use super::error::{unsupported, EvalError};
use super::selector::{self, offset_ms};
use super::steps::{check_unique, ByStep, Out};
use super::value::{Lbl, Node, StepSeries};
use super::{drop_name, histogram};
use crate::store::{anchored, Labels, MatchOp, METRIC_NAME};
use promql_parser::parser::{Call, Expr};
use std::sync::Arc;

pub(crate) fn unparen(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

fn arg(c: &Call, i: usize) -> Result<&Expr, EvalError> {
    c.args.args.get(i).map(|b| &**b).ok_or_else(|| {
        EvalError::Invalid(format!("{}() is missing argument {}", c.func.name, i + 1))
    })
}

fn string_arg(c: &Call, i: usize) -> Result<String, EvalError> {
    match unparen(arg(c, i)?) {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        _ => Err(EvalError::Invalid(format!(
            "argument {} of {}() must be a string",
            i + 1,
            c.func.name
        ))),
    }
}

pub(crate) fn eval(ctx: &mut Ctx<'_>, c: &Call, d: usize) -> Result<Node, EvalError> {
    let name = c.func.name;
    match name {
        "rate" | "increase" | "delta" | "irate" | "idelta" | "avg_over_time" | "min_over_time"
        | "max_over_time" | "sum_over_time" | "count_over_time" | "last_over_time"
        | "present_over_time" | "stddev_over_time" | "stdvar_over_time" | "changes" | "resets"
        | "quantile_over_time" => range_function(ctx, c, d),
        "abs" => simple(ctx, c, d, f64::abs),
        "ceil" => simple(ctx, c, d, f64::ceil),
        "floor" => simple(ctx, c, d, f64::floor),
        "exp" => simple(ctx, c, d, f64::exp),
        "sqrt" => simple(ctx, c, d, f64::sqrt),
        "ln" => simple(ctx, c, d, f64::ln),
        "log2" => simple(ctx, c, d, f64::log2),
        "log10" => simple(ctx, c, d, f64::log10),
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
            let bound = ctx.scalar(arg(c, 1)?, d, "the clamp bound")?;
            let input = ctx.vector(arg(c, 0)?, d, "the clamped vector")?;
            let is_min = name == "clamp_min";
            map_values(&input, ctx.steps, |step, v| {
                let b = bound.get(step).copied().unwrap_or(f64::NAN);
                Some(if is_min { go_max(b, v) } else { go_min(b, v) })
            })
        }
        "clamp" => {
            let lo = ctx.scalar(arg(c, 1)?, d, "clamp()'s min")?;
            let hi = ctx.scalar(arg(c, 2)?, d, "clamp()'s max")?;
            let input = ctx.vector(arg(c, 0)?, d, "clamp()'s vector")?;
            map_values(&input, ctx.steps, |step, v| {
                let (lo, hi) = (lo.get(step).copied()?, hi.get(step).copied()?);
                (hi >= lo).then(|| go_max(lo, go_min(hi, v)))
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
        "absent" => absent(ctx, c, d),
        "label_replace" => label_replace(ctx, c, d),
        "histogram_quantile" => {
            let q = ctx.scalar(arg(c, 0)?, d, "histogram_quantile()'s quantile")?;
            let input = ctx.vector(arg(c, 1)?, d, "histogram_quantile()'s buckets")?;
            histogram::quantile(&q, &input, ctx.steps)
        }
        // Ordering applies only to an instant query's answer (`instant_with`).
        "sort" | "sort_desc" => Ok(Node::Vector(ctx.vector(
            arg(c, 0)?,
            d,
            "sort()'s argument",
        )?)),
        other => Err(unsupported(format!("the function {other}()"))),
    }
}

/// Go's `math.Max`: NaN wins over everything but +Inf.
fn go_max(x: f64, y: f64) -> f64 {
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
fn go_min(x: f64, y: f64) -> f64 {
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
    // Labels come from the selector's equality matchers; a label matched
    // twice (or by another operator) is left out, as in Prometheus.
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    if let Expr::VectorSelector(vs) = unparen(a) {
        for m in selector::matchers(vs)? {
            if m.name == METRIC_NAME {
                continue;
            }
            let first = !labels.iter().any(|(k, _)| *k == m.name) && !dropped.contains(&m.name);
            if matches!(m.op, MatchOp::Equal) && first {
                labels.push((m.name.clone(), m.value.clone()));
            } else {
                labels.retain(|(k, _)| *k != m.name);
                dropped.push(m.name.clone());
            }
        }
    }
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
            labels: Arc::new(Labels::new(labels)),
            points,
        }]
    }))
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn label_replace(ctx: &mut Ctx<'_>, c: &Call, d: usize) -> Result<Node, EvalError> {
    let dst = string_arg(c, 1)?;
    let repl = string_arg(c, 2)?;
    let src = string_arg(c, 3)?;
    let re_src = string_arg(c, 4)?;
    let re = anchored(&re_src).map_err(|_| {
        EvalError::Invalid(format!(
            "invalid regular expression in label_replace(): {re_src}"
        ))
    })?;
    if !is_label_name(&dst) {
        return Err(EvalError::Invalid(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let input = ctx.vector(arg(c, 0)?, d, "label_replace()'s vector")?;
    let mut out = Out::default();
    let ids: Vec<u32> = input
        .iter()
        .map(|s| {
            let value = s.labels.value(&src);
            let labels = match re.captures(value) {
                Some(caps) => {
                    let mut res = String::new();
                    caps.expand(&repl, &mut res);
                    Arc::new(s.labels.with(&dst, &res))
                }
                None => s.labels.clone(),
            };
            out.id(labels)
        })
        .collect();
    let by = ByStep::new(&input, ctx.steps);
    for step in 0..ctx.steps {
        for &(si, v) in by.at(step) {
            if let Some(&id) = ids.get(si as usize) {
                out.push(id, step, v)?;
            }
        }
    }
    Ok(Node::Vector(out.finish()))
}

fn range_function(ctx: &mut Ctx<'_>, c: &Call, d: usize) -> Result<Node, EvalError> {
    let name = c.func.name;
    let (q, matrix_arg) = if name == "quantile_over_time" {
        (Some(ctx.scalar(arg(c, 0)?, d, "the quantile")?), arg(c, 1)?)
    } else {
        (None, arg(c, 0)?)
    };
    let ms = match unparen(matrix_arg) {
        Expr::MatrixSelector(ms) => ms,
        Expr::Subquery(_) => return Err(unsupported("a subquery")),
        _ => {
            return Err(EvalError::Invalid(format!(
                "{name}() expects a range vector such as x[5m]"
            )))
        }
    };
    let range = ms.range.as_millis() as i64;
    let range_secs = (range / 1000) as f64 + (range % 1000) as f64 / 1000.0;
    let off = offset_ms(&ms.vs);
    let series = selector::range_samples(ctx, &ms.vs, range)?;
    let mut out = Vec::with_capacity(series.len());
    let mut produced = 0;
    for s in series {
        let samples = &s.samples;
        let mut points = Vec::new();
        let (mut lo, mut hi) = (0, 0);
        for step in 0..ctx.steps {
            let maxt = ctx.ts(step) - off;
            let mint = maxt - range;
            while hi < samples.len() && samples[hi].0 <= maxt {
                hi += 1;
            }
            while lo < hi && samples[lo].0 < mint {
                lo += 1;
            }
            let Some(w) = samples.get(lo..hi).filter(|w| !w.is_empty()) else {
                continue;
            };
            let qv = q
                .as_ref()
                .and_then(|q| q.get(step).copied())
                .unwrap_or(f64::NAN);
            if let Some(v) = apply(name, w, mint, maxt, range_secs, qv) {
                points.push((step as u32, v));
            }
        }
        if points.is_empty() {
            continue;
        }
        produced += points.len();
        let labels = if name == "last_over_time" {
            s.labels
        } else {
            drop_name(&s.labels)
        };
        out.push(StepSeries { labels, points });
    }
    ctx.charge(produced)?;
    check_unique(&out)?;
    Ok(Node::Vector(out))
}

/// One range function over the samples of one window (never empty).
fn apply(
    name: &str,
    w: &[(i64, f64)],
    start: i64,
    end: i64,
    range_secs: f64,
    q: f64,
) -> Option<f64> {
    let values = || w.iter().map(|s| s.1);
    Some(match name {
        "rate" => extrapolated_rate(w, start, end, range_secs, true, true)?,
        "increase" => extrapolated_rate(w, start, end, range_secs, true, false)?,
        "delta" => extrapolated_rate(w, start, end, range_secs, false, false)?,
        "irate" => instant_value(w, true)?,
        "idelta" => instant_value(w, false)?,
        "avg_over_time" => avg(values()),
        "sum_over_time" => {
            let (mut sum, mut c) = (0.0, 0.0);
            for v in values() {
                (sum, c) = kahan_inc(v, sum, c);
            }
            if sum.is_infinite() {
                sum
            } else {
                sum + c
            }
        }
        "count_over_time" => w.len() as f64,
        "last_over_time" => w.last()?.1,
        "present_over_time" => 1.0,
        "max_over_time" => {
            values().fold(w.first()?.1, |m, v| if v > m || m.is_nan() { v } else { m })
        }
        "min_over_time" => {
            values().fold(w.first()?.1, |m, v| if v < m || m.is_nan() { v } else { m })
        }
        "stddev_over_time" => variance(values()).sqrt(),
        "stdvar_over_time" => variance(values()),
        "changes" => w
            .windows(2)
            .filter(|p| p[1].1 != p[0].1 && !(p[1].1.is_nan() && p[0].1.is_nan()))
            .count() as f64,
        "resets" => w.windows(2).filter(|p| p[1].1 < p[0].1).count() as f64,
        "quantile_over_time" => {
            let mut v: Vec<f64> = values().collect();
            super::aggregate::quantile(q, &mut v)
        }
        _ => return None,
    })
}

/// Neumaier's compensated summation step, as Prometheus uses it.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

fn avg(values: impl Iterator<Item = f64>) -> f64 {
    let (mut mean, mut count, mut c) = (0.0f64, 0.0f64, 0.0f64);
    for v in values {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        (mean, c) = kahan_inc(v / count - mean / count, mean, c);
    }
    if mean.is_infinite() {
        mean
    } else {
        mean + c
    }
}

fn variance(values: impl Iterator<Item = f64>) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for v in values {
        count += 1.0;
        let delta = v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// `rate`, `increase`, `delta`: the change over the window, corrected for
/// counter resets and extrapolated towards the window's edges.
fn extrapolated_rate(
    w: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    range_secs: f64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (first, last) = (w.first()?, w.last()?);
    let mut result = last.1 - first.1;
    if is_counter {
        let mut prev = first.1;
        for s in &w[1..] {
            if s.1 < prev {
                result += prev;
            }
            prev = s.1;
        }
    }
    let mut to_start = (first.0 - range_start) as f64 / 1000.0;
    let to_end = (range_end - last.0) as f64 / 1000.0;
    let sampled = (last.0 - first.0) as f64 / 1000.0;
    let avg_gap = sampled / (w.len() - 1) as f64;
    if is_counter && result > 0.0 && first.1 >= 0.0 {
        // A counter cannot go below zero: extrapolate at most to where it would.
        let to_zero = sampled * (first.1 / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = avg_gap * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        avg_gap / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        avg_gap / 2.0
    };
    let mut factor = interval / sampled;
    if is_rate {
        factor /= range_secs;
    }
    Some(result * factor)
}

/// `irate`, `idelta`: from the last two samples only.
fn instant_value(w: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    let n = w.len();
    if n < 2 {
        return None;
    }
    let (prev, last) = (w[n - 2], w[n - 1]);
    let mut result = if is_rate && last.1 < prev.1 {
        last.1
    } else {
        last.1 - prev.1
    };
    let gap = last.0 - prev.0;
    if gap == 0 {
        return None;
    }
    if is_rate {
        result /= gap as f64 / 1000.0;
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_extrapolates_like_prometheus() {
        // 0..=60 s at 15 s, +15 per sample, window [-1 s, 61 s] of 62 s.
        let w: Vec<(i64, f64)> = (0..5)
            .map(|i| (i * 15_000, 15.0 * i as f64 + 100.0))
            .collect();
        let r = extrapolated_rate(&w, -1000, 61_000, 62.0, true, false).expect("two samples");
        assert!((r - 60.0 * 62.0 / 60.0).abs() < 1e-9, "{r}");
        // A reset adds the value before it.
        let reset = [(0, 10.0), (15_000, 20.0), (30_000, 5.0)];
        let inc = extrapolated_rate(&reset, 0, 30_000, 30.0, true, false).expect("samples");
        // 10 → 20 (+10), reset, 0 → 5 (+5).
        assert!((inc - 15.0).abs() < 1e-9, "{inc}");
        assert_eq!(instant_value(&reset, true), Some(5.0 / 15.0));
        assert_eq!(instant_value(&reset[..1], true), None);
    }

    #[test]
    fn go_min_max_propagate_nan() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert_eq!(go_max(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert_eq!(go_min(f64::NAN, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert_eq!(go_min(2.0, 1.0), 1.0);
    }
}
