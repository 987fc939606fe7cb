//! Rows about the API server process, and the optional features
//! (speculative decoding, LoRA) in a row collapsed by default.

use super::{gauge, meaning, s, BY_INSTANCE, BY_MODEL};
use crate::catalog::names::*;
use crate::catalog::Condition;
use crate::dashboard::build::{units, PanelSpec};
use crate::dashboard::kit;
use crate::dashboard::layout::Layout;
use crate::promql::{max, sum, sum_rate, time, topk, Expr};

/// Shared by the process panels: when they are empty.
const PROCESS_NO_DATA: &str = "Describes the API server process only, not the GPU workers. \"No data\" with --api-server-count above 1 or on a non-Linux host.";

pub(super) fn rows(l: &mut Layout) {
    process(l);
    optional_features(l);
    other_features(l);
}

fn process(l: &mut Layout) {
    l.row("Process", false);
    l.add(
        PanelSpec::timeseries("API server memory", 6)
            .about(&format!(
                "{} {PROCESS_NO_DATA}",
                meaning(PROCESS_RESIDENT_MEMORY_BYTES)
            ))
            .query(
                sum(BY_INSTANCE, gauge(PROCESS_RESIDENT_MEMORY_BYTES)),
                "{{instance}}",
            )
            .unit(units::BYTES),
    );
    l.add(
        PanelSpec::timeseries("API server CPU", 6)
            .about(&format!(
                "CPU cores used by the API server process (tokenisation, detokenisation, HTTP). Near 1 the single-threaded front end is the bottleneck: more API servers (--api-server-count) or replicas help. {PROCESS_NO_DATA}"
            ))
            .query(sum_rate(&s(PROCESS_CPU_SECONDS), BY_INSTANCE), "{{instance}}")
            .unit(units::COUNT)
            .decimals(2)
            .axis_label("cores"),
    );
    l.add(
        PanelSpec::timeseries("Open file descriptors", 6)
            .about(&format!(
                "Open sockets and files of the API server as a share of its limit. Near 100% new connections are refused: raise the limit (ulimit -n) or find leaking clients. {PROCESS_NO_DATA}"
            ))
            .query(
                sum(BY_INSTANCE, gauge(PROCESS_OPEN_FDS))
                    / sum(BY_INSTANCE, gauge(PROCESS_MAX_FDS)),
                "{{instance}}",
            )
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .warn_at(0.8, 0.95),
    );
    l.add(
        PanelSpec::timeseries("Python GC collections", 6)
            .about(&format!(
                "{} Frequent generation-2 collections pause request handling; together with growing memory they point at a leak. {PROCESS_NO_DATA}",
                meaning(PYTHON_GC_COLLECTIONS)
            ))
            .query(
                sum_rate(&s(PYTHON_GC_COLLECTIONS), &["instance", "generation"]),
                "{{instance}} gen {{generation}}",
            )
            .unit(units::OPS),
    );
    l.add(
        PanelSpec::timeseries("Python objects collected", 6)
            .about(&format!(
                "{} {} Per second and generation. {PROCESS_NO_DATA}",
                meaning(PYTHON_GC_OBJECTS_COLLECTED),
                meaning(PYTHON_GC_OBJECTS_UNCOLLECTABLE)
            ))
            .query(
                sum_rate(&s(PYTHON_GC_OBJECTS_COLLECTED), &["instance", "generation"]),
                "{{instance}} gen {{generation}} collected",
            )
            .query(
                sum_rate(
                    &s(PYTHON_GC_OBJECTS_UNCOLLECTABLE),
                    &["instance", "generation"],
                ),
                "{{instance}} gen {{generation}} uncollectable",
            )
            .unit(units::OPS),
    );
    l.add(
        PanelSpec::timeseries("API server virtual memory", 6)
            .about(&format!(
                "{} Large and growing values are normal for CUDA processes; watch resident memory for leaks. {PROCESS_NO_DATA}",
                meaning(PROCESS_VIRTUAL_MEMORY_BYTES)
            ))
            .query(sum(BY_INSTANCE, gauge(PROCESS_VIRTUAL_MEMORY_BYTES)), "{{instance}}")
            .unit(units::BYTES),
    );
    l.add(
        PanelSpec::timeseries("API server uptime", 6)
            .about(&format!(
                "{} A drop to zero is a restart: check the log for out-of-memory kills or crashes. {PROCESS_NO_DATA}",
                meaning(PROCESS_START_TIME_SECONDS)
            ))
            .query(
                time() - max(BY_INSTANCE, gauge(PROCESS_START_TIME_SECONDS)),
                "{{instance}}",
            )
            .unit(units::SECONDS),
    );
    l.add(
        PanelSpec::table("Python runtime", 6)
            .about(&format!(
                "{} One line per API server: different interpreters across replicas of one model mean different images. {PROCESS_NO_DATA}",
                meaning(PYTHON_INFO)
            ))
            .column("Info", gauge(PYTHON_INFO), None, &[])
            .unit(units::COUNT),
    );
}

