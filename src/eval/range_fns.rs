//! Functions of range vectors (a range selector or a subquery), with
//! Prometheus 2.42's arithmetic: extrapolation, counter resets, Kahan
//! sums, least squares, double exponential smoothing.

use super::drop_name;
use super::engine::{millis, Ctx};
use super::error::{execution, EvalError};
use super::functions::{absent_labels, arg, unparen};
use super::selector;
use super::steps::check_unique;
use super::value::{Node, StepSeries};
use crate::store::SeriesView;
use promql_parser::parser::{Call, Expr, VectorSelector};
use std::sync::Arc;

pub(crate) fn is_range_function(name: &str) -> bool {
    matches!(
        name,
        "rate"
            | "increase"
            | "delta"
            | "irate"
            | "idelta"
            | "deriv"
            | "predict_linear"
            | "holt_winters"
            | "changes"
            | "resets"
            | "avg_over_time"
            | "min_over_time"
            | "max_over_time"
            | "sum_over_time"
            | "count_over_time"
            | "last_over_time"
            | "present_over_time"
            | "absent_over_time"
            | "stddev_over_time"
            | "stdvar_over_time"
            | "quantile_over_time"
    )
}

/// A range vector ready for per-step windows.
pub(crate) struct RangeArg<'e> {
    pub series: Vec<SeriesView>,
    /// A window ends at the step's time minus this.
    pub offset: i64,
    pub range: i64,
    /// The selector, for a range selector (`absent_over_time`'s labels).
    pub selector: Option<&'e VectorSelector>,
}

/// Evaluates a range selector or subquery argument. It is evaluated with
/// the function, never once for all steps (Prometheus unwraps it from its
/// step-invariant wrapper): under a function that is not step-invariant
/// (`predict_linear`, or one with a parameter that changes) the windows of
/// `x[r] @ t` move with the step, among the samples selected for `t`.
pub(crate) fn range_arg<'e>(
    ctx: &mut Ctx<'_>,
    e: &'e Expr,
    d: usize,
    what: &str,
) -> Result<RangeArg<'e>, EvalError> {
    match unparen(e) {
        Expr::MatrixSelector(ms) => {
            let range = millis(&ms.range);
            let (series, offset) = selector::range_samples(ctx, &ms.vs, range)?;
            Ok(RangeArg {
                series,
                offset,
                range,
                selector: Some(&ms.vs),
            })
        }
        Expr::Subquery(sq) => {
            let (series, offset) = ctx.subquery(sq, d)?;
            Ok(RangeArg {
                series,
                offset,
                range: millis(&sq.range),
                selector: None,
            })
        }
        _ => Err(EvalError::Invalid(format!(
            "{what} expects a range vector such as x[5m]"
        ))),
    }
}

/// Scalar arguments at one step.
#[derive(Clone, Copy, Default)]
struct Params {
    /// The step's time (ms).
    ts: i64,
    a: f64,
    b: f64,
}

