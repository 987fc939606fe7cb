//! Each Chinese document is written for the same readers as its English
//! counterpart and must not drift from it: the same heading structure, the
//! same fenced code blocks byte for byte and in order, the same metric names
//! in inline code, every alert name in both, and links between the two. The
//! pairs: the READMEs, and the alert runbooks (`docs/runbooks*.md`), which
//! must also hold one `## <alert name>` section per generated alert rule.

use std::collections::BTreeSet;
use std::path::Path;

use vllm_grafana::alerts::{self, AlertConfig};
use vllm_grafana::catalog::{self, names};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// An English document and its Chinese counterpart, paths from the
/// repository root; both live in one directory and link to each other by
/// file name.
#[derive(Clone, Copy)]
struct Pair {
    en: &'static str,
    zh: &'static str,
}

const README: Pair = Pair {
    en: "README.md",
    zh: "README.zh-CN.md",
};

const RUNBOOKS: Pair = Pair {
    en: "docs/runbooks.md",
    zh: "docs/runbooks.zh-CN.md",
};

/// The file name, as the other file of the pair links to it.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

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

fn first_difference(pair: Pair, a: &str, b: &str) -> String {
    let mut la = a.lines();
    let mut lb = b.lines();
    let mut n = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (None, None) => return "the same lines, different line endings".to_string(),
            (x, y) => {
                return format!(
                    "line {n} of the block: {} has {:?}, {} has {:?}",
                    pair.en,
                    x.unwrap_or("<end of block>"),
                    pair.zh,
                    y.unwrap_or("<end of block>")
                )
            }
        }
    }
}

/// Everything in which the Chinese text `zh` differs from the English `en`
/// beyond the translation itself; empty when they are in sync.
fn differences(pair: Pair, en: &str, zh: &str) -> Vec<String> {
    let (en_file, zh_file) = (pair.en, pair.zh);
    let e = parse(en);
    let z = parse(zh);
    let mut out = Vec::new();

    // Headings: the same number, and the same sequence of levels.
    if e.headings.len() != z.headings.len() {
        out.push(format!(
            "heading count: {en_file} has {}, {zh_file} has {}",
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
            "heading #{}: level {} in {en_file} (line {}: {:?}) but level {} in {zh_file} (line {}: {:?})",
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
            (en_file, &e.headings[n])
        } else {
            (zh_file, &z.headings[n])
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
            "code block count: {en_file} has {}, {zh_file} has {}",
            e.blocks.len(),
            z.blocks.len()
        ));
    }
    for (i, (a, b)) in e.blocks.iter().zip(&z.blocks).enumerate() {
        if a.text != b.text {
            out.push(format!(
                "code block #{} differs ({en_file} line {}, {zh_file} line {}): {}",
                i + 1,
                a.line,
                b.line,
                first_difference(pair, &a.text, &b.text)
            ));
        }
    }
    let n = e.blocks.len().min(z.blocks.len());
    for (file, extra) in [(en_file, &e.blocks[n..]), (zh_file, &z.blocks[n..])] {
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
            "metric token `{token}` is in {en_file} but missing from {zh_file}"
        ));
    }
    for token in mz.difference(&me) {
        out.push(format!(
            "metric token `{token}` is in {zh_file} but missing from {en_file}"
        ));
    }

    // Alert names, both ways.
    for rule in alerts::rules(&AlertConfig::default()) {
        match (en.contains(rule.name), zh.contains(rule.name)) {
            (true, false) => out.push(format!(
                "alert name {} is in {en_file} but missing from {zh_file}",
                rule.name
            )),
            (false, true) => out.push(format!(
                "alert name {} is in {zh_file} but missing from {en_file}",
                rule.name
            )),
            _ => {}
        }
    }

    // Each links to the other.
    if !en.contains(&format!("]({})", file_name(zh_file))) {
        out.push(format!("{en_file} does not link to {zh_file}"));
    }
    if !zh.contains(&format!("]({})", file_name(en_file))) {
        out.push(format!("{zh_file} does not link to {en_file}"));
    }
    out
}

