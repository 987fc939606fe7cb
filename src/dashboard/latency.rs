//! "vLLM / Latency & SLO": every latency histogram at p50/p90/p99 and mean,
//! the phases a request goes through, SLO attainment per model, and the API
//! server's HTTP layer.
//!
//! The quantiles are fixed series rather than a quantile variable: the
//! queries stay plain PromQL that every check (parse, lint, Prometheus)
//! reads without knowing the variable.

use super::build::{units, PanelSpec};
use super::kit::{self, meaning, percentiles, s};
use super::layout::Layout;
use super::model::Dashboard;
use super::variables::{ITL_SLO, TTFT_SLO};
use crate::alerts::slo::{self, Sli, SloConfig};
use crate::catalog::names::*;
use crate::catalog::Condition;
use crate::promql::{
    histogram_mean, histogram_quantile, labels, rate, share_at_most, sum, sum_rate, vars,
    version_proof, Expr, Selector,
};

const BY_MODEL: &[&str] = &["model_name"];

/// A recorded SLI error ratio (`alerts::slo`) filtered by the dashboard's
/// job and model variables.
fn recorded_ratio(sli: Sli, window: &str) -> Expr {
    Expr::select(
        &Selector::bare(&slo::record(sli, window))
            .re(labels::JOB, vars::JOB)
            .re(labels::MODEL_NAME, vars::MODEL_NAME),
    )
}

fn sli_title(sli: Sli, objectives: &SloConfig) -> String {
    let pct = |o: f64| format!("{}%", (o * 1e4).round() / 1e2);
    match sli {
        Sli::Ttft => objectives.ttft.map_or(String::new(), |o| {
            format!(
                "TTFT within {} s, objective {}",
                o.threshold,
                pct(o.objective)
            )
        }),
        Sli::Itl => objectives.itl.map_or(String::new(), |o| {
            format!(
                "Inter-token latency within {} s, objective {}",
                o.threshold,
                pct(o.objective)
            )
        }),
        Sli::Success => objectives.success.map_or(String::new(), |o| {
            format!(
                "Requests without engine error, objective {}",
                pct(o.objective)
            )
        }),
    }
}

/// For each configured objective: the SLI over the period, the error
/// budget left, and the burn rates the alerts watch, per model, from the
/// recording rules of `prometheus/recording.yml` (group `vllm-slo`).
fn error_budgets(l: &mut Layout, objectives: &SloConfig) {
    let Ok(windows) = slo::windows(objectives) else {
        return;
    };
    let period = windows.last().cloned().unwrap_or_default();
    let (fast, slow) = (windows[0].clone(), windows[2].clone());
    l.row("Error budgets (configured SLOs)", false);
    for sli in objectives.slis() {
        let objective = objectives.objective(sli).unwrap_or(0.99);
        let budget = Expr::num(((1.0 - objective) * 1e12).round() / 1e12);
        let name = sli_title(sli, objectives);
        let needs = "Reads the SLO recording rules (prometheus/recording.yml with an slo: configuration): \"No data\" without them, and until they have run for the window.";
        l.add(
            PanelSpec::timeseries(&format!("{name}: SLI"), 8)
                .about(&format!("Share of requests meeting the objective over the last {period}, per model. Below the objective, the error budget is spent. {needs}"))
                .query(Expr::num(1.0) - recorded_ratio(sli, &period), "{{model_name}}")
                .unit(units::RATIO)
                .good_from(objective * 0.99, objective),
        );
        l.add(
            PanelSpec::timeseries(&format!("{name}: error budget left"), 8)
                .about(&format!("Share of the {period} error budget not yet spent, per model: 1 at the start, 0 when the objective is missed. {needs}"))
                .query(Expr::num(1.0) - recorded_ratio(sli, &period) / budget.clone(), "{{model_name}}")
                .unit(units::RATIO)
                .good_from(0.0, 0.25),
        );
        l.add(
            PanelSpec::timeseries(&format!("{name}: burn rate"), 8)
                .about(&format!("How many times faster than allowed the budget is spent, over {fast} and {slow}, per model. The fast-burn alert fires above 14.4 over {fast} (and its short window), the slow-burn alert above 6 over {slow}. {needs}"))
                .query(recorded_ratio(sli, &fast) / budget.clone(), &format!("{{{{model_name}}}} {fast}"))
                .query(recorded_ratio(sli, &slow) / budget, &format!("{{{{model_name}}}} {slow}"))
                .unit(units::COUNT)
                .warn_at(6.0, 14.4),
        );
    }
}

