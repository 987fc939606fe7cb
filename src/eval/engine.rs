//! The evaluator: walks the syntax tree once, computing each node for every
//! step of a grid at once (as Prometheus's range evaluation does), so a
//! selector is read from the store once per evaluation of its node.
//!
//! A subquery evaluates its expression on a grid of its own; `@` and the
//! step-invariant evaluation follow Prometheus 2.42's engine, including
//! where its answers depend on how it rewrites offsets (see [`Ctx`]).

use super::error::{unsupported, EvalError};
use super::strings::unquote;
use super::value::{Node, StepSeries};
use super::{aggregate, binary, functions, selector, EvalOptions};
use crate::store::{SeriesView, Store};
use promql_parser::parser::{AtModifier, Expr, Offset, SubqueryExpr};
use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What every part of one query shares.
pub(crate) struct Shared<'a> {
    pub store: &'a Store,
    pub opts: &'a EvalOptions,
    /// The query's first and last evaluation times: `@ start()`, `@ end()`
    /// and the time ranges selectors read.
    pub query_start: i64,
    pub query_end: i64,
    used: Cell<usize>,
}

impl<'a> Shared<'a> {
    pub(crate) fn new(store: &'a Store, opts: &'a EvalOptions, start: i64, end: i64) -> Self {
        Shared {
            store,
            opts,
            query_start: start,
            query_end: end,
            used: Cell::new(0),
        }
    }
}

/// Offsets and ranges of the subqueries enclosing a node, summed as
/// Prometheus sums them: a subquery with `@` restarts the sums.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Path {
    pub offset: i64,
    pub range: i64,
    pub at: Option<i64>,
}

impl Path {
    fn enter(self, offset: i64, range: i64, at: Option<i64>) -> Path {
        match at {
            Some(t) => Path {
                offset,
                range,
                at: Some(t),
            },
            None => Path {
                offset: self.offset.saturating_add(offset),
                range: self.range.saturating_add(range),
                at: self.at,
            },
        }
    }
}

