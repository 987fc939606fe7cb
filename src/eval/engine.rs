//! The evaluator: walks the syntax tree once, computing each node for every
//! step of the grid at once (as Prometheus's range evaluation does), so a
//! selector is read from the store once per query.

use super::error::{unsupported, EvalError};
use super::value::{Node, StepSeries};
use super::{aggregate, binary, functions, selector, EvalOptions};
use crate::store::Store;
use promql_parser::parser::Expr;

pub(crate) struct Ctx<'s> {
    pub store: &'s Store,
    pub opts: &'s EvalOptions,
    /// First step's timestamp (ms).
    pub start: i64,
    /// Step width (ms); 0 for an instant query.
    pub step: i64,
    pub steps: usize,
    used: usize,
}

impl<'s> Ctx<'s> {
    pub(crate) fn new(
        store: &'s Store,
        opts: &'s EvalOptions,
        start: i64,
        step: i64,
        steps: usize,
    ) -> Self {
        Ctx {
            store,
            opts,
            start,
            step,
            steps,
            used: 0,
        }
    }

    #[inline]
    pub(crate) fn ts(&self, step: usize) -> i64 {
        self.start + self.step * step as i64
    }

    pub(crate) fn end(&self) -> i64 {
        self.ts(self.steps.saturating_sub(1))
    }

    /// Samples still allowed.
    pub(crate) fn budget(&self) -> usize {
        self.opts.max_samples.saturating_sub(self.used)
    }

    pub(crate) fn too_many(&self) -> EvalError {
        EvalError::TooManySamples {
            limit: self.opts.max_samples,
        }
    }

    /// Counts `n` samples loaded or produced against the query's limit.
    pub(crate) fn charge(&mut self, n: usize) -> Result<(), EvalError> {
        self.used = self.used.saturating_add(n);
        if self.used > self.opts.max_samples {
            return Err(self.too_many());
        }
        Ok(())
    }

    pub(crate) fn eval(&mut self, e: &Expr, depth: usize) -> Result<Node, EvalError> {
        if depth > self.opts.max_depth {
            return Err(EvalError::TooDeep {
                limit: self.opts.max_depth,
            });
        }
        let d = depth + 1;
        match e {
            Expr::NumberLiteral(n) => Ok(Node::Scalar(vec![n.val; self.steps])),
            Expr::StringLiteral(s) => Ok(Node::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, d),
            Expr::VectorSelector(vs) => Ok(Node::Vector(selector::instant(self, vs)?)),
            Expr::MatrixSelector(_) => Err(EvalError::Invalid(
                "a range vector is only valid as a function argument here".into(),
            )),
            Expr::Subquery(_) => Err(unsupported("a subquery")),
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

    /// A node that must be a scalar (function and aggregation parameters).
    pub(crate) fn scalar(
        &mut self,
        e: &Expr,
        depth: usize,
        what: &str,
    ) -> Result<Vec<f64>, EvalError> {
        match self.eval(e, depth)? {
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
        match self.eval(e, depth)? {
            Node::Vector(v) => Ok(v),
            _ => Err(EvalError::Invalid(format!(
                "{what} must be an instant vector"
            ))),
        }
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