/// The alert configurations whose rules the runbooks document: the default
/// and the SLO example (its burn-rate alerts are opt-in).
fn documented_configs() -> Vec<AlertConfig> {
    let slo =
        vllm_grafana::generator_config::load(&Path::new(ROOT).join("deploy/vllm-grafana.slo.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
    vec![AlertConfig::default(), slo.alerts]
}

/// Every documented rule with the configuration that generates it, each
/// alert once.
fn documented_rules() -> Vec<(AlertConfig, alerts::AlertRule)> {
    let mut out: Vec<(AlertConfig, alerts::AlertRule)> = Vec::new();
    for cfg in documented_configs() {
        for rule in alerts::rules(&cfg) {
            if !out.iter().any(|(_, r)| r.name == rule.name) {
                out.push((cfg.clone(), rule));
            }
        }
    }
    out
}

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(name))
        .unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
}

/// Fails with every difference when the pair has drifted apart; `min` are
/// the least headings, code blocks and metric tokens the English file must
/// have, against a parser that finds nothing and so compares nothing.
fn assert_in_sync(pair: Pair, min: (usize, usize, usize)) {
    let (en, zh) = (read(pair.en), read(pair.zh));
    let e = parse(&en);
    let names = catalog_names();
    let metric_tokens = e
        .inline
        .iter()
        .filter(|t| is_metric_token(t, &names))
        .collect::<BTreeSet<_>>()
        .len();
    assert!(e.headings.len() >= min.0, "{} headings", e.headings.len());
    assert!(e.blocks.len() >= min.1, "{} code blocks", e.blocks.len());
    assert!(metric_tokens >= min.2, "{metric_tokens} metric tokens");
    for rule in alerts::rules(&AlertConfig::default()) {
        assert!(
            en.contains(rule.name),
            "{} lacks alert {}",
            pair.en,
            rule.name
        );
    }
    println!(
        "{}: compared {} headings, {} code blocks, {} metric tokens",
        pair.en,
        e.headings.len(),
        e.blocks.len(),
        metric_tokens
    );
    let diffs = differences(pair, &en, &zh);
    assert!(
        diffs.is_empty(),
        "{} has drifted from {}:\n  {}",
        pair.zh,
        pair.en,
        diffs.join("\n  ")
    );
}

#[test]
fn chinese_readme_is_in_sync_with_the_english_one() {
    assert_in_sync(README, (10, 5, 10));
}

#[test]
fn chinese_runbooks_are_in_sync_with_the_english_ones() {
    let rules = documented_rules().len();
    // A title and a section per alert; each section shows its query and a
    // `check` command.
    assert_in_sync(RUNBOOKS, (1 + rules, 2 * rules, 10));
}

/// Breaks a copy of the pair's Chinese file in known ways (a heading
/// removed, a line of a code block altered; then `metric` in inline code, an
/// alert name and the link back dropped) and checks that each break is
/// reported, where it is, and nothing else.
fn assert_drift_is_reported(pair: Pair, metric: &str) {
    let (en, zh) = (read(pair.en), read(pair.zh));
    let z = parse(&zh);
    // A heading followed by one of another level, so that removing it
    // shifts the level sequence right there.
    let heading = (0..z.headings.len() - 1)
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
    let diffs = differences(pair, &en, &altered);
    let has = |needle: &str| diffs.iter().any(|d| d.contains(needle));
    assert!(
        has(&format!("heading count: {} has", pair.en)),
        "{diffs:#?}"
    );
    assert!(has(&format!("heading #{}:", heading + 1)), "{diffs:#?}");
    assert!(
        has(&format!("code block #{} differs", block + 1)) && has("--altered"),
        "{diffs:#?}"
    );
    assert!(!has("code block count"), "{diffs:#?}");
    assert_eq!(diffs.len(), 3, "{diffs:#?}");

    // A metric name, an alert name and the link back, each dropped.
    let link_back = format!("[English]({})", file_name(pair.en));
    assert!(
        zh.contains(&format!("`{metric}`")),
        "{} lacks `{metric}`",
        pair.zh
    );
    assert!(zh.contains(&link_back), "{} lacks {link_back}", pair.zh);
    let dropped = zh
        .replace(&format!("`{metric}`"), "`x`")
        .replace("VllmEngineStalled", "EngineStalled")
        .replace(&link_back, "English");
    let diffs = differences(pair, &en, &dropped);
    let has = |needle: &str| diffs.iter().any(|d| d.contains(needle));
    assert!(
        has(&format!(
            "metric token `{metric}` is in {} but missing",
            pair.en
        )),
        "{diffs:#?}"
    );
    assert!(
        has(&format!(
            "alert name VllmEngineStalled is in {} but missing",
            pair.en
        )),
        "{diffs:#?}"
    );
    assert!(
        has(&format!("{} does not link to {}", pair.zh, pair.en)),
        "{diffs:#?}"
    );
    assert_eq!(diffs.len(), 3, "{diffs:#?}");

    // A whole fenced block dropped: counted, and named by its place.
    let last = z.blocks.last().expect("code blocks");
    let end = last.line + last.text.lines().count() - 1;
    let cut: Vec<&str> = zh
        .lines()
        .enumerate()
        .filter(|(i, _)| !(last.line..=end).contains(&(i + 1)))
        .map(|(_, line)| line)
        .collect();
    let diffs = differences(pair, &en, &cut.join("\n"));
    let has = |needle: &str| diffs.iter().any(|d| d.contains(needle));
    assert!(has("code block count"), "{diffs:#?}");
    assert!(
        has(&format!(
            "code block #{}: only {} has it",
            z.blocks.len(),
            pair.en
        )),
        "{diffs:#?}"
    );
}

