//! Why a query could not be answered in direct mode.

/// A per-query error. Messages name the construct at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("cannot parse PromQL: {0}")]
    Parse(String),
    #[error("{0} is not supported in direct mode; query this panel through a Prometheus datasource instead")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
    #[error("query needs more than {limit} samples; narrow the selectors or the time range")]
    TooManySamples { limit: usize },
    #[error("query range has {steps} steps, more than {limit}; use a larger step")]
    TooManySteps { steps: u64, limit: usize },
    #[error("a subquery has {steps} steps, more than {limit}; give it a larger step")]
    TooManySubquerySteps { steps: u64, limit: usize },
    #[error("query is {len} bytes long, more than {limit}")]
    TooLong { len: usize, limit: usize },
    #[error("query nests deeper than {limit} levels")]
    TooDeep { limit: usize },
    /// A failure Prometheus reports the same way (duplicate label sets,
    /// many-to-many matching, ...).
    #[error("{0}")]
    Execution(String),
}

pub(crate) fn unsupported(what: impl Into<String>) -> EvalError {
    EvalError::Unsupported(what.into())
}

pub(crate) fn execution(what: impl Into<String>) -> EvalError {
    EvalError::Execution(what.into())
}

pub(crate) const DUPLICATE_LABELSET: &str = "vector cannot contain metrics with the same labelset";
