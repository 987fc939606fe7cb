//! Direct mode: scraping vLLM endpoints without Prometheus. Not available
//! yet; this backend says so clearly for every call, so a datasource set to
//! `direct` fails with a message instead of a confusing error.

use super::backend::{
    BackendError, HealthReport, InstantRequest, QueryBackend, QueryResult, RangeRequest,
    SeriesFilter,
};

pub struct DirectBackend;

#[tonic::async_trait]
impl QueryBackend for DirectBackend {
    async fn query_range(&self, _: &RangeRequest<'_>) -> Result<QueryResult, BackendError> {
        Err(BackendError::DirectModeUnavailable)
    }

    async fn query_instant(&self, _: &InstantRequest<'_>) -> Result<QueryResult, BackendError> {
        Err(BackendError::DirectModeUnavailable)
    }

    async fn labels(&self, _: &SeriesFilter) -> Result<Vec<String>, BackendError> {
        Err(BackendError::DirectModeUnavailable)
    }

    async fn label_values(&self, _: &str, _: &SeriesFilter) -> Result<Vec<String>, BackendError> {
        Err(BackendError::DirectModeUnavailable)
    }

    async fn metric_names(&self, _: &SeriesFilter) -> Result<Vec<String>, BackendError> {
        Err(BackendError::DirectModeUnavailable)
    }

    async fn health(&self) -> HealthReport {
        HealthReport {
            ok: false,
            message: BackendError::DirectModeUnavailable.to_string(),
            details: serde_json::json!({ "mode": "direct" }),
        }
    }
}