pub(crate) fn eval(ctx: &mut Ctx<'_>, c: &Call, d: usize) -> Result<Node, EvalError> {
    let name = c.func.name;
    let what = format!("{name}()");
    let (matrix_index, scalars): (usize, &[usize]) = match name {
        "quantile_over_time" => (1, &[0]),
        "predict_linear" => (0, &[1]),
        "holt_winters" => (0, &[1, 2]),
        _ => (0, &[]),
    };
    let m = range_arg(ctx, arg(c, matrix_index)?, d, &what)?;
    let mut params = Vec::with_capacity(scalars.len());
    for &i in scalars {
        params.push(ctx.scalar(arg(c, i)?, d, &format!("argument {} of {what}", i + 1))?);
    }
    let at = |p: usize, step: usize| -> f64 {
        params
            .get(p)
            .and_then(|v| v.get(step))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let range_secs = (m.range / 1000) as f64 + (m.range % 1000) as f64 / 1000.0;
    let mut out = Vec::with_capacity(m.series.len());
    let mut produced = 0;
    for s in m.series {
        let samples = &s.samples;
        let mut points = Vec::new();
        let (mut lo, mut hi) = (0, 0);
        for step in 0..ctx.steps {
            let ts = ctx.ts(step);
            let maxt = ts.saturating_sub(m.offset);
            let mint = maxt.saturating_sub(m.range);
            while hi < samples.len() && samples[hi].0 <= maxt {
                hi += 1;
            }
            while lo < hi && samples[lo].0 < mint {
                lo += 1;
            }
            let Some(w) = samples.get(lo..hi).filter(|w| !w.is_empty()) else {
                continue;
            };
            let p = Params {
                ts,
                a: at(0, step),
                b: at(1, step),
            };
            if let Some(v) = apply(name, w, mint, maxt, range_secs, p)? {
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
    if name == "absent_over_time" {
        return absent_over_time(&out, ctx.steps, m.selector);
    }
    check_unique(&out)?;
    Ok(Node::Vector(out))
}

/// One series at the steps where no series of the argument had samples.
fn absent_over_time(
    present: &[StepSeries],
    steps: usize,
    vs: Option<&VectorSelector>,
) -> Result<Node, EvalError> {
    let mut seen = vec![false; steps];
    for s in present {
        for &(i, _) in &s.points {
            if let Some(p) = seen.get_mut(i as usize) {
                *p = true;
            }
        }
    }
    let points: Vec<(u32, f64)> = (0..steps)
        .filter(|&i| !seen[i])
        .map(|i| (i as u32, 1.0))
        .collect();
    if points.is_empty() {
        return Ok(Node::Vector(Vec::new()));
    }
    Ok(Node::Vector(vec![StepSeries {
        labels: Arc::new(absent_labels(vs)?),
        points,
    }]))
}

/// One range function over the samples of one window (never empty).
fn apply(
    name: &str,
    w: &[(i64, f64)],
    start: i64,
    end: i64,
    range_secs: f64,
    p: Params,
) -> Result<Option<f64>, EvalError> {
    let values = || w.iter().map(|s| s.1);
    let first = w.first().map_or(f64::NAN, |s| s.1);
    Ok(Some(match name {
        "rate" => return Ok(extrapolated_rate(w, start, end, range_secs, true, true)),
        "increase" => return Ok(extrapolated_rate(w, start, end, range_secs, true, false)),
        "delta" => return Ok(extrapolated_rate(w, start, end, range_secs, false, false)),
        "irate" => return Ok(instant_value(w, true)),
        "idelta" => return Ok(instant_value(w, false)),
        "deriv" => {
            if w.len() < 2 {
                return Ok(None);
            }
            // Relative to the first sample, for precision (as Prometheus).
            linear_regression(w, w[0].0).0
        }
        "predict_linear" => {
            if w.len() < 2 {
                return Ok(None);
            }
            let (slope, intercept) = linear_regression(w, p.ts);
            slope * p.a + intercept
        }
        "holt_winters" => return holt_winters(w, p.a, p.b),
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
        "last_over_time" => w.last().map_or(f64::NAN, |s| s.1),
        "present_over_time" | "absent_over_time" => 1.0,
        "max_over_time" => values().fold(first, |m, v| if v > m || m.is_nan() { v } else { m }),
        "min_over_time" => values().fold(first, |m, v| if v < m || m.is_nan() { v } else { m }),
        "stddev_over_time" => variance(values()).sqrt(),
        "stdvar_over_time" => variance(values()),
        "changes" => w
            .windows(2)
            .filter(|p| p[1].1 != p[0].1 && !(p[1].1.is_nan() && p[0].1.is_nan()))
            .count() as f64,
        "resets" => w.windows(2).filter(|p| p[1].1 < p[0].1).count() as f64,
        "quantile_over_time" => {
            let mut v: Vec<f64> = values().collect();
            super::aggregate::quantile(p.a, &mut v)
        }
        _ => return Ok(None),
    }))
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

/// Least squares over `(t, v)` with times in seconds relative to
/// `intercept_time`: `(slope, value at intercept_time)`. A constant series
/// has slope 0 (NaN for a constant infinity), whatever the times.
fn linear_regression(w: &[(i64, f64)], intercept_time: i64) -> (f64, f64) {
    let init = w.first().map_or(f64::NAN, |s| s.1);
    let constant = w.iter().skip(1).all(|s| s.1 == init);
    if constant {
        return if init.is_infinite() {
            (f64::NAN, f64::NAN)
        } else {
            (0.0, init)
        };
    }
    let n = w.len() as f64;
    let (mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    for &(t, v) in w {
        let x = t.wrapping_sub(intercept_time) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

/// Double exponential smoothing with smoothing factor `sf` and trend factor
/// `tf`, both strictly between 0 and 1 (checked only where there are
/// samples, as Prometheus does).
fn holt_winters(w: &[(i64, f64)], sf: f64, tf: f64) -> Result<Option<f64>, EvalError> {
    if sf <= 0.0 || sf >= 1.0 {
        return Err(execution(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
        )));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(execution(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
        )));
    }
    let [first, second, ..] = w else {
        return Ok(None);
    };
    let (mut s0, mut s1) = (0.0, first.1);
    let mut trend = second.1 - first.1;
    for (i, &(_, v)) in w.iter().enumerate().skip(1) {
        // The first step starts from the initial trend.
        if i > 1 {
            trend = tf * (s1 - s0) + (1.0 - tf) * trend;
        }
        let smoothed = sf * v + (1.0 - sf) * (s1 + trend);
        (s0, s1) = (s1, smoothed);
    }
    Ok(Some(s1))
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
    // Go's int64 arithmetic (wrapping) on the times, then float.
    let mut to_start = first.0.wrapping_sub(range_start) as f64 / 1000.0;
    let to_end = range_end.wrapping_sub(last.0) as f64 / 1000.0;
    let sampled = last.0.wrapping_sub(first.0) as f64 / 1000.0;
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
    let gap = last.0.wrapping_sub(prev.0);
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
    fn least_squares_and_smoothing() {
        let line: Vec<(i64, f64)> = (0..5).map(|i| (i * 10_000, 3.0 + 2.0 * i as f64)).collect();
        let (slope, at_end) = linear_regression(&line, 40_000);
        assert!((slope - 0.2).abs() < 1e-12 && (at_end - 11.0).abs() < 1e-12);
        assert_eq!(linear_regression(&[(0, 4.0), (1, 4.0)], 0), (0.0, 4.0));
        assert!(
            linear_regression(&[(0, f64::INFINITY), (1, f64::INFINITY)], 0)
                .0
                .is_nan()
        );
        // A straight line smooths to its last value.
        let hw = holt_winters(&line, 0.5, 0.5).expect("valid factors");
        assert_eq!(hw, Some(11.0));
        assert!(holt_winters(&line, 1.0, 0.5).is_err());
        assert!(holt_winters(&line, f64::NAN, 0.5)
            .expect("NaN passes")
            .is_some());
    }
}
