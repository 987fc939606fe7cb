//! "vLLM / Speculative decoding & LoRA": how well the speculator's drafts
//! are accepted (overall, per model, per draft position) and the LoRA
//! adapters. Both features are optional, so both rows stay collapsed.

use super::build::{units, PanelSpec};
use super::kit::{self, gauge, meaning, needs, s};
use super::layout::Layout;
use super::model::Dashboard;
use crate::catalog::names::*;
use crate::catalog::Condition;
use crate::promql::{aggregate, scalar, sum_rate, topk, vector, Expr};

const BY_MODEL: &[&str] = &["model_name"];
const SPEC_DECODE: &str = "speculative decoding";

pub(super) fn dashboard(datasource_type: &str, uid: &str, title: &str) -> Dashboard {
    let mut l = kit::layout(datasource_type);
    speculative(&mut l);
    lora(&mut l);
    kit::shell(
        datasource_type,
        uid,
        title,
        "Speculative decoding (draft acceptance overall, per model and per draft position, draft flow) and LoRA adapters of vLLM inference servers. Both rows need a feature switch and are collapsed: expand the one you use.",
        l.finish(),
    )
}

fn speculative(l: &mut Layout) {
    l.row("Speculative decoding", true);
    let on = needs(Condition::SpecDecode);
    let accepted = s(SPEC_DECODE_NUM_ACCEPTED_TOKENS);
    let drafts = s(SPEC_DECODE_NUM_DRAFTS);
    l.add(
        PanelSpec::timeseries("Draft acceptance rate", 12)
            .about(&format!(
                "Share of draft tokens proposed by the speculator that the target model accepted, per model. Low values mean speculation costs more compute than it saves: try fewer speculative tokens or a better-matched draft model. {on} Gaps read \"idle\"."
            ))
            .query(
                sum_rate(&accepted, BY_MODEL) / sum_rate(&s(SPEC_DECODE_NUM_DRAFT_TOKENS), BY_MODEL),
                "{{model_name}}",
            )
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .good_from(0.3, 0.6)
            .idle_is_nan()
            .conditional(SPEC_DECODE),
    );
    l.add(
        PanelSpec::timeseries("Mean acceptance length", 12)
            .about(&format!(
                "Tokens produced per verification step: one from the target model plus the accepted draft tokens. Values near 1 mean speculation barely helps. {on} Gaps read \"idle\"."
            ))
            .query(
                Expr::num(1.0) + sum_rate(&accepted, BY_MODEL) / sum_rate(&drafts, BY_MODEL),
                "{{model_name}}",
            )
            .unit(units::COUNT)
            .decimals(2)
            .idle_is_nan()
            .conditional(SPEC_DECODE),
    );
    l.add(
        PanelSpec::timeseries("Acceptance by draft position", 12)
            .about(&format!(
                "{} Share of drafts whose token at each position was accepted, over the selected models. A steep fall after the first positions means --num-speculative-tokens can be lowered without losing speed. {on} Gaps read \"idle\".",
                meaning(SPEC_DECODE_NUM_ACCEPTED_TOKENS_PER_POS)
            ))
            .query(
                sum_rate(&s(SPEC_DECODE_NUM_ACCEPTED_TOKENS_PER_POS), &["position"])
                    / scalar(sum_rate(&drafts, &[])),
                "position {{position}}",
            )
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .idle_is_nan()
            .conditional(SPEC_DECODE),
    );
    l.add(
        PanelSpec::timeseries("Draft flow", 12)
            .about(&format!(
                "Drafts proposed, draft tokens proposed and draft tokens accepted per second, all selected models. Accepted tokens are output the target model did not have to generate step by step. {on}"
            ))
            .query(sum_rate(&drafts, &[]), "drafts")
            .query(sum_rate(&s(SPEC_DECODE_NUM_DRAFT_TOKENS), &[]), "draft tokens")
            .query(sum_rate(&accepted, &[]), "accepted tokens")
            .unit(units::OPS)
            .conditional(SPEC_DECODE),
    );
}

fn lora(l: &mut Layout) {
    l.row("LoRA", true);
    let on = needs(Condition::Lora);
    // The value is the Unix time of the last update; Grafana dates are in ms.
    let newest = topk(1, &["job", "instance"], gauge(LORA_REQUESTS_INFO));
    l.add(
        PanelSpec::table("LoRA adapters", 16)
            .about(&format!(
                "{} The newest report of each instance: running and waiting adapters and the --max-loras limit. Adapters that stay in the waiting list need a larger --max-loras. {on}",
                meaning(LORA_REQUESTS_INFO)
            ))
            .column("Last update", newest * Expr::num(1000.0), None, &[])
            .unit(units::TIMESTAMP_MS)
            .conditional("LoRA"),
    );
    l.add(
        PanelSpec::stat("Instances waiting for an adapter")
            .about(&format!(
                "Instances whose newest report lists requests waiting for an adapter that is not loaded. Above zero: raise --max-loras or spread adapters over replicas. Needs {}; reads 0 without it.",
                kit::switch(Condition::Lora)
            ))
            .query(
                aggregate(
                    "count",
                    &[],
                    topk(1, &["job", "instance"], gauge(LORA_REQUESTS_INFO))
                        .and(Expr::select(
                            &s(LORA_REQUESTS_INFO).ne("waiting_lora_adapters", ""),
                        )),
                )
                .or(vector(0.0)),
                "waiting",
            )
            .unit(units::COUNT)
            .decimals(0)
            .red_from(1.0)
            .conditional("LoRA"),
    );
}
