//! Throughput of the exposition parser, next to a newline-count baseline and
//! the `prom_text_format_parser` crate, on vLLM-shaped inputs.
//!
//! Run with `cargo bench --bench parser [input-filter]`. Each cell is the
//! best MB/s (1 MB = 10^6 bytes) over ~10 ms batches filling half a second.

#[path = "../tests/common/inputs.rs"]
mod inputs;

use std::hint::black_box;
use std::time::{Duration, Instant};

use vllm_grafana::exposition::{parse, Entry, Mode, Parser};

const BUDGET: Duration = Duration::from_millis(500);
const BATCH_TARGET: Duration = Duration::from_millis(10);
const MAX_BATCHES: usize = 10_000;

/// Best MB/s of `run` over `text` among ~10 ms batches, or the error `run`
/// reported. Best rather than median: on a shared machine interference only
/// ever slows a batch down.
fn measure(text: &str, mut run: impl FnMut(&str) -> Result<u64, String>) -> Result<f64, String> {
    // Warm-up, error check and batch sizing.
    let start = Instant::now();
    black_box(run(black_box(text))?);
    let once = start.elapsed().max(Duration::from_nanos(1));
    let per_batch = (BATCH_TARGET.as_nanos() / once.as_nanos()).clamp(1, 1 << 20) as usize;

    let mut rates = Vec::new();
    let begin = Instant::now();
    while begin.elapsed() < BUDGET && rates.len() < MAX_BATCHES {
        let t = Instant::now();
        for _ in 0..per_batch {
            black_box(run(black_box(text))?);
        }
        let secs = t.elapsed().as_secs_f64().max(1e-9);
        rates.push((text.len() * per_batch) as f64 / secs / 1e6);
    }
    Ok(rates.into_iter().fold(0.0, f64::max))
}

fn newline_count(text: &str) -> Result<u64, String> {
    Ok(memchr::memchr_iter(b'\n', text.as_bytes()).count() as u64)
}

fn pull_sum(text: &str) -> Result<u64, String> {
    let mut sum = 0.0;
    for entry in Parser::new(text) {
        match entry {
            Ok(Entry::Sample(s)) => sum += s.value,
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(black_box(sum).to_bits())
}

fn pull_with_labels(text: &str) -> Result<u64, String> {
    let mut sum = 0.0;
    let mut label_bytes = 0;
    for entry in Parser::new(text) {
        match entry {
            Ok(Entry::Sample(s)) => {
                sum += s.value;
                for (name, value) in s.labels {
                    label_bytes += name.len() + value.len();
                }
            }
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(black_box(sum).to_bits() ^ label_bytes as u64)
}

fn families(text: &str) -> Result<u64, String> {
    let exp = parse(text, Mode::Strict).map_err(|e| e.to_string())?;
    Ok(exp.sample_count() as u64)
}

/// `prom_text_format_parser` reports problems next to what it did parse
/// (`Scrape::parse` turns any of them into an error). Time the full parse
/// and tell the problems apart from the speed.
fn other_crate(text: &str) -> Result<u64, String> {
    let (metrics, _problems) = prom_text_format_parser::parse_scrape(text);
    Ok(metrics.iter().map(|m| m.samples.len() as u64).sum())
}

/// What `prom_text_format_parser` complained about, if anything.
fn other_crate_problems(text: &str) -> Option<String> {
    let (_, problems) = prom_text_format_parser::parse_scrape(text);
    problems.map(|e| {
        let all = format!("{e:?}");
        let mut short: String = all.chars().take(160).collect();
        if short.len() < all.len() {
            short.push_str("...");
        }
        short
    })
}

fn cell(r: &Result<f64, String>) -> String {
    match r {
        Ok(v) => format!("{v:.0}"),
        Err(_) => "failed".into(),
    }
}

fn ratio(a: &Result<f64, String>, b: &Result<f64, String>) -> String {
    match (a, b) {
        (Ok(a), Ok(b)) => format!("{:.1}x", a / b),
        _ => "-".into(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; an extra argument filters inputs.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let inputs: Vec<(&str, String)> = vec![
        ("multi_model(1)", inputs::multi_model(1)),
        ("multi_model(16)", inputs::multi_model(16)),
        ("multi_model(256)", inputs::multi_model(256)),
        ("capture 02", inputs::CAPTURE_02.to_owned()),
    ];

    println!(
        "{:<17} {:>10} | {:>8} {:>8} {:>8} {:>8} {:>8} | {:>11} {:>11} {:>11}",
        "input",
        "bytes",
        "newline",
        "pull",
        "pull+lbl",
        "parse()",
        "ptfp",
        "newline/pull",
        "pull/ptfp",
        "parse/ptfp"
    );
    println!("{}", "-".repeat(125));
    let mut errors = Vec::new();
    let mut verdict = None;
    for (name, text) in &inputs {
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let newline = measure(text, newline_count);
        let pull = measure(text, pull_sum);
        let pull_labels = measure(text, pull_with_labels);
        let parsed = measure(text, families);
        let other = measure(text, other_crate);
        let problems = other_crate_problems(text);
        println!(
            "{:<17} {:>10} | {:>8} {:>8} {:>8} {:>8} {:>8} | {:>11} {:>11} {:>11}",
            name,
            text.len(),
            cell(&newline),
            cell(&pull),
            cell(&pull_labels),
            cell(&parsed),
            format!(
                "{}{}",
                cell(&other),
                if problems.is_some() { "*" } else { "" }
            ),
            ratio(&newline, &pull),
            ratio(&pull, &other),
            ratio(&parsed, &other),
        );
        if let Some(p) = problems {
            errors.push(format!("* {name}: prom_text_format_parser reported {p}"));
        }
        for (what, r) in [
            ("newline", &newline),
            ("pull", &pull),
            ("pull+labels", &pull_labels),
            ("parse()", &parsed),
            ("prom_text_format_parser", &other),
        ] {
            if let Err(e) = r {
                errors.push(format!("{name}: {what} failed: {e}"));
            }
        }
        if *name == "multi_model(16)" {
            if let (Ok(p), Ok(n)) = (&pull, &newline) {
                verdict = Some((*p, n / p));
            }
        }
    }
    println!(
        "\nMB/s, best ~10 ms batch within ~{} ms per cell; ptfp = prom_text_format_parser 0.1.",
        BUDGET.as_millis()
    );
    for e in &errors {
        println!("{e}");
    }
    if let Some((mbps, slower)) = verdict {
        let ok = mbps >= 1000.0 && slower <= 10.0;
        println!(
            "target (pull on multi_model(16): >= 1000 MB/s, <= 10x newline): {mbps:.0} MB/s, {slower:.1}x -> {}",
            if ok { "met" } else { "MISSED" }
        );
    }
}
