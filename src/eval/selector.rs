//! Vector and range selectors: PromQL matchers to store matchers, and the
//! 5-minute lookback with staleness for instant selectors (Prometheus 2.x:
//! a sample exactly `lookback` old still counts).

use super::engine::Ctx;
use super::error::{unsupported, EvalError};
use super::value::StepSeries;
use crate::store::{is_stale, Matcher, SeriesView, METRIC_NAME};
use promql_parser::label::MatchOp;
use promql_parser::parser::{Offset, VectorSelector};

/// Store matchers for a selector, regexes recompiled fully anchored.
pub(crate) fn matchers(vs: &VectorSelector) -> Result<Vec<Matcher>, EvalError> {
    if vs.at.is_some() {
        return Err(unsupported("the @ modifier"));
    }
    if !vs.matchers.or_matchers.is_empty() {
        return Err(unsupported("`or` inside a label selector"));
    }
    let mut out = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    if let Some(name) = &vs.name {
        out.push(Matcher::equal(METRIC_NAME, name));
    }
    for m in &vs.matchers.matchers {
        let bad = |e: regex::Error| EvalError::Parse(format!("bad regex {:?}: {e}", m.value));
        out.push(match &m.op {
            MatchOp::Equal => Matcher::equal(&m.name, &m.value),
            MatchOp::NotEqual => Matcher::not_equal(&m.name, &m.value),
            MatchOp::Re(_) => Matcher::regex(&m.name, &m.value).map_err(bad)?,
            MatchOp::NotRe(_) => Matcher::not_regex(&m.name, &m.value).map_err(bad)?,
        });
    }
    Ok(out)
}

pub(crate) fn offset_ms(vs: &VectorSelector) -> i64 {
    match &vs.offset {
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
        None => 0,
    }
}

/// Series matching `vs` with samples in `[first step - offset - window, last step - offset]`.
pub(crate) fn fetch(
    ctx: &mut Ctx<'_>,
    vs: &VectorSelector,
    window: i64,
) -> Result<Vec<SeriesView>, EvalError> {
    let ms = matchers(vs)?;
    let off = offset_ms(vs);
    let mint = ctx.start.saturating_sub(off).saturating_sub(window);
    let maxt = ctx.end().saturating_sub(off);
    let series = ctx
        .store
        .select_limited(&ms, mint, maxt, ctx.budget())
        .map_err(|_| ctx.too_many())?;
    ctx.charge(series.iter().map(|s| s.samples.len()).sum())?;
    Ok(series)
}

/// An instant vector selector at every step.
pub(crate) fn instant(
    ctx: &mut Ctx<'_>,
    vs: &VectorSelector,
) -> Result<Vec<StepSeries>, EvalError> {
    let lookback = ctx.opts.lookback_ms;
    let series = fetch(ctx, vs, lookback)?;
    let off = offset_ms(vs);
    let mut out = Vec::with_capacity(series.len());
    let mut produced = 0;
    for s in series {
        let mut points = Vec::new();
        let mut next = 0; // first sample after the reference time
        for step in 0..ctx.steps {
            let reft = ctx.ts(step).saturating_sub(off);
            while next < s.samples.len() && s.samples[next].0 <= reft {
                next += 1;
            }
            let Some(&(t, v)) = next.checked_sub(1).and_then(|i| s.samples.get(i)) else {
                continue;
            };
            if t < reft.saturating_sub(lookback) || is_stale(v) {
                continue;
            }
            points.push((step as u32, v));
        }
        produced += points.len();
        if !points.is_empty() {
            out.push(StepSeries {
                labels: s.labels,
                points,
            });
        }
    }
    ctx.charge(produced)?;
    Ok(out)
}

/// Samples of a range selector without staleness markers (they only end
/// series; range functions never see them).
pub(crate) fn range_samples(
    ctx: &mut Ctx<'_>,
    vs: &VectorSelector,
    range: i64,
) -> Result<Vec<SeriesView>, EvalError> {
    let mut series = fetch(ctx, vs, range)?;
    for s in &mut series {
        s.samples.retain(|&(_, v)| !is_stale(v));
    }
    series.retain(|s| !s.samples.is_empty());
    Ok(series)
}