pub(super) fn dashboard(
    datasource_type: &str,
    uid: &str,
    title: &str,
    objectives: Option<&SloConfig>,
) -> Dashboard {
    let mut l = kit::layout(datasource_type);
    request_latency(&mut l);
    phases(&mut l);
    slo(&mut l);
    if let Some(objectives) = objectives {
        error_budgets(&mut l, objectives);
    }
    http(&mut l);
    kit::shell(
        datasource_type,
        uid,
        title,
        "Latency of vLLM inference servers: time to first token, inter-token latency and end-to-end latency at p50/p90/p99 and mean, where request time goes (queue, prefill, decode, rendering), SLO attainment per model, and the API server's HTTP latency.",
        l.finish(),
    )
}

fn request_latency(l: &mut Layout) {
    l.row("Request latency", false);
    l.add(
        percentiles(
            PanelSpec::timeseries("Time to first token", 12).about(&format!(
                "{} Compare p99 with p50: a wide gap means some requests queue or carry very long prompts. Gaps read \"idle\".",
                meaning(TIME_TO_FIRST_TOKEN)
            )),
            TIME_TO_FIRST_TOKEN,
            &[],
        )
        .unit(units::SECONDS),
    );
    l.add(
        percentiles(
            PanelSpec::timeseries("Inter-token latency", 12).about(
                "Time between two consecutive output tokens of a stream, one observation per token. Rising values mean larger batches or prefills interleaved with decoding: lower --max-num-seqs or tune --max-num-batched-tokens. Releases before 0.10.2 name it time per output token; both names are queried. Gaps read \"idle\".",
            ),
            INTER_TOKEN_LATENCY,
            &[],
        )
        .unit(units::SECONDS),
    );
    l.add(
        percentiles(
            PanelSpec::timeseries("Time per output token (per request)", 12).about(&format!(
                "{} Unlike inter-token latency it weighs short and long answers equally. Needs vLLM 0.11.0 or later: \"No data\" before. Gaps read \"idle\".",
                meaning(REQUEST_TIME_PER_OUTPUT_TOKEN)
            )),
            REQUEST_TIME_PER_OUTPUT_TOKEN,
            &[],
        )
        .unit(units::SECONDS)
        .conditional("vLLM 0.11.0 or later"),
    );
    l.add(
        percentiles(
            PanelSpec::timeseries("End-to-end request latency", 12).about(&format!(
                "{} It grows with output length, so read it with the output length on the Overview. Buckets end at 60 s before vLLM 0.8.4, which caps high percentiles there. Gaps read \"idle\".",
                meaning(E2E_REQUEST_LATENCY)
            )),
            E2E_REQUEST_LATENCY,
            &[],
        )
        .unit(units::SECONDS),
    );
}

fn phases(l: &mut Layout) {
    l.row("Request phases", false);
    for (title, hist, advice) in [
        ("Queue time", REQUEST_QUEUE_TIME, "Sustained values above zero: the engines are full; add replicas or lower the load."),
        ("Prefill time", REQUEST_PREFILL_TIME, "Grows with prompt length and falls with prefix-cache hits; chunked prefill or a larger --max-num-batched-tokens shortens it."),
        ("Decode time", REQUEST_DECODE_TIME, "Grows with output length and batch size; compare with inter-token latency."),
        ("Inference time", REQUEST_INFERENCE_TIME, "The time a request held a place in the batch; if it is small next to end-to-end latency, the time goes to queueing."),
    ] {
        l.add(
            percentiles(
                PanelSpec::timeseries(title, 12).about(&format!(
                    "{} {advice} Gaps read \"idle\".",
                    meaning(hist)
                )),
                hist,
                &[],
            )
            .unit(units::SECONDS),
        );
    }
    l.add(
        PanelSpec::timeseries("Where request time goes", 12)
            .about("Mean queue, prefill and decode time of the requests that finished in the window, stacked: the height is close to the mean end-to-end latency. The largest band is the one to work on. Gaps read \"idle\".")
            .query(histogram_mean(&s(REQUEST_QUEUE_TIME), &[]), "queue")
            .query(histogram_mean(&s(REQUEST_PREFILL_TIME), &[]), "prefill")
            .query(histogram_mean(&s(REQUEST_DECODE_TIME), &[]), "decode")
            .unit(units::SECONDS)
            .stacked()
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::timeseries("Render time by request type", 12)
            .about(&format!(
                "{} p90 and mean per request type. Needs vLLM 0.34.0 or later and appears with the first request of each type: \"No data\" before. Gaps read \"idle\".",
                meaning(REQUEST_RENDER_DURATION)
            ))
            .query(
                histogram_quantile(0.9, &s(REQUEST_RENDER_DURATION), &["request_type"]),
                "{{request_type}} p90",
            )
            .query(
                histogram_mean(&s(REQUEST_RENDER_DURATION), &["request_type"]),
                "{{request_type}} mean",
            )
            .unit(units::SECONDS)
            .idle_is_nan()
            .conditional("vLLM 0.34.0 or later"),
    );
}

