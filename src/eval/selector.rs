//! Vector and range selectors: PromQL matchers to store matchers, the
//! 5-minute lookback with staleness for instant selectors (Prometheus 2.x:
//! a sample exactly `lookback` old still counts), `offset` and `@`.

use super::engine::{offset_ms, Ctx};
use super::error::{unsupported, EvalError};
use super::strings::unquote;
use super::value::StepSeries;
use crate::store::{is_stale, Matcher, SeriesView, METRIC_NAME};
use promql_parser::label::MatchOp;
use promql_parser::parser::VectorSelector;

/// Store matchers for a selector, regexes recompiled fully anchored.
pub(crate) fn matchers(vs: &VectorSelector) -> Result<Vec<Matcher>, EvalError> {
    if !vs.matchers.or_matchers.is_empty() {
        return Err(unsupported("`or` inside a label selector"));
    }
    let mut out = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    if let Some(name) = &vs.name {
        out.push(Matcher::equal(METRIC_NAME, name));
    }
    for m in &vs.matchers.matchers {
        let value = unquote(&m.value);
        let bad = |e: regex::Error| EvalError::Parse(format!("bad regex {:?}: {e}", m.value));
        out.push(match &m.op {
            MatchOp::Equal => Matcher::equal(&m.name, &value),
            MatchOp::NotEqual => Matcher::not_equal(&m.name, &value),
            MatchOp::Re(_) => Matcher::regex(&m.name, &value).map_err(bad)?,
            MatchOp::NotRe(_) => Matcher::not_regex(&m.name, &value).map_err(bad)?,
        });
    }
    Ok(out)
}

/// A selector's `@` time, own offset and the offset it is evaluated with.
pub(crate) struct Timing {
    pub at: Option<i64>,
    pub offset: i64,
    pub effective: i64,
}

pub(crate) fn timing(ctx: &Ctx<'_>, vs: &VectorSelector) -> Timing {
    let at = ctx.at(&vs.at);
    let offset = offset_ms(&vs.offset);
    Timing {
        at,
        offset,
        effective: ctx.effective_offset(at, offset),
    }
}

/// Series matching `vs` with their samples in the range Prometheus would
/// select for it (see [`Ctx::data_range`]), staleness markers included.
pub(crate) fn fetch(
    ctx: &Ctx<'_>,
    vs: &VectorSelector,
    t: &Timing,
    window: i64,
) -> Result<Vec<SeriesView>, EvalError> {
    let ms = matchers(vs)?;
    let (mint, maxt) = ctx.data_range(t.at, t.offset, window);
    if mint > maxt {
        return Ok(Vec::new());
    }
    let series = ctx
        .store
        .select_limited(&ms, mint, maxt, ctx.budget())
        .map_err(|_| ctx.too_many())?;
    ctx.charge(series.iter().map(|s| s.samples.len()).sum())?;
    Ok(series)
}

/// An instant vector selector at every step.
pub(crate) fn instant(ctx: &Ctx<'_>, vs: &VectorSelector) -> Result<Vec<StepSeries>, EvalError> {
    let t = timing(ctx, vs);
    let off = t.effective;
    lookup(ctx, vs, &t, |step| ctx.ts(step).saturating_sub(off), false)
}

/// The selector under `timestamp()`: the time of the sample each step
/// sees, in seconds. Prometheus evaluates `x @ t` there at `t` itself,
/// leaving out the selector's own offset (the samples it may see still
/// end at `t - offset`).
pub(crate) fn timestamps(ctx: &Ctx<'_>, vs: &VectorSelector) -> Result<Vec<StepSeries>, EvalError> {
    let t = timing(ctx, vs);
    let (at, off) = (t.at, t.offset);
    lookup(
        ctx,
        vs,
        &t,
        |step| at.unwrap_or_else(|| ctx.ts(step).saturating_sub(off)),
        true,
    )
}

/// For every step, the last sample at or before `reference(step)` and at
/// most the lookback before it, unless it is a staleness marker.
fn lookup(
    ctx: &Ctx<'_>,
    vs: &VectorSelector,
    t: &Timing,
    reference: impl Fn(usize) -> i64,
    times: bool,
) -> Result<Vec<StepSeries>, EvalError> {
    let lookback = ctx.opts.lookback_ms;
    let series = fetch(ctx, vs, t, lookback)?;
    let mut out = Vec::with_capacity(series.len());
    let mut produced = 0;
    for s in series {
        let mut points = Vec::new();
        let mut next = 0; // first sample after the reference time
        for step in 0..ctx.steps {
            let reft = reference(step);
            while next < s.samples.len() && s.samples[next].0 <= reft {
                next += 1;
            }
            let Some(&(ts, v)) = next.checked_sub(1).and_then(|i| s.samples.get(i)) else {
                continue;
            };
            if ts < reft.saturating_sub(lookback) || is_stale(v) {
                continue;
            }
            points.push((step as u32, if times { ts as f64 / 1000.0 } else { v }));
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
/// series; range functions never see them), and the offset its windows end at.
pub(crate) fn range_samples(
    ctx: &Ctx<'_>,
    vs: &VectorSelector,
    range: i64,
) -> Result<(Vec<SeriesView>, i64), EvalError> {
    let t = timing(ctx, vs);
    let mut series = fetch(ctx, vs, &t, range)?;
    for s in &mut series {
        s.samples.retain(|&(_, v)| !is_stale(v));
    }
    series.retain(|s| !s.samples.is_empty());
    Ok((series, t.effective))
}
