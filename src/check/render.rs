//! Human-readable `check` output.

use super::report::TargetReport;
use std::fmt::Write;

fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) => format!("{x:.3}"),
        None => "—".to_string(),
    }
}

/// The reports as text for a terminal. Everything a server sent (model
/// names, label values, error pages) may hold control characters: they are
/// printed as escapes, so a scrape cannot move the cursor or recolour it.
pub fn render_text(reports: &[TargetReport]) -> String {
    render_raw(reports)
        .split('\n')
        .map(crate::scrape::escape)
        .collect::<Vec<_>>()
        .join("\n")
}

fn render_raw(reports: &[TargetReport]) -> String {
    let mut out = String::new();
    for r in reports {
        let verdict = if r.healthy { "OK" } else { "PROBLEM" };
        let _ = writeln!(out, "== {} [{verdict}]", r.target);
        if let Some(e) = &r.error {
            if r.reachable {
                let _ = writeln!(out, "  {e}");
            } else {
                let _ = writeln!(out, "  unreachable: {e}");
            }
            out.push('\n');
            continue;
        }
        let _ = writeln!(out, "  fetched {} bytes in {:.1} ms", r.bytes, r.fetch_ms);
        if let Some(s) = &r.sniffed {
            let engine = s.engine.map_or("?".to_string(), |e| format!("{e:?}"));
            let _ = writeln!(out, "  vLLM release: {} ({engine} engine)", s.range());
            for e in s.evidence.iter().take(6) {
                let _ = writeln!(out, "    - {e}");
            }
            let models: Vec<&str> = s.models.iter().map(String::as_str).collect();
            let engines: Vec<&str> = s.engines.iter().map(String::as_str).collect();
            let _ = writeln!(
                out,
                "  models: {}",
                if models.is_empty() {
                    "—".into()
                } else {
                    models.join(", ")
                }
            );
            let _ = writeln!(
                out,
                "  engines: {}",
                if engines.is_empty() {
                    "—".into()
                } else {
                    engines.join(", ")
                }
            );
            let f = &s.features;
            let _ = writeln!(
                out,
                "  features: spec-decode={} lora={} multi-api-server={} kv-connector={}",
                f.spec_decode, f.lora, f.multi_api_server, f.kv_connector
            );
        }
        let k = &r.key_values;
        let _ = writeln!(
            out,
            "  running={} waiting={} kv-cache={} prompt-tokens={} generation-tokens={} preemptions={}",
            num(k.requests_running),
            num(k.requests_waiting),
            k.kv_cache_usage.map_or("—".to_string(), |u| format!("{:.1}%", u * 100.0)),
            num(k.prompt_tokens_total),
            num(k.generation_tokens_total),
            num(k.preemptions_total),
        );
        if !k.requests_by_finished_reason.is_empty() {
            let parts: Vec<String> = k
                .requests_by_finished_reason
                .iter()
                .map(|(r, v)| format!("{r}={}", num(Some(*v))))
                .collect();
            let _ = writeln!(out, "  finished requests: {}", parts.join(" "));
        }
        for d in &r.deprecated_or_removed {
            let next = d.successor.map_or(String::new(), |s| format!("; use {s}"));
            let _ = writeln!(out, "  note: {} is {}{next}", d.name, d.note);
        }
        if !r.missing.is_empty() {
            let _ = writeln!(out, "  missing for this release: {}", r.missing.join(", "));
        }
        for b in &r.bad_lines {
            let _ = writeln!(
                out,
                "  bad line {}: {} near `{}`",
                b.line, b.reason, b.excerpt
            );
        }
        if r.bad_line_count > r.bad_lines.len() {
            let _ = writeln!(
                out,
                "  … {} more bad lines",
                r.bad_line_count - r.bad_lines.len()
            );
        }
        for p in &r.problems {
            let _ = writeln!(out, "  problem: {p}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_a_scrape_are_escaped() {
        let text = format!(
            "# TYPE {n} gauge\n{n}{{model_name=\"m\x1b[2J\x07\"}} 1\n",
            n = crate::catalog::names::NUM_REQUESTS_RUNNING
        );
        let report = crate::check::report_for_text("t".into(), &text, 0.0);
        let out = render_text(&[report]);
        assert!(out.contains("m\\u{1b}[2J\\u{7}"), "{out}");
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out}");
    }
}