fn slo(l: &mut Layout) {
    l.row("SLO attainment", false);
    let ttft = format!("${TTFT_SLO}");
    let itl = format!("${ITL_SLO}");
    l.add(
        PanelSpec::timeseries("TTFT SLO attainment by model", 8)
            .about("Share of each model's requests whose first token came within the TTFT SLO chosen at the top of the dashboard. Below 99%: see Queue time and Prefill time. Gaps read \"idle\".")
            .query(share_at_most(&s(TIME_TO_FIRST_TOKEN), &ttft, BY_MODEL), "{{model_name}}")
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .good_from(0.9, 0.99)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::timeseries("ITL SLO attainment by model", 8)
            .about("Share of each model's output tokens that came within the ITL SLO of the previous token. Below 99%: batches are too large or prefills interrupt decoding. Gaps read \"idle\".")
            .query(
                version_proof(INTER_TOKEN_LATENCY, |m| share_at_most(&s(m), &itl, BY_MODEL)),
                "{{model_name}}",
            )
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .good_from(0.9, 0.99)
            .idle_is_nan(),
    );
    let ttft_hist = s(TIME_TO_FIRST_TOKEN);
    l.add(
        PanelSpec::timeseries("Requests missing the TTFT SLO", 8)
            .about("Requests per second whose first token came later than the TTFT SLO, per model: the absolute number of users who waited too long, which a ratio hides at low traffic.")
            .query(
                sum_rate(&ttft_hist.count(), BY_MODEL)
                    - sum(BY_MODEL, rate(&ttft_hist.bucket().eq("le", &ttft))),
                "{{model_name}}",
            )
            .unit(units::REQUESTS_PER_SECOND),
    );
    l.add(
        PanelSpec::heatmap("Inter-token latency distribution", 12)
            .about("Output tokens per second by inter-token latency bucket. A second band above the main one is decoding interrupted by prefills or preemptions.")
            .query(
                version_proof(INTER_TOKEN_LATENCY, |m| sum(&["le"], rate(&s(m).bucket()))),
                "{{le}}",
            )
            .unit(units::TOKENS_PER_SECOND)
            .y_unit(units::SECONDS),
    );
    l.add(
        PanelSpec::heatmap("End-to-end latency distribution", 12)
            .about("Finished requests per second by end-to-end latency bucket. Bands follow the output-length mix; a band moving up at constant length means slower decoding or queueing.")
            .query(sum(&["le"], rate(&s(E2E_REQUEST_LATENCY).bucket())), "{{le}}")
            .unit(units::REQUESTS_PER_SECOND)
            .y_unit(units::SECONDS),
    );
}

fn http(l: &mut Layout) {
    l.row("API server (HTTP)", false);
    let highr = s(HTTP_REQUEST_DURATION_HIGHR);
    l.add(
        PanelSpec::timeseries("HTTP latency", 12)
            .about(&format!(
                "{} p50, p99 and mean over all handlers, as clients see it (streaming responses count until the last byte). Needs vLLM 0.8.3 or later: \"No data\" before. Gaps read \"idle\".",
                meaning(HTTP_REQUEST_DURATION_HIGHR)
            ))
            .query(histogram_quantile(0.5, &highr, &[]), "p50")
            .query(histogram_quantile(0.99, &highr, &[]), "p99")
            .query(histogram_mean(&highr, &[]), "mean")
            .unit(units::SECONDS)
            .idle_is_nan()
            .conditional("vLLM 0.8.3 or later"),
    );
    l.add(
        kit::family(
            PanelSpec::timeseries("HTTP latency p90 by handler", 12).about(&format!(
                "{} One line per handler and method: a slow /v1/models or /health points at an overloaded API server rather than the engine. {} Gaps read \"idle\".",
                meaning(HTTP_REQUEST_DURATION),
                kit::needs(Condition::Traffic),
            )),
            HTTP_REQUEST_DURATION,
            "p90",
        )
        .conditional("vLLM 0.8.3 or later, after the first request"),
    );
    l.add(
        kit::family(
            kit::family(
                PanelSpec::timeseries("HTTP body sizes by handler", 12).about(&format!(
                    "Mean request and response body size per handler. Large requests are long prompts or inline images; large responses are long answers or non-streamed batches. {} Gaps read \"idle\".",
                    kit::needs(Condition::Traffic),
                )),
                HTTP_REQUEST_SIZE_BYTES,
                "request",
            ),
            HTTP_RESPONSE_SIZE_BYTES,
            "response",
        )
        .conditional("vLLM 0.8.3 or later, after the first request"),
    );
}