fn optional_features(l: &mut Layout) {
    l.row("Speculative decoding & LoRA", true);
    let accepted = s(SPEC_DECODE_NUM_ACCEPTED_TOKENS);
    l.add(
        PanelSpec::timeseries("Draft acceptance rate", 8)
            .about("Share of draft tokens proposed by the speculator that the target model accepted, per model. Low values mean speculation costs more compute than it saves: try fewer speculative tokens or a better-matched draft model. \"No data\" without --speculative-config. Gaps read \"idle\".")
            .query(
                sum_rate(&accepted, BY_MODEL)
                    / sum_rate(&s(SPEC_DECODE_NUM_DRAFT_TOKENS), BY_MODEL),
                "{{model_name}}",
            )
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .idle_is_nan()
            .conditional("speculative decoding"),
    );
    l.add(
        PanelSpec::timeseries("Mean acceptance length", 8)
            .about("Tokens produced per verification step: one from the target model plus the accepted draft tokens. Values near 1 mean speculation barely helps. Needs --speculative-config on the V1 engine (vLLM 0.8.5 or later). Gaps read \"idle\".")
            .query(
                Expr::num(1.0)
                    + sum_rate(&accepted, BY_MODEL)
                        / sum_rate(&s(SPEC_DECODE_NUM_DRAFTS), BY_MODEL),
                "{{model_name}}",
            )
            .unit(units::COUNT)
            .decimals(2)
            .idle_is_nan()
            .conditional("speculative decoding on the V1 engine"),
    );
    // The value is the Unix time of the last update; Grafana dates are in ms.
    let last_update = topk(1, &["job", "instance"], gauge(LORA_REQUESTS_INFO)) * Expr::num(1000.0);
    l.add(
        PanelSpec::table("LoRA adapters", 8)
            .about(&format!(
                "{} The newest report of each instance. Adapters that stay in the waiting list need a larger --max-loras. \"No data\" without --enable-lora.",
                meaning(LORA_REQUESTS_INFO)
            ))
            .column("Last update", last_update, None, &[])
            .unit(units::TIMESTAMP_MS)
            .conditional("LoRA"),
    );
}

/// Families a switch or an endpoint turns on, each panel naming it.
fn other_features(l: &mut Layout) {
    l.row("Other optional features", true);
    let panel = |title: &str, members: &[(&'static str, &str)], advice: &str, c: Condition| {
        let names: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
        let mut spec = PanelSpec::timeseries(title, 8).about(&format!(
            "{} {advice} {}",
            kit::meanings(&names),
            kit::needs(c)
        ));
        for (name, short) in members {
            spec = kit::family(spec, name, short);
        }
        spec
    };
    l.add(
        panel(
            "Sleep and wake operations",
            &[
                (SLEEP_MODE_OPERATION_DURATION, "p90"),
                (SLEEP_MODE_OPERATIONS_IN_FLIGHT, "in flight"),
            ],
            "Slow wake-ups delay the first requests after a sleep.",
            Condition::SleepMode,
        )
        .conditional("sleep mode"),
    );
    l.add(
        panel(
            "Weight updates",
            &[
                (RL_WEIGHT_UPDATE_OPERATION_DURATION, "p90"),
                (RL_WEIGHT_UPDATE_OPERATIONS_IN_FLIGHT, "in flight"),
            ],
            "Generation pauses while weights are swapped.",
            Condition::RlWeightUpdate,
        )
        .conditional("weight updates"),
    );
    l.add(
        panel(
            "Tool-call parsing",
            &[(TOOL_CALL_PARSER_INVOCATIONS, "")],
            "Per second, by mode, outcome and request type.",
            Condition::ToolCallParser,
        )
        .conditional("a tool-call parser"),
    );
    l.add(
        panel(
            "Realtime sessions",
            &[
                (WEBSOCKET_CONNECTIONS_ACTIVE, "open"),
                (WEBSOCKET_CONNECTIONS, "opened per second"),
            ],
            "",
            Condition::Realtime,
        )
        .conditional("realtime sessions"),
    );
    l.add(
        panel(
            "Realtime session duration",
            &[(WEBSOCKET_CONNECTION_DURATION, "p90")],
            "Sessions that end early point at clients dropping the connection.",
            Condition::Realtime,
        )
        .conditional("realtime sessions"),
    );
    l.add(
        panel(
            "Diffusion decoding",
            &[
                (DIFFUSION_NUM_DENOISING_STEPS, "denoising steps"),
                (DIFFUSION_NUM_CANVAS_POSITIONS, "canvas positions"),
                (DIFFUSION_NUM_COMMITTED_TOKENS, "committed tokens"),
            ],
            "Committed tokens per denoising step is the model's effective parallelism.",
            Condition::Diffusion,
        )
        .conditional("a diffusion language model"),
    );
    l.add(
        panel(
            "Requests with NaN logits",
            &[(CORRUPTED_REQUESTS, "")],
            "Anything above zero is a numerical fault: check the model, the kernels and quantisation.",
            Condition::NanCheck,
        )
        .red_from(0.001)
        .conditional("the NaN check"),
    );
    l.add(
        panel(
            "Watermarked requests",
            &[(WATERMARK_REQUESTS, "")],
            "Per second, by outcome.",
            Condition::Watermark,
        )
        .conditional("watermarking"),
    );
}
