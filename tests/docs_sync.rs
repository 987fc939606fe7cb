//! The Chinese README (`README.zh-CN.md`) is a full translation of
//! `README.md` and must not drift from it: the same heading structure, the
//! same fenced code blocks byte for byte and in order, the same metric names
//! in inline code, every alert name in both, and links between the two.

use std::collections::BTreeSet;
use std::path::Path;

use vllm_grafana::alerts::{self, AlertConfig};
use vllm_grafana::catalog::{self, names};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const EN: &str = "README.md";
const ZH: &str = "README.zh-CN.md";

/// A heading outside code blocks: level (number of `#`), 1-based line, text.
struct Heading {
    level: usize,
    line: usize,
    text: String,
}

/// A fenced code block, fences included; `line` is the opening fence's.
struct Block {
    line: usize,
    text: String,
}

struct Doc {
    headings: Vec<Heading>,
    blocks: Vec<Block>,
    /// Inline code spans outside code blocks, whitespace runs collapsed (a
    /// span may wrap across lines).
    inline: Vec<String>,
}

fn heading_level(line: &str) -> Option<usize> {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    let rest = &line[hashes..];
    ((1..=6).contains(&hashes) && (rest.is_empty() || rest.starts_with(' '))).then_some(hashes)
}

fn fence_len(line: &str) -> usize {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return 0;
    }
    let n = trimmed.bytes().take_while(|&b| b == b'`').count();
    if n >= 3 {
        n
    } else {
        0
    }
}

fn inline_code(prose: &str) -> Vec<String> {
    let bytes = prose.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let open = bytes[i..].iter().take_while(|&&b| b == b'`').count();
        let start = i + open;
        // The closing run has exactly as many backticks as the opening one.
        let mut j = start;
        let mut close = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let run = bytes[j..].iter().take_while(|&&b| b == b'`').count();
                if run == open {
                    close = Some(j);
                    break;
                }
                j += run;
            } else {
                j += 1;
            }
        }
        match close {
            Some(end) => {
                let content = prose[start..end]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                spans.push(content);
                i = end + open;
            }
            None => i = start,
        }
    }
    spans
}

fn parse(text: &str) -> Doc {
    let mut headings = Vec::new();
    let mut blocks = Vec::new();
    let mut prose = String::new();
    let mut open: Option<(usize, usize, Vec<&str>)> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        match open.as_mut() {
            Some((fence, start, lines)) => {
                lines.push(line);
                let closing = fence_len(line);
                if closing >= *fence && line.trim().bytes().all(|b| b == b'`') {
                    blocks.push(Block {
                        line: *start,
                        text: lines.join("\n"),
                    });
                    open = None;
                }
                // A code block separates paragraphs.
                prose.push('\n');
            }
            None => {
                let fence = fence_len(line);
                if fence > 0 {
                    open = Some((fence, number, vec![line]));
                    prose.push('\n');
                } else if let Some(level) = heading_level(line) {
                    headings.push(Heading {
                        level,
                        line: number,
                        text: line.to_string(),
                    });
                    prose.push_str(line);
                    prose.push('\n');
                } else {
                    prose.push_str(line);
                    prose.push('\n');
                }
            }
        }
    }
    if let Some((_, start, lines)) = open {
        // An unclosed fence runs to the end of the document.
        blocks.push(Block {
            line: start,
            text: lines.join("\n"),
        });
    }
    Doc {
        headings,
        blocks,
        inline: inline_code(&prose),
    }
}

/// Every metric name the catalog knows, with histogram/summary sample names.
fn catalog_names() -> BTreeSet<String> {
    catalog::METRICS
        .iter()
        .flat_map(|m| {
            let mut names = m.sample_names();
            names.push(m.name.to_string());
            names
        })
        .collect()
}

/// An inline-code token that names a metric: it contains `vllm:`, or one of
/// its identifiers is a catalog name (`process_open_fds`, `rate(x[5m])`).
fn is_metric_token(token: &str, names: &BTreeSet<String>) -> bool {
    token.contains("vllm:")
        || token
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .any(|word| names.contains(word))
}

