//! The accumulated metric state of one engine: counters, histograms and the
//! HTTP traffic it served. Gauges are read from the live load model instead.

use super::histogram::Histogram;
use crate::catalog::{self, names, Version};

/// Histograms fed by the load model. Several catalog families can share one
/// (a renamed metric and its successor observe the same events).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HistId {
    Ttft,
    InterToken,
    RequestTpot,
    E2e,
    Queue,
    Inference,
    Prefill,
    Decode,
    PromptTokens,
    GenerationTokens,
    MaxGenerationTokens,
    ParamsN,
    ParamsMaxTokens,
    PrefillKvComputed,
    NumPreemptions,
    IterationTokens,
    ModelForwardMs,
    ModelExecuteMs,
    /// `request_type="chat"` of the render-duration histogram.
    RenderChat,
    /// `request_type="completion"` of the render-duration histogram.
    RenderCompletion,
}

impl HistId {
    pub const ALL: [HistId; 20] = [
        HistId::Ttft,
        HistId::InterToken,
        HistId::RequestTpot,
        HistId::E2e,
        HistId::Queue,
        HistId::Inference,
        HistId::Prefill,
        HistId::Decode,
        HistId::PromptTokens,
        HistId::GenerationTokens,
        HistId::MaxGenerationTokens,
        HistId::ParamsN,
        HistId::ParamsMaxTokens,
        HistId::PrefillKvComputed,
        HistId::NumPreemptions,
        HistId::IterationTokens,
        HistId::ModelForwardMs,
        HistId::ModelExecuteMs,
        HistId::RenderChat,
        HistId::RenderCompletion,
    ];

    /// The families showing these observations; the first one's buckets are
    /// used (the others share the same bucket family).
    pub fn metrics(self) -> &'static [&'static str] {
        match self {
            HistId::Ttft => &[names::TIME_TO_FIRST_TOKEN],
            HistId::InterToken => &[names::INTER_TOKEN_LATENCY, names::TIME_PER_OUTPUT_TOKEN],
            HistId::RequestTpot => &[names::REQUEST_TIME_PER_OUTPUT_TOKEN],
            HistId::E2e => &[names::E2E_REQUEST_LATENCY],
            HistId::Queue => &[names::REQUEST_QUEUE_TIME, names::TIME_IN_QUEUE_REQUESTS],
            HistId::Inference => &[names::REQUEST_INFERENCE_TIME],
            HistId::Prefill => &[names::REQUEST_PREFILL_TIME],
            HistId::Decode => &[names::REQUEST_DECODE_TIME],
            HistId::PromptTokens => &[names::REQUEST_PROMPT_TOKENS],
            HistId::GenerationTokens => &[names::REQUEST_GENERATION_TOKENS],
            HistId::MaxGenerationTokens => &[names::REQUEST_MAX_NUM_GENERATION_TOKENS],
            HistId::ParamsN => &[names::REQUEST_PARAMS_N, names::REQUEST_PARAMS_BEST_OF],
            HistId::ParamsMaxTokens => &[names::REQUEST_PARAMS_MAX_TOKENS],
            HistId::PrefillKvComputed => &[names::REQUEST_PREFILL_KV_COMPUTED_TOKENS],
            HistId::NumPreemptions => &[names::REQUEST_NUM_PREEMPTIONS],
            HistId::IterationTokens => &[names::ITERATION_TOKENS],
            HistId::ModelForwardMs => &[names::MODEL_FORWARD_TIME],
            HistId::ModelExecuteMs => &[names::MODEL_EXECUTE_TIME],
            HistId::RenderChat | HistId::RenderCompletion => &[names::REQUEST_RENDER_DURATION],
        }
    }

    /// The histogram of one series of `metric`, chosen by its labels where
    /// the family has several (`request_type` of the render duration).
    pub fn for_series(metric: &str, request_type: &str) -> Option<HistId> {
        if metric == names::REQUEST_RENDER_DURATION {
            return match request_type {
                "chat" => Some(HistId::RenderChat),
                "completion" => Some(HistId::RenderCompletion),
                _ => None,
            };
        }
        HistId::for_metric(metric)
    }

    pub fn for_metric(name: &str) -> Option<HistId> {
        HistId::ALL
            .into_iter()
            .find(|h| h.metrics().contains(&name))
    }
}

