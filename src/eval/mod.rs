//! PromQL over the embedded [`crate::store`], with Prometheus 2.42's
//! semantics, so the plugin's direct mode answers the dashboards' and alert
//! rules' queries without a Prometheus server.
//!
//! Everything Prometheus 2.42's PromQL accepts on float samples: instant
//! and range selectors (all matcher types, `offset`, `@` with `start()` and
//! `end()`, 5-minute lookback, staleness), subqueries (steps aligned to
//! multiples of their step, by default [`EvalOptions::subquery_step_ms`]),
//! every function and aggregation, arithmetic, comparison (`bool`) and set
//! operators with `on`/`ignoring` and `group_left`/`group_right`. Where
//! Prometheus 2.42's answer depends on how its engine rewrites `@` into
//! offsets, or on an aggregation parameter it leaves unprocessed, direct
//! mode gives the same answer. Instant answers come in Prometheus's order
//! (`sort`, `sort_desc`, `topk`, `bottomk`, aggregation groups), range
//! answers sorted by labels. What the parser accepts but 2.42 does not
//! (`sort_by_label`, `or` in label selectors) is an error naming it.
//!
//! Logarithms are computed as Go computes them, to the last bit. Other
//! transcendental functions (`exp`, `sin`, `^`, ...) use the platform's
//! math library; Go's, which Prometheus uses, is not correctly rounded and
//! can differ in the last bit, which shows where `count_values` turns such
//! a value into a label or a later step magnifies it (`sin` of a huge
//! power).
//!
//! Queries are evaluated for all steps at once, node by node, and bounded:
//! see [`EvalOptions`].

mod aggregate;
mod binary;
mod calendar;
mod engine;
mod error;
mod functions;
mod gomath;
mod histogram;
mod order;
mod range_fns;
mod selector;
mod steps;
pub mod strings;
mod value;

pub use error::EvalError;
pub use value::{Labels, Matrix, Sample, Series, Value};

use crate::store::{Store, METRIC_NAME};
use engine::{Ctx, Shared};
use promql_parser::parser::Expr;
use std::sync::Arc;
use value::{Lbl, Node};

/// Limits and settings of one evaluation.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// How far back an instant selector looks for a sample.
    pub lookback_ms: i64,
    /// Samples read from the store plus points produced, per query.
    pub max_samples: usize,
    /// Steps of a range query (Prometheus refuses more than 11,000).
    pub max_steps: usize,
    pub max_query_bytes: usize,
    /// Nesting of the expression.
    pub max_depth: usize,
    /// A subquery's step when it names none: Prometheus's global
    /// `evaluation_interval`, 1 minute unless configured.
    pub subquery_step_ms: i64,
    /// Steps one evaluation of a subquery may have.
    pub max_subquery_steps: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            lookback_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            max_steps: 11_000,
            max_query_bytes: 64 * 1024,
            max_depth: 200,
            subquery_step_ms: 60_000,
            max_subquery_steps: 1_000_000,
        }
    }
}

/// Evaluates `expr` at `time_ms`, as Prometheus's `/api/v1/query`.
pub fn instant(store: &Store, expr: &str, time_ms: i64) -> Result<Value, EvalError> {
    instant_with(store, expr, time_ms, &EvalOptions::default())
}

/// Evaluates `expr` at every step from `start_ms` to `end_ms`, as
/// Prometheus's `/api/v1/query_range`; series sorted by labels.
pub fn range(
    store: &Store,
    expr: &str,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
) -> Result<Matrix, EvalError> {
    range_with(
        store,
        expr,
        start_ms,
        end_ms,
        step_ms,
        &EvalOptions::default(),
    )
}

/// [`instant`] with explicit limits. A vector comes in the order
/// Prometheus answers it in.
pub fn instant_with(
    store: &Store,
    expr: &str,
    time_ms: i64,
    opts: &EvalOptions,
) -> Result<Value, EvalError> {
    let ast = parse(expr, opts)?;
    let shared = Shared::new(store, opts, time_ms, time_ms);
    let mut ctx = Ctx::new(&shared, time_ms, time_ms, 0, 1);
    match functions::unparen(&ast) {
        Expr::MatrixSelector(ms) => {
            let range = engine::millis(&ms.range);
            let (series, off) = selector::range_samples(&ctx, &ms.vs, range)?;
            let hi = time_ms.saturating_sub(off);
            let lo = hi.saturating_sub(range);
            return Ok(matrix(series.into_iter().map(|s| {
                Series {
                    labels: Arc::unwrap_or_clone(s.labels),
                    points: s
                        .samples
                        .into_iter()
                        .filter(|(t, _)| (lo..=hi).contains(t))
                        .collect(),
                }
            })));
        }
        Expr::Subquery(sq) => {
            let (series, _) = ctx.subquery(sq, 0)?;
            return Ok(matrix(series.into_iter().map(|s| Series {
                labels: Arc::unwrap_or_clone(s.labels),
                points: s.samples,
            })));
        }
        _ => {}
    }
    Ok(match ctx.eval_arg(&ast, 0)? {
        Node::Scalar(v) => Value::Scalar {
            t: time_ms,
            v: v.first().copied().unwrap_or(f64::NAN),
        },
        Node::String(s) => Value::String(s),
        Node::Vector(series) => Value::Vector(
            series
                .into_iter()
                .filter_map(|s| {
                    let (_, v) = s.points.first().copied()?;
                    Some(Sample {
                        labels: Arc::unwrap_or_clone(s.labels),
                        t: time_ms,
                        v,
                    })
                })
                .collect(),
        ),
    })
}