/// One evaluation grid and where it sits in the query.
///
/// Prometheus turns `@ t` into an offset relative to an evaluation start
/// time: the query's, then each subquery's whose aligned start differs from
/// its parent's. `anchor` is the time of the last such rewrite that reaches
/// this node and `anchor_path` the subqueries since; an `@` inside a
/// subquery that kept its parent's start uses an offset computed for the
/// parent, which is what Prometheus answers too.
#[derive(Clone)]
pub(crate) struct Ctx<'a> {
    shared: &'a Shared<'a>,
    pub store: &'a Store,
    pub opts: &'a EvalOptions,
    /// First step's timestamp (ms).
    pub start: i64,
    /// The evaluation's end, which a range query's last step may fall short of.
    pub end: i64,
    /// Step width (ms); 0 for an instant query.
    pub step: i64,
    pub steps: usize,
    anchor: i64,
    anchor_path: Path,
    /// Subqueries between the query's root and here.
    root_path: Path,
    /// Inside an aggregation's parameter: Prometheus 2.42 resolves no
    /// `@ start()`/`@ end()` there and never evaluates it step-invariantly.
    in_param: bool,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        shared: &'a Shared<'a>,
        start: i64,
        end: i64,
        step: i64,
        steps: usize,
    ) -> Self {
        Ctx {
            shared,
            store: shared.store,
            opts: shared.opts,
            start,
            end,
            step,
            steps,
            anchor: start,
            anchor_path: Path::default(),
            root_path: Path::default(),
            in_param: false,
        }
    }

    #[inline]
    pub(crate) fn ts(&self, step: usize) -> i64 {
        self.start + self.step * step as i64
    }

    /// Samples still allowed.
    pub(crate) fn budget(&self) -> usize {
        self.opts.max_samples.saturating_sub(self.shared.used.get())
    }

    pub(crate) fn too_many(&self) -> EvalError {
        EvalError::TooManySamples {
            limit: self.opts.max_samples,
        }
    }

    /// Counts `n` samples loaded or produced against the query's limit.
    pub(crate) fn charge(&self, n: usize) -> Result<(), EvalError> {
        let used = self.shared.used.get().saturating_add(n);
        self.shared.used.set(used);
        if used > self.opts.max_samples {
            return Err(self.too_many());
        }
        Ok(())
    }

    /// The same grid, evaluating an aggregation's parameter.
    pub(crate) fn param(&self) -> Ctx<'a> {
        Ctx {
            in_param: true,
            ..self.clone()
        }
    }

    /// The time `@` names, in ms; `None` without `@`, and for `@ start()` or
    /// `@ end()` inside an aggregation parameter (Prometheus 2.42 ignores them there).
    pub(crate) fn at(&self, at: &Option<AtModifier>) -> Option<i64> {
        match at.as_ref()? {
            AtModifier::At(t) => Some(system_ms(t)),
            AtModifier::Start => (!self.in_param).then_some(self.shared.query_start),
            AtModifier::End => (!self.in_param).then_some(self.shared.query_end),
        }
    }

    /// The offset a selector or subquery is evaluated with: its own, or for
    /// `@ t` the one Prometheus derives from its anchor.
    pub(crate) fn effective_offset(&self, at: Option<i64>, offset: i64) -> i64 {
        let Some(t) = at else {
            return offset;
        };
        let mut enclosing = self.anchor_path.offset;
        if let Some(ts) = self.anchor_path.at {
            enclosing = enclosing.saturating_add(self.anchor.saturating_sub(ts));
        }
        offset
            .saturating_add(self.anchor.saturating_sub(t))
            .saturating_sub(enclosing)
    }

    /// The samples a selector may see, `[mint, maxt]`: Prometheus selects
    /// them once per query from the query's times and the enclosing
    /// subqueries, whatever the selector is later evaluated at.
    pub(crate) fn data_range(&self, at: Option<i64>, offset: i64, window: i64) -> (i64, i64) {
        let p = self.root_path;
        let (mut mint, mut maxt) = (self.shared.query_start, self.shared.query_end);
        if let Some(t) = p.at {
            (mint, maxt) = (t, t);
        }
        match at {
            Some(t) => (mint, maxt) = (t, t),
            None => {
                mint = mint.saturating_sub(p.offset.saturating_add(p.range));
                maxt = maxt.saturating_sub(p.offset);
            }
        }
        (
            mint.saturating_sub(window).saturating_sub(offset),
            maxt.saturating_sub(offset),
        )
    }

    pub(crate) fn eval(&mut self, e: &Expr, depth: usize) -> Result<Node, EvalError> {
        if depth > self.opts.max_depth {
            return Err(EvalError::TooDeep {
                limit: self.opts.max_depth,
            });
        }
        let d = depth + 1;
        match e {
            Expr::NumberLiteral(n) => {
                self.charge(self.steps)?;
                Ok(Node::Scalar(vec![n.val; self.steps]))
            }
            Expr::StringLiteral(s) => Ok(Node::String(unquote(&s.val).into_owned())),
            Expr::Paren(p) => self.eval(&p.expr, d),
            Expr::VectorSelector(vs) => Ok(Node::Vector(selector::instant(self, vs)?)),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => Err(EvalError::Invalid(
                "a range vector is only valid as a function argument here".into(),
            )),
            Expr::Extension(_) => Err(unsupported("an extension expression")),
            Expr::Unary(u) => match self.eval(&u.expr, d)? {
                Node::Scalar(v) => Ok(Node::Scalar(v.into_iter().map(|x| -x).collect())),
                Node::Vector(series) => negate(series),
                Node::String(_) => Err(EvalError::Invalid("unary minus on a string".into())),
            },
            Expr::Binary(b) => binary::eval(self, b, d),
            Expr::Aggregate(a) => aggregate::eval(self, a, d),
            Expr::Call(c) => functions::eval(self, c, d),
        }
    }

    /// Evaluates `e` where Prometheus would evaluate it once, at the grid's
    /// first step, and repeat the answer at every step: a step-invariant
    /// part (every selector under `@`, or no selector) of an expression that
    /// is not step-invariant as a whole.
    pub(crate) fn eval_arg(&mut self, e: &Expr, depth: usize) -> Result<Node, EvalError> {
        if self.steps <= 1 || self.in_param || !invariant(e) {
            return self.eval(e, depth);
        }
        let mut once = Ctx {
            end: self.start,
            steps: 1,
            ..self.clone()
        };
        let node = once.eval(e, depth)?;
        let steps = self.steps;
        Ok(match node {
            Node::Scalar(v) => Node::Scalar(vec![v.first().copied().unwrap_or(f64::NAN); steps]),
            Node::String(s) => Node::String(s),
            Node::Vector(series) => {
                self.charge(series.len().saturating_mul(steps))?;
                Node::Vector(
                    series
                        .into_iter()
                        .filter_map(|s| {
                            let (_, v) = s.points.first().copied()?;
                            Some(StepSeries {
                                labels: s.labels,
                                points: (0..steps as u32).map(|i| (i, v)).collect(),
                            })
                        })
                        .collect(),
                )
            }
        })
    }

    /// A node that must be a scalar (function and aggregation parameters).
    pub(crate) fn scalar(
        &mut self,
        e: &Expr,
        depth: usize,
        what: &str,
    ) -> Result<Vec<f64>, EvalError> {
        match self.eval_arg(e, depth)? {
            Node::Scalar(v) => Ok(v),
            _ => Err(EvalError::Invalid(format!("{what} must be a scalar"))),
        }
    }

    /// A node that must be an instant vector.
    pub(crate) fn vector(
        &mut self,
        e: &Expr,
        depth: usize,
        what: &str,
    ) -> Result<Vec<StepSeries>, EvalError> {
        match self.eval_arg(e, depth)? {
            Node::Vector(v) => Ok(v),
            _ => Err(EvalError::Invalid(format!(
                "{what} must be an instant vector"
            ))),
        }
    }

    /// Evaluates a subquery on its own grid: steps at multiples of its step
    /// (by default the evaluation interval), from the first after
    /// `start - offset - range` to `end - offset`. Returns its series with
    /// timestamped points and the offset a range function applies to them.
    pub(crate) fn subquery(
        &mut self,
        sq: &SubqueryExpr,
        depth: usize,
    ) -> Result<(Vec<SeriesView>, i64), EvalError> {
        let at = self.at(&sq.at);
        let offset = offset_ms(&sq.offset);
        let range = millis(&sq.range);
        let step = sq
            .step
            .as_ref()
            .map(millis)
            .filter(|s| *s > 0)
            .unwrap_or(self.opts.subquery_step_ms)
            .max(1);
        let effective = self.effective_offset(at, offset);
        let end = self.end.saturating_sub(effective);
        let lowest = self.start.saturating_sub(effective).saturating_sub(range);
        let mut start = lowest.div_euclid(step).saturating_mul(step);
        if start < lowest {
            start = start.saturating_add(step);
        }
        // What the range function's windows are shifted by.
        let window_offset = match at {
            Some(t) => offset.saturating_add(self.start.saturating_sub(t)),
            None => effective,
        };
        if start > end {
            return Ok((Vec::new(), window_offset));
        }
        let steps = (end.saturating_sub(start) / step).saturating_add(1);
        if steps > self.opts.max_subquery_steps as i64 {
            return Err(EvalError::TooManySubquerySteps {
                steps: steps as u64,
                limit: self.opts.max_subquery_steps,
            });
        }
        let moved = start != self.start;
        let mut inner = Ctx {
            start,
            end,
            step,
            steps: steps as usize,
            anchor: if moved { start } else { self.anchor },
            anchor_path: if moved {
                Path::default()
            } else {
                self.anchor_path.enter(offset, range, at)
            },
            root_path: self.root_path.enter(offset, range, at),
            ..self.clone()
        };
        let series = match inner.eval_arg(&sq.expr, depth)? {
            Node::Vector(v) => v,
            _ => {
                return Err(EvalError::Invalid(
                    "a subquery needs an instant vector".into(),
                ))
            }
        };
        let out = series
            .into_iter()
            .map(|s| SeriesView {
                labels: s.labels,
                samples: s
                    .points
                    .into_iter()
                    .map(|(i, v)| (inner.ts(i as usize), v))
                    .collect(),
            })
            .collect();
        Ok((out, window_offset))
    }
}