/// Finite bucket bounds the catalog gives `metric` at `version`.
pub(crate) fn bounds_of(metric: &str, version: Version, max_model_len: u32) -> Vec<f64> {
    catalog::lookup(metric)
        .and_then(|d| d.buckets)
        .map(|b| b.bounds(version, max_model_len))
        .unwrap_or_default()
}

/// Why a request finished; the `finished_reason` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Stop,
    Length,
    Abort,
    Error,
    Repetition,
}

impl Outcome {
    pub const COUNT: usize = 5;

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Stop => "stop",
            Outcome::Length => "length",
            Outcome::Abort => "abort",
            Outcome::Error => "error",
            Outcome::Repetition => "repetition",
        }
    }

    pub fn from_label(label: &str) -> Option<Outcome> {
        [
            Outcome::Stop,
            Outcome::Length,
            Outcome::Abort,
            Outcome::Error,
            Outcome::Repetition,
        ]
        .into_iter()
        .find(|o| o.label() == label)
    }
}

/// OpenAI-compatible routes that prometheus-fastapi-instrumentator records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Handler {
    ChatCompletions,
    Completions,
    Models,
}

impl Handler {
    pub const ALL: [Handler; 3] = [
        Handler::ChatCompletions,
        Handler::Completions,
        Handler::Models,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Handler::ChatCompletions => "/v1/chat/completions",
            Handler::Completions => "/v1/completions",
            Handler::Models => "/v1/models",
        }
    }

    pub fn method(self) -> &'static str {
        match self {
            Handler::Models => "GET",
            _ => "POST",
        }
    }
}

/// HTTP status, grouped as the instrumentator groups it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    ClientError,
    ServerError,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Ok, Status::ClientError, Status::ServerError];

    pub fn class(self) -> &'static str {
        match self {
            Status::Ok => "2xx",
            Status::ClientError => "4xx",
            Status::ServerError => "5xx",
        }
    }

    /// The exact code, as aioprometheus (0.2.x) labelled it.
    pub fn code(self) -> &'static str {
        match self {
            Status::Ok => "200",
            Status::ClientError => "400",
            Status::ServerError => "500",
        }
    }
}

/// A summary without quantiles, as the instrumentator's size metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Summary {
    pub count: f64,
    pub sum: f64,
}

/// HTTP traffic seen by the API server on behalf of one engine. Series are
/// created lazily, so the time each label set was first hit is kept.
#[derive(Clone, Debug)]
pub(crate) struct HttpStats {
    pub requests: [[f64; 3]; 3],
    pub requests_since: [[Option<f64>; 3]; 3],
    pub request_size: [Summary; 3],
    pub response_size: [Summary; 3],
    pub duration: Vec<Histogram>,
    pub handler_since: [Option<f64>; 3],
    pub duration_all: Histogram,
}

impl HttpStats {
    pub fn new(version: Version) -> Self {
        let coarse = bounds_of(names::HTTP_REQUEST_DURATION, version, 0);
        HttpStats {
            requests: [[0.0; 3]; 3],
            requests_since: [[None; 3]; 3],
            request_size: [Summary::default(); 3],
            response_size: [Summary::default(); 3],
            duration: vec![Histogram::new(coarse); 3],
            handler_since: [None; 3],
            duration_all: Histogram::new(bounds_of(names::HTTP_REQUEST_DURATION_HIGHR, version, 0)),
        }
    }

    /// Records one finished HTTP request at simulated time `at`.
    pub fn record(&mut self, at: f64, call: HttpCall) {
        let (h, s) = (call.handler as usize, call.status as usize);
        self.requests[h][s] += 1.0;
        self.requests_since[h][s].get_or_insert(at);
        self.handler_since[h].get_or_insert(at);
        self.request_size[h].count += 1.0;
        self.request_size[h].sum += call.request_bytes;
        self.response_size[h].count += 1.0;
        self.response_size[h].sum += call.response_bytes;
        self.duration[h].observe(call.seconds);
        self.duration_all.observe(call.seconds);
    }