#[test]
fn drift_is_reported_with_its_place() {
    assert_drift_is_reported(README, names::NUM_PREEMPTIONS);
}

#[test]
fn runbook_drift_is_reported_with_its_place() {
    assert_drift_is_reported(RUNBOOKS, names::NUM_REQUESTS_WAITING);
}

/// The alert names of the committed rule files: `alert` in
/// `prometheus/rules.yml`, `title` in `provisioning/alerting/*.yml`; and every
/// `runbook_url` annotation in them.
fn committed_alerts() -> (BTreeSet<String>, Vec<String>) {
    let mut files = vec![Path::new(ROOT).join("prometheus/rules.yml")];
    let grafana = Path::new(ROOT).join("provisioning/alerting");
    let mut provisioned: Vec<_> = std::fs::read_dir(&grafana)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", grafana.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    provisioned.sort();
    files.extend(provisioned);
    let (mut names, mut urls) = (BTreeSet::new(), Vec::new());
    for file in files {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let doc: serde_json::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let groups = doc["groups"].as_array().into_iter().flatten();
        for rule in groups.flat_map(|g| g["rules"].as_array().into_iter().flatten()) {
            if let Some(name) = rule["alert"].as_str().or(rule["title"].as_str()) {
                names.insert(name.to_string());
            }
            if let Some(url) = rule["annotations"]["runbook_url"].as_str() {
                urls.push(url.to_string());
            }
        }
    }
    (names, urls)
}

/// The text of each level-2 heading (`## name`), with its line.
fn sections(doc: &Doc) -> Vec<(&str, usize)> {
    doc.headings
        .iter()
        .filter(|h| h.level == 2)
        .map(|h| (h.text[2..].trim(), h.line))
        .collect()
}