/// A range vector's series with samples, sorted by labels.
fn matrix(series: impl Iterator<Item = Series>) -> Value {
    let mut m: Matrix = series.filter(|s| !s.points.is_empty()).collect();
    m.sort_by(|a, b| a.labels.cmp(&b.labels));
    Value::Matrix(m)
}

pub fn range_with(
    store: &Store,
    expr: &str,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
    opts: &EvalOptions,
) -> Result<Matrix, EvalError> {
    if step_ms <= 0 {
        return Err(EvalError::Invalid("the step must be positive".into()));
    }
    if end_ms < start_ms {
        return Err(EvalError::Invalid("the range ends before it starts".into()));
    }
    let steps = ((end_ms - start_ms) / step_ms) as u64 + 1;
    if steps > opts.max_steps as u64 {
        return Err(EvalError::TooManySteps {
            steps,
            limit: opts.max_steps,
        });
    }
    let ast = parse(expr, opts)?;
    let shared = Shared::new(store, opts, start_ms, end_ms);
    let mut ctx = Ctx::new(&shared, start_ms, end_ms, step_ms, steps as usize);
    match ctx.eval_arg(&ast, 0)? {
        Node::Scalar(v) => Ok(vec![Series {
            labels: Labels::empty(),
            points: v
                .into_iter()
                .enumerate()
                .map(|(i, v)| (ctx.ts(i), v))
                .collect(),
        }]),
        Node::String(_) => Err(EvalError::Invalid(
            "a string is not a valid result of a range query".into(),
        )),
        Node::Vector(series) => {
            let mut m: Matrix = series
                .into_iter()
                .map(|s| Series {
                    labels: Arc::unwrap_or_clone(s.labels),
                    points: s
                        .points
                        .into_iter()
                        .map(|(i, v)| (ctx.ts(i as usize), v))
                        .collect(),
                })
                .collect();
            m.sort_by(|a, b| a.labels.cmp(&b.labels));
            Ok(m)
        }
    }
}

fn parse(expr: &str, opts: &EvalOptions) -> Result<Expr, EvalError> {
    if expr.len() > opts.max_query_bytes {
        return Err(EvalError::TooLong {
            len: expr.len(),
            limit: opts.max_query_bytes,
        });
    }
    // The parser and the evaluator recurse per nesting level: refuse deep
    // nesting before parsing.
    let mut depth = 0usize;
    let mut deepest = 0usize;
    for c in expr.bytes() {
        match c {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > opts.max_depth / 2 {
        return Err(EvalError::TooDeep {
            limit: opts.max_depth / 2,
        });
    }
    let parsed = std::panic::catch_unwind(|| promql_parser::parser::parse(&strings::requote(expr)))
        .map_err(|_| EvalError::Parse("the parser failed on this input".into()))?;
    let ast = parsed.map_err(EvalError::Parse)?;
    // Bounds every later recursion, and refuses what Prometheus 2.42's
    // parser refuses but this one accepts.
    let or_matchers =
        || EvalError::Parse("`or` inside a label selector (not in Prometheus 2.42)".into());
    engine::walk(&ast, opts.max_depth, &mut |e| match e {
        Expr::Call(c) if functions::newer_than_2_42(c.func.name) => Err(EvalError::Parse(format!(
            "unknown function with name {:?} (not in Prometheus 2.42)",
            c.func.name
        ))),
        Expr::VectorSelector(vs) if !vs.matchers.or_matchers.is_empty() => Err(or_matchers()),
        Expr::MatrixSelector(ms) if !ms.vs.matchers.or_matchers.is_empty() => Err(or_matchers()),
        _ => Ok(()),
    })
    .map_err(|e| match e {
        EvalError::TooDeep { .. } => EvalError::TooDeep {
            limit: opts.max_depth,
        },
        other => other,
    })?;
    Ok(ast)
}

/// The labels without `__name__`.
pub(crate) fn drop_name(l: &Lbl) -> Lbl {
    if l.get(METRIC_NAME).is_none() {
        return l.clone();
    }
    Arc::new(l.without(&[METRIC_NAME]))
}

#[cfg(test)]
mod tests;