fn first_difference(a: &str, b: &str) -> String {
    let mut la = a.lines();
    let mut lb = b.lines();
    let mut n = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (None, None) => return "the same lines, different line endings".to_string(),
            (x, y) => {
                return format!(
                    "line {n} of the block: {EN} has {:?}, {ZH} has {:?}",
                    x.unwrap_or("<end of block>"),
                    y.unwrap_or("<end of block>")
                )
            }
        }
    }
}

/// Everything in which the Chinese text `zh` differs from the English `en`
/// beyond the translation itself; empty when they are in sync.
fn differences(en: &str, zh: &str) -> Vec<String> {
    let e = parse(en);
    let z = parse(zh);
    let mut out = Vec::new();

    // Headings: the same number, and the same sequence of levels.
    if e.headings.len() != z.headings.len() {
        out.push(format!(
            "heading count: {EN} has {}, {ZH} has {}",
            e.headings.len(),
            z.headings.len()
        ));
    }
    let diverge = e
        .headings
        .iter()
        .zip(&z.headings)
        .position(|(a, b)| a.level != b.level);
    if let Some(i) = diverge {
        let (a, b) = (&e.headings[i], &z.headings[i]);
        out.push(format!(
            "heading #{}: level {} in {EN} (line {}: {:?}) but level {} in {ZH} (line {}: {:?})",
            i + 1,
            a.level,
            a.line,
            a.text,
            b.level,
            b.line,
            b.text
        ));
    } else if e.headings.len() != z.headings.len() {
        let n = e.headings.len().min(z.headings.len());
        let (file, extra) = if e.headings.len() > n {
            (EN, &e.headings[n])
        } else {
            (ZH, &z.headings[n])
        };
        out.push(format!(
            "heading #{}: only {file} has it (line {}: {:?})",
            n + 1,
            extra.line,
            extra.text
        ));
    }

    // Fenced code blocks: identical, in the same order.
    if e.blocks.len() != z.blocks.len() {
        out.push(format!(
            "code block count: {EN} has {}, {ZH} has {}",
            e.blocks.len(),
            z.blocks.len()
        ));
    }
    for (i, (a, b)) in e.blocks.iter().zip(&z.blocks).enumerate() {
        if a.text != b.text {
            out.push(format!(
                "code block #{} differs ({EN} line {}, {ZH} line {}): {}",
                i + 1,
                a.line,
                b.line,
                first_difference(&a.text, &b.text)
            ));
        }
    }
    let n = e.blocks.len().min(z.blocks.len());
    for (file, extra) in [(EN, &e.blocks[n..]), (ZH, &z.blocks[n..])] {
        for (k, block) in extra.iter().enumerate() {
            out.push(format!(
                "code block #{}: only {file} has it (line {})",
                n + k + 1,
                block.line
            ));
        }
    }

    // Metric names in inline code, both ways.
    let names = catalog_names();
    let metrics = |doc: &Doc| -> BTreeSet<String> {
        doc.inline
            .iter()
            .filter(|t| is_metric_token(t, &names))
            .cloned()
            .collect()
    };
    let (me, mz) = (metrics(&e), metrics(&z));
    for token in me.difference(&mz) {
        out.push(format!(
            "metric token `{token}` is in {EN} but missing from {ZH}"
        ));
    }
    for token in mz.difference(&me) {
        out.push(format!(
            "metric token `{token}` is in {ZH} but missing from {EN}"
        ));
    }

    // Alert names, both ways.
    for rule in alerts::rules(&AlertConfig::default()) {
        match (en.contains(rule.name), zh.contains(rule.name)) {
            (true, false) => out.push(format!(
                "alert name {} is in {EN} but missing from {ZH}",
                rule.name
            )),
            (false, true) => out.push(format!(
                "alert name {} is in {ZH} but missing from {EN}",
                rule.name
            )),
            _ => {}
        }
    }

    // Each links to the other.
    if !en.contains(&format!("]({ZH})")) {
        out.push(format!("{EN} does not link to {ZH}"));
    }
    if !zh.contains(&format!("]({EN})")) {
        out.push(format!("{ZH} does not link to {EN}"));
    }
    out
}

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(name))
        .unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
}