/// Whether Prometheus 2.42 treats `e` as step invariant: its value at every
/// step is its value at the first. Aggregation parameters are not looked at.
pub(crate) fn invariant(e: &Expr) -> bool {
    match e {
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => true,
        Expr::VectorSelector(vs) => vs.at.is_some(),
        Expr::MatrixSelector(ms) => ms.vs.at.is_some(),
        Expr::Subquery(sq) => sq.at.is_some(),
        Expr::Paren(p) => invariant(&p.expr),
        Expr::Unary(u) => invariant(&u.expr),
        Expr::Aggregate(a) => invariant(&a.expr),
        Expr::Binary(b) => invariant(&b.lhs) && invariant(&b.rhs),
        Expr::Call(c) => !time_dependent(c.func.name) && c.args.args.iter().all(|a| invariant(a)),
        Expr::Extension(_) => false,
    }
}

/// Functions whose answer depends on the evaluation time even when their
/// arguments do not.
fn time_dependent(name: &str) -> bool {
    matches!(
        name,
        "days_in_month"
            | "day_of_month"
            | "day_of_week"
            | "day_of_year"
            | "hour"
            | "minute"
            | "month"
            | "year"
            | "predict_linear"
            | "time"
            | "timestamp"
    )
}

/// A duration in ms, saturating.
pub(crate) fn millis(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        Some(Offset::Pos(d)) => millis(d),
        Some(Offset::Neg(d)) => millis(d).saturating_neg(),
        None => 0,
    }
}