/// What is wrong with the sections of one runbook file: an alert without a
/// `## <alert>` section, a section for no alert, a section twice, or a
/// section whose code blocks lack its rule's query.
fn section_problems(file: &str, text: &str, alerts: &BTreeSet<String>) -> Vec<String> {
    let doc = parse(text);
    let found = sections(&doc);
    let mut out = Vec::new();
    for alert in alerts {
        match found.iter().filter(|(name, _)| name == alert).count() {
            0 => out.push(format!("{file} has no `## {alert}` section")),
            1 => {}
            n => out.push(format!("{file} has {n} `## {alert}` sections")),
        }
    }
    for (name, line) in &found {
        if !alerts.contains(*name) {
            out.push(format!(
                "{file} line {line}: section `## {name}` names no alert rule"
            ));
        }
    }
    // Each section shows its rule's query, as generated, in a code block.
    for (cfg, rule) in documented_rules() {
        let Some(&(_, start)) = found.iter().find(|(name, _)| *name == rule.name) else {
            continue;
        };
        let end = found
            .iter()
            .map(|&(_, line)| line)
            .find(|&line| line > start)
            .unwrap_or(usize::MAX);
        let query = rule.query(&cfg);
        let shown = doc
            .blocks
            .iter()
            .filter(|b| b.line > start && b.line < end)
            .any(|b| b.text.lines().any(|l| l.trim() == query));
        if !shown {
            out.push(format!(
                "{file}: section `## {}` does not show the rule's query in a code block: {query}",
                rule.name
            ));
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_alert_has_a_runbook_section_in_both_languages() {
    let (committed, urls) = committed_alerts();
    let generated: BTreeSet<String> = documented_rules()
        .iter()
        .map(|(_, r)| r.name.to_string())
        .collect();
    assert!(!committed.is_empty(), "no alert names in the rule files");
    let alerts: BTreeSet<String> = committed.union(&generated).cloned().collect();
    let mut problems = Vec::new();
    for file in [RUNBOOKS.en, RUNBOOKS.zh] {
        problems.extend(section_problems(file, &read(file), &alerts));
    }

    // Every runbook_url, committed or generated, opens a heading of a file
    // in this repository (addresses elsewhere are the deployment's).
    let generated_urls = documented_rules()
        .iter()
        .map(|(cfg, r)| r.runbook_url(cfg))
        .collect::<Vec<_>>();
    for url in urls.iter().chain(&generated_urls) {
        let Some((path, fragment)) = url.split_once('#') else {
            problems.push(format!("runbook_url {url} has no #section"));
            continue;
        };
        if path.contains("://") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(Path::new(ROOT).join(path)) else {
            problems.push(format!("runbook_url {url}: no file {path}"));
            continue;
        };
        if !parse(&text)
            .headings
            .iter()
            .any(|h| anchor(&h.text) == fragment)
        {
            problems.push(format!(
                "runbook_url {url}: {path} has no heading #{fragment}"
            ));
        }
    }
    println!(
        "{} alerts, {} runbook_url annotations checked",
        alerts.len(),
        urls.len() + generated_urls.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn missing_and_stray_runbook_sections_are_reported() {
    let text = read(RUNBOOKS.zh);
    let (committed, _) = committed_alerts();
    let alerts: BTreeSet<String> = committed
        .into_iter()
        .chain(
            documented_rules()
                .into_iter()
                .map(|(_, r)| r.name.to_string()),
        )
        .collect();
    assert!(section_problems(RUNBOOKS.zh, &text, &alerts).is_empty());

    // VllmTargetDown's section renamed: the alert lacks a section, and the
    // renamed one names no alert.
    let renamed = text.replace("## VllmTargetDown\n", "## VllmTargetGone\n");
    let problems = section_problems(RUNBOOKS.zh, &renamed, &alerts);
    let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(has("has no `## VllmTargetDown` section"), "{problems:#?}");
    assert!(
        has("section `## VllmTargetGone` names no alert rule"),
        "{problems:#?}"
    );

    // A section without its rule's query.
    let cfg = AlertConfig::default();
    let rule = &alerts::rules(&cfg)[0];
    let without = text.replace(&rule.query(&cfg), "sum(up)");
    let problems = section_problems(RUNBOOKS.zh, &without, &alerts);
    assert!(
        problems.iter().any(|p| p.contains(&format!(
            "`## {}` does not show the rule's query",
            rule.name
        ))),
        "{problems:#?}"
    );

    // An alert the runbooks do not know yet.
    let mut more = alerts.clone();
    more.insert("VllmSomethingNew".to_string());
    let problems = section_problems(RUNBOOKS.zh, &text, &more);
    assert_eq!(
        problems,
        [format!(
            "{} has no `## VllmSomethingNew` section",
            RUNBOOKS.zh
        )]
    );
}

#[test]
fn anchors_are_githubs() {
    assert_eq!(anchor("## VllmTargetDown"), "vllmtargetdown");
    assert_eq!(anchor("### On Kubernetes"), "on-kubernetes");
    assert_eq!(anchor("## 告警"), "告警");
    assert_eq!(
        anchor("### VllmHighRequestQueue：请求排队过多"),
        "vllmhighrequestqueue请求排队过多"
    );
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