#[test]
fn chinese_readme_is_in_sync_with_the_english_one() {
    let (en, zh) = (read(EN), read(ZH));
    let e = parse(&en);
    let names = catalog_names();
    let metric_tokens = e
        .inline
        .iter()
        .filter(|t| is_metric_token(t, &names))
        .collect::<BTreeSet<_>>()
        .len();
    // Guard against a parser that finds nothing and so compares nothing.
    assert!(e.headings.len() >= 10, "{} headings", e.headings.len());
    assert!(e.blocks.len() >= 5, "{} code blocks", e.blocks.len());
    assert!(metric_tokens >= 10, "{metric_tokens} metric tokens");
    for rule in alerts::rules(&AlertConfig::default()) {
        assert!(en.contains(rule.name), "{EN} lacks alert {}", rule.name);
    }
    println!(
        "compared {} headings, {} code blocks, {} metric tokens",
        e.headings.len(),
        e.blocks.len(),
        metric_tokens
    );
    let diffs = differences(&en, &zh);
    assert!(
        diffs.is_empty(),
        "{ZH} has drifted from {EN}:\n  {}",
        diffs.join("\n  ")
    );
}

#[test]
fn drift_is_reported_with_its_place() {
    let (en, zh) = (read(EN), read(ZH));
    let z = parse(&zh);
    // A heading followed by one of another level, so that removing it
    // shifts the level sequence right there.
    let heading = (1..z.headings.len() - 1)
        .find(|&i| z.headings[i].level != z.headings[i + 1].level)
        .expect("headings of more than one level");
    let block = 1;
    let heading_line = z.headings[heading].line;
    // The first line inside the block (after its opening fence).
    let block_line = z.blocks[block].line + 1;
    let altered: Vec<String> = zh
        .lines()
        .enumerate()
        .filter(|(i, _)| i + 1 != heading_line)
        .map(|(i, line)| {
            if i + 1 == block_line {
                format!("{line} --altered")
            } else {
                line.to_string()
            }
        })
        .collect();
    let altered = altered.join("\n");
    let diffs = differences(&en, &altered);
    let has = |needle: &str| diffs.iter().any(|d| d.contains(needle));
    assert!(has("heading count: README.md has"), "{diffs:#?}");
    assert!(has(&format!("heading #{}:", heading + 1)), "{diffs:#?}");
    assert!(
        has(&format!("code block #{} differs", block + 1)) && has("--altered"),
        "{diffs:#?}"
    );
    assert!(!has("code block count"), "{diffs:#?}");
    assert_eq!(diffs.len(), 3, "{diffs:#?}");

    // A metric name, an alert name and the link back, each dropped.
    let dropped = zh
        .replace(&format!("`{}`", names::NUM_PREEMPTIONS), "`x`")
        .replace("VllmEngineStalled", "EngineStalled")
        .replace("[English](README.md)", "English");
    let diffs = differences(&en, &dropped);
    let has = |needle: &str| diffs.iter().any(|d| d.contains(needle));
    assert!(
        has(&format!(
            "metric token `{}` is in README.md but missing",
            names::NUM_PREEMPTIONS
        )),
        "{diffs:#?}"
    );
    assert!(
        has("alert name VllmEngineStalled is in README.md but missing"),
        "{diffs:#?}"
    );
    assert!(
        has("README.zh-CN.md does not link to README.md"),
        "{diffs:#?}"
    );
    assert_eq!(diffs.len(), 3, "{diffs:#?}");
}

#[test]
fn parser_skips_headings_in_code_and_joins_wrapped_spans() {
    let doc = parse("# A\n\n```sh\n# not a heading\n```\n\nsee `a\n  b` and ``c`d``\n## B\n");
    let levels: Vec<usize> = doc.headings.iter().map(|h| h.level).collect();
    assert_eq!(levels, [1, 2]);
    assert_eq!(doc.blocks.len(), 1);
    assert_eq!(doc.blocks[0].text, "```sh\n# not a heading\n```");
    assert_eq!(doc.inline, ["a b", "c`d"]);
}