/// A time in ms since the epoch, saturating.
fn system_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => millis(&d),
        Err(e) => millis(&e.duration()).saturating_neg(),
    }
}

/// Calls `f` on `e` and every expression below it, until `f` fails;
/// nesting deeper than `limit` is an error, so later recursion is bounded.
pub(crate) fn walk(
    e: &Expr,
    limit: usize,
    f: &mut impl FnMut(&Expr) -> Result<(), EvalError>,
) -> Result<(), EvalError> {
    let Some(limit) = limit.checked_sub(1) else {
        return Err(EvalError::TooDeep { limit: 0 });
    };
    f(e)?;
    match e {
        Expr::Paren(p) => walk(&p.expr, limit, f),
        Expr::Unary(u) => walk(&u.expr, limit, f),
        Expr::Subquery(s) => walk(&s.expr, limit, f),
        Expr::Binary(b) => {
            walk(&b.lhs, limit, f)?;
            walk(&b.rhs, limit, f)
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                walk(p, limit, f)?;
            }
            walk(&a.expr, limit, f)
        }
        Expr::Call(c) => c.args.args.iter().try_for_each(|a| walk(a, limit, f)),
        _ => Ok(()),
    }
}

fn negate(series: Vec<StepSeries>) -> Result<Node, EvalError> {
    let out: Vec<StepSeries> = series
        .into_iter()
        .map(|s| StepSeries {
            labels: super::drop_name(&s.labels),
            points: s.points.into_iter().map(|(i, v)| (i, -v)).collect(),
        })
        .collect();
    super::steps::check_unique(&out)?;
    Ok(Node::Vector(out))
}
