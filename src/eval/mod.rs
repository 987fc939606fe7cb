//! PromQL over the embedded [`crate::store`], with Prometheus 2.x's
//! semantics, so the plugin's direct mode answers the dashboards' and alert
//! rules' queries without a Prometheus server.
//!
//! Supported: instant and range selectors (all matcher types, `offset`,
//! 5-minute lookback, staleness), `rate` `irate` `increase` `delta`
//! `idelta` `changes` `resets`, `*_over_time` (avg min max sum count last
//! present stddev stdvar quantile), `histogram_quantile`, `clamp*`, `abs`
//! `ceil` `floor` `round` `exp` `sqrt` `ln` `log2` `log10` `sgn`, `vector`
//! `scalar` `time` `absent` `label_replace` `sort*`; aggregations sum avg
//! min max count group stddev stdvar topk bottomk quantile with
//! `by`/`without`; arithmetic, comparison (`bool`) and set operators with
//! `on`/`ignoring` and `group_left`/`group_right`. Anything else (subqueries,
//! `@`, other functions) is an [`EvalError::Unsupported`] naming it.
//!
//! Queries are evaluated for all steps at once, node by node, and bounded:
//! see [`EvalOptions`].

mod aggregate;
mod binary;
mod engine;
mod error;
mod functions;
mod histogram;
mod selector;
mod steps;
mod value;

pub use error::EvalError;
pub use value::{Labels, Matrix, Sample, Series, Value};

use crate::store::{Store, METRIC_NAME};
use engine::Ctx;
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
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            lookback_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            max_steps: 11_000,
            max_query_bytes: 64 * 1024,
            max_depth: 200,
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

pub fn instant_with(
    store: &Store,
    expr: &str,
    time_ms: i64,
    opts: &EvalOptions,
) -> Result<Value, EvalError> {
    let ast = parse(expr, opts)?;
    let mut ctx = Ctx::new(store, opts, time_ms, 0, 1);
    if let Expr::MatrixSelector(ms) = functions::unparen(&ast) {
        let range = ms.range.as_millis() as i64;
        let off = selector::offset_ms(&ms.vs);
        let series = selector::range_samples(&mut ctx, &ms.vs, range)?;
        let (lo, hi) = (time_ms - off - range, time_ms - off);
        return Ok(Value::Matrix(
            series
                .into_iter()
                .map(|s| Series {
                    labels: Arc::unwrap_or_clone(s.labels),
                    points: s
                        .samples
                        .into_iter()
                        .filter(|(t, _)| (lo..=hi).contains(t))
                        .collect(),
                })
                .filter(|s| !s.points.is_empty())
                .collect(),
        ));
    }
    Ok(match ctx.eval(&ast, 0)? {
        Node::Scalar(v) => Value::Scalar {
            t: time_ms,
            v: v.first().copied().unwrap_or(f64::NAN),
        },
        Node::String(s) => Value::String(s),
        Node::Vector(series) => {
            let mut v: Vec<Sample> = series
                .into_iter()
                .filter_map(|s| {
                    let (_, v) = s.points.first().copied()?;
                    Some(Sample {
                        labels: Arc::unwrap_or_clone(s.labels),
                        t: time_ms,
                        v,
                    })
                })
                .collect();
            v.sort_by(|a, b| a.labels.cmp(&b.labels));
            if let Some(descending) = outer_sort(&ast) {
                sort_by_value(&mut v, descending);
            }
            Value::Vector(v)
        }
    })
}

/// `Some(descending)` when the outermost call is `sort` or `sort_desc`,
/// whose order an instant query's answer keeps.
fn outer_sort(ast: &Expr) -> Option<bool> {
    match functions::unparen(ast) {
        Expr::Call(call) => match call.func.name {
            "sort" => Some(false),
            "sort_desc" => Some(true),
            _ => None,
        },
        _ => None,
    }
}

/// By value, NaN last either way, as Prometheus 2.42 answers; a stable sort,
/// so equal values stay in label order.
fn sort_by_value(v: &mut [Sample], descending: bool) {
    v.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) if descending => b.v.total_cmp(&a.v),
        (false, false) => a.v.total_cmp(&b.v),
    });
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
    let mut ctx = Ctx::new(store, opts, start_ms, step_ms, steps as usize);
    match ctx.eval(&ast, 0)? {
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
    let parsed = std::panic::catch_unwind(|| promql_parser::parser::parse(expr))
        .map_err(|_| EvalError::Parse("the parser failed on this input".into()))?;
    parsed.map_err(EvalError::Parse)
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