    /// Adds another engine's traffic (the API server sees all of it).
    pub fn merge(&mut self, other: &HttpStats) {
        for h in 0..3 {
            for s in 0..3 {
                self.requests[h][s] += other.requests[h][s];
                self.requests_since[h][s] =
                    earliest(self.requests_since[h][s], other.requests_since[h][s]);
            }
            self.handler_since[h] = earliest(self.handler_since[h], other.handler_since[h]);
            self.request_size[h].count += other.request_size[h].count;
            self.request_size[h].sum += other.request_size[h].sum;
            self.response_size[h].count += other.response_size[h].count;
            self.response_size[h].sum += other.response_size[h].sum;
            self.duration[h].merge(&other.duration[h]);
        }
        self.duration_all.merge(&other.duration_all);
    }

    pub fn total_requests(&self) -> f64 {
        self.requests.iter().flatten().sum()
    }
}

fn earliest(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// One HTTP request as the instrumentator sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HttpCall {
    pub handler: Handler,
    pub status: Status,
    pub seconds: f64,
    pub request_bytes: f64,
    pub response_bytes: f64,
}

/// Counters and histograms of one engine (one `engine` label value).
#[derive(Clone, Debug)]
pub(crate) struct EngineStats {
    pub prompt_tokens: f64,
    pub generation_tokens: f64,
    /// Prompt tokens whose KV was computed (not served from the prefix cache).
    pub prompt_tokens_computed: f64,
    pub prefix_queries: f64,
    pub prefix_hits: f64,
    pub preemptions: f64,
    pub recomputed_tokens: f64,
    pub finished: [f64; Outcome::COUNT],
    /// Arrivals refused because the waiting queue hit the simulator's cap.
    pub queue_rejections: f64,
    pub spec_drafts: f64,
    pub spec_draft_tokens: f64,
    pub spec_accepted: f64,
    pub spec_emitted: f64,
    pub spec_accepted_per_pos: Vec<f64>,
    /// V0's logged throughput gauges, over the last logging interval.
    pub avg_prompt_throughput: f64,
    pub avg_generation_throughput: f64,
    hists: Vec<Histogram>,
    pub http: HttpStats,
}

impl EngineStats {
    pub fn new(version: Version, max_model_len: u32, spec_tokens: usize) -> Self {
        let hists = HistId::ALL
            .iter()
            .map(|h| Histogram::new(bounds_of(h.metrics()[0], version, max_model_len)))
            .collect();
        EngineStats {
            prompt_tokens: 0.0,
            generation_tokens: 0.0,
            prompt_tokens_computed: 0.0,
            prefix_queries: 0.0,
            prefix_hits: 0.0,
            preemptions: 0.0,
            recomputed_tokens: 0.0,
            finished: [0.0; Outcome::COUNT],
            queue_rejections: 0.0,
            spec_drafts: 0.0,
            spec_draft_tokens: 0.0,
            spec_accepted: 0.0,
            spec_emitted: 0.0,
            spec_accepted_per_pos: vec![0.0; spec_tokens],
            avg_prompt_throughput: 0.0,
            avg_generation_throughput: 0.0,
            hists,
            http: HttpStats::new(version),
        }
    }

    pub fn hist(&self, id: HistId) -> &Histogram {
        &self.hists[id as usize]
    }

    pub fn observe(&mut self, id: HistId, value: f64) {
        self.hists[id as usize].observe(value);
    }

    pub fn observe_n(&mut self, id: HistId, value: f64, n: u64) {
        self.hists[id as usize].observe_n(value, n);
    }

    #[cfg(test)]
    pub fn finished_total(&self) -> f64 {
        self.finished.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_histogram_of_an_engine_has_a_source() {
        for m in catalog::METRICS.iter() {
            let engine_scoped = matches!(m.scope, catalog::Scope::Engine | catalog::Scope::Model);
            if m.kind == catalog::Kind::Histogram && engine_scoped && m.requires.is_empty() {
                assert!(
                    HistId::for_metric(m.name).is_some(),
                    "{} has no HistId",
                    m.name
                );
            }
        }
    }

    #[test]
    fn shared_histograms_use_identical_buckets_at_every_release() {
        for &version in catalog::RELEASES {
            for id in HistId::ALL {
                let first = bounds_of(id.metrics()[0], version, 32768);
                for other in &id.metrics()[1..] {
                    assert_eq!(
                        first,
                        bounds_of(other, version, 32768),
                        "{other} at {version}"
                    );
                }
            }
        }
    }
}
