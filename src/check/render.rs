//! Human-readable `check` output.

use super::gpu::DcgmReport;
use super::report::{Endpoint, TargetReport};
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
        if let Some(d) = &r.dcgm {
            render_dcgm(&mut out, d);
        }
        if r.endpoint != Endpoint::Dcgm {
            render_vllm(&mut out, r);
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

/// The vLLM part of a report: release, models, engines, features, headline numbers.
fn render_vllm(out: &mut String, r: &TargetReport) {
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
        k.kv_cache_usage
            .map_or("—".to_string(), |u| format!("{:.1}%", u * 100.0)),
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
}

/// At most this many GPUs are listed one by one.
const GPUS_SHOWN: usize = 16;

fn mib(v: Option<f64>) -> String {
    match v {
        Some(x) if x >= 1024.0 => format!("{:.1} GiB", x / 1024.0),
        Some(x) => format!("{x:.0} MiB"),
        None => "—".to_string(),
    }
}

fn unit(v: Option<f64>, suffix: &str) -> String {
    v.map_or("—".to_string(), |x| format!("{x:.0}{suffix}"))
}

/// "DCGM exporter: N GPUs (model), utilisation, framebuffer, temperature, power".
fn render_dcgm(out: &mut String, d: &DcgmReport) {
    let models = if d.models.is_empty() {
        "model unknown".to_string()
    } else {
        d.models.join(", ")
    };
    let hosts = if d.hostnames.is_empty() {
        String::new()
    } else {
        format!(" on {}", d.hostnames.join(", "))
    };
    let _ = writeln!(
        out,
        "  DCGM exporter: {} GPU{} ({models}){hosts}",
        d.gpu_count,
        if d.gpu_count == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "  utilisation {} avg, framebuffer used {} / free {}, temperature {} max, power {} total",
        unit(d.utilization_percent_avg, "%"),
        mib(d.fb_used_mib),
        mib(d.fb_free_mib),
        unit(d.temperature_c_max, " °C"),
        unit(d.power_w_total, " W"),
    );
    for g in d.gpus.iter().take(GPUS_SHOWN) {
        let pods = if g.pods.is_empty() {
            String::new()
        } else {
            format!(" pod {}", g.pods.join(", "))
        };
        let _ = writeln!(
            out,
            "    gpu {} {}: util {}, fb used {} / free {}, {}, {}{pods}",
            g.gpu,
            g.uuid.as_deref().unwrap_or("—"),
            unit(g.utilization_percent, "%"),
            mib(g.fb_used_mib),
            mib(g.fb_free_mib),
            unit(g.temperature_c, " °C"),
            unit(g.power_w, " W"),
        );
    }
    if d.gpus.len() > GPUS_SHOWN {
        let _ = writeln!(out, "    … {} more GPUs", d.gpus.len() - GPUS_SHOWN);
    }
    for g in d
        .gpus
        .iter()
        .filter(|g| g.last_xid.is_some_and(|x| x > 0.0))
    {
        let _ = writeln!(
            out,
            "  warning: gpu {} reported XID error {}",
            g.gpu,
            unit(g.last_xid, "")
        );
    }
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
