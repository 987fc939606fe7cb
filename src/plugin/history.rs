//! A test and benchmark hook: seeds a direct-mode datasource's store with
//! recorded history, so that direct mode can be measured and compared on
//! exactly the samples a Prometheus or VictoriaMetrics server holds.
//!
//! When the plugin's environment has [`ENV`] set to a file path, each
//! direct-mode datasource, when created, reads that file before its scrape
//! loops start, and its queries wait (at most [`WAIT`]) until it is read.
//! Without the variable nothing changes. The file is the OpenMetrics text
//! `promtool tsdb create-blocks-from openmetrics` imports: one sample per
//! line, `name{labels} value timestamp`, the timestamp in seconds (at most
//! millisecond precision); `#` lines (`# TYPE`, `# EOF`) are skipped.
//!
//! Samples are stored as the scrape loop labels them: a line's `job` and
//! `instance` must be those of one of the datasource's targets (others are
//! skipped and counted), and become the target's labels. All the lines of
//! one target at one timestamp must be consecutive: they are one scrape, and
//! scrapes of a target must come in time order. `_created` series are
//! dropped as a scrape drops them. Nothing is added: `up` is stored only if
//! the file has it, and no staleness marker is written (as promtool writes
//! none), so a store and a Prometheus loaded from one file hold the same
//! samples.

use crate::exposition::{Entry, Parser};
use crate::scrape::is_created_series;
use crate::store::{Store, TargetKey};
use std::collections::HashMap;
use std::io::BufRead;
use std::time::Duration;

/// The environment variable naming the history file.
pub const ENV: &str = "VLLM_GRAFANA_DIRECT_HISTORY";

/// Longest a query waits for the history to be read.
pub const WAIT: Duration = Duration::from_secs(600);

/// What reading a history file stored and skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Samples stored.
    pub samples: usize,
    /// Scrapes stored (one target at one timestamp).
    pub scrapes: usize,
    /// Sample lines whose `job`/`instance` is not a target of the datasource.
    pub foreign: usize,
}

/// Why a history file could not be read to its end.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("reading the history: {0}")]
    Io(#[from] std::io::Error),
    #[error("history line {line}: {reason}")]
    Line { line: usize, reason: String },
}

/// Milliseconds of an OpenMetrics timestamp (seconds, up to 3 decimals),
/// exactly: no float rounding.
fn timestamp_ms(text: &str) -> Option<i64> {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let mut millis: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..3 {
        millis *= 10;
    }
    let millis = if secs < 0 || text.starts_with('-') {
        -millis
    } else {
        millis
    };
    secs.checked_mul(1000)?.checked_add(millis)
}

/// One scrape being gathered: its target, timestamp and sample lines
/// (without their timestamps).
struct Pending {
    key: Option<TargetKey>,
    instance: String,
    job: String,
    ts: i64,
    text: String,
    first_line: usize,
}

impl Pending {
    fn flush(&mut self, store: &Store, loaded: &mut Loaded) -> Result<(), HistoryError> {
        if self.text.is_empty() {
            return Ok(());
        }
        if let Some(key) = &self.key {
            let samples = Parser::new(&self.text).filter_map(|entry| match entry {
                Ok(Entry::Sample(s)) if !is_created_series(s.name) => {
                    let labels = s
                        .labels
                        .iter()
                        .filter(|(name, _)| *name != "job" && *name != "instance");
                    Some((s.name, labels, s.value))
                }
                _ => None,
            });
            let stats = store
                .backfill(key, self.ts, samples)
                .map_err(|e| HistoryError::Line {
                    line: self.first_line,
                    reason: e.to_string(),
                })?;
            loaded.samples += stats.samples;
            loaded.scrapes += 1;
        }
        self.text.clear();
        Ok(())
    }
}

/// Reads `input` (see the module documentation) into `store` for
/// `targets`, each known by its `(job, instance)`.
pub fn load(
    store: &Store,
    input: impl BufRead,
    targets: &[TargetKey],
) -> Result<Loaded, HistoryError> {
    let by_label: HashMap<(&str, &str), &TargetKey> = targets
        .iter()
        .map(|k| ((k.job.as_str(), k.instance.as_str()), k))
        .collect();
    let mut loaded = Loaded::default();
    let mut pending = Pending {
        key: None,
        instance: String::new(),
        job: String::new(),
        ts: i64::MIN,
        text: String::new(),
        first_line: 0,
    };
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        let number = n + 1;
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: &str| HistoryError::Line {
            line: number,
            reason: reason.to_string(),
        };
        let (sample, ts) = line.rsplit_once(' ').ok_or_else(|| bad("no timestamp"))?;
        let ts = timestamp_ms(ts).ok_or_else(|| bad("the timestamp is not seconds"))?;
        let parsed = match Parser::new(sample).next() {
            Some(Ok(Entry::Sample(s))) => s,
            Some(Err(e)) => return Err(bad(&e.to_string())),
            _ => return Err(bad("not a sample")),
        };
        let instance = parsed.labels.get("instance").unwrap_or_default();
        let job = parsed.labels.get("job").unwrap_or_default();
        let same = pending.ts == ts && pending.instance == instance && pending.job == job;
        if !same {
            pending.flush(store, &mut loaded)?;
            pending.key = by_label
                .get(&(job.as_ref(), instance.as_ref()))
                .map(|k| (*k).clone());
            pending.instance = instance.into_owned();
            pending.job = job.into_owned();
            pending.ts = ts;
            pending.first_line = number;
        }
        if pending.key.is_none() {
            loaded.foreign += 1;
            continue;
        }
        pending.text.push_str(sample);
        pending.text.push('\n');
    }
    pending.flush(store, &mut loaded)?;
    Ok(loaded)
}

/// [`load`] from the file at `path`.
pub fn load_file(
    store: &Store,
    path: &std::path::Path,
    targets: &[TargetKey],
) -> Result<Loaded, HistoryError> {
    let file = std::fs::File::open(path)?;
    load(
        store,
        std::io::BufReader::with_capacity(1 << 20, file),
        targets,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::names;
    use crate::eval;
    use crate::store::StoreConfig;

    #[test]
    fn timestamps_are_exact_milliseconds() {
        assert_eq!(timestamp_ms("1700000000.015"), Some(1_700_000_000_015));
        assert_eq!(timestamp_ms("1700000000.5"), Some(1_700_000_000_500));
        assert_eq!(timestamp_ms("1700000000"), Some(1_700_000_000_000));
        assert_eq!(timestamp_ms("-1.5"), Some(-1500));
        assert_eq!(timestamp_ms("1.0001"), None);
        assert_eq!(timestamp_ms("1e9"), None);
        assert_eq!(timestamp_ms("x"), None);
    }

    #[test]
    fn history_is_stored_per_target_as_scraped_and_foreign_lines_are_counted() {
        let running = names::NUM_REQUESTS_RUNNING;
        let text = format!(
            "# TYPE {running} gauge\n\
             {running}{{instance=\"a:1\",job=\"vllm\",engine=\"0\"}} 1 100.000\n\
             up{{instance=\"a:1\",job=\"vllm\"}} 1 100.000\n\
             {running}{{instance=\"b:2\",job=\"vllm\",engine=\"0\"}} 7 100.000\n\
             {running}{{instance=\"c:3\",job=\"vllm\",engine=\"0\"}} 9 100.000\n\
             {running}{{instance=\"a:1\",job=\"vllm\",engine=\"0\"}} 2 115.000\n\
             up{{instance=\"a:1\",job=\"vllm\"}} 1 115.000\n\
             # EOF\n"
        );
        let store = Store::new(StoreConfig::default());
        let targets = [TargetKey::new("vllm", "a:1"), TargetKey::new("vllm", "b:2")];
        let loaded = load(&store, text.as_bytes(), &targets).expect("loads");
        assert_eq!(
            loaded,
            Loaded {
                samples: 5,
                scrapes: 3,
                foreign: 1
            }
        );
        let at = |expr: &str, t: i64| match eval::instant(&store, expr, t) {
            Ok(eval::Value::Vector(v)) => v.iter().map(|s| s.v).sum::<f64>(),
            other => panic!("{expr}: {other:?}"),
        };
        assert_eq!(at(&format!("sum({running})"), 100_000), 8.0);
        assert_eq!(at(&format!("{running}{{instance=\"a:1\"}}"), 115_000), 2.0);
        assert_eq!(at("count_over_time(up[1m])", 115_000), 2.0);
        // No staleness: b's gauge is still there 4 minutes later.
        assert_eq!(at(&format!("{running}{{instance=\"b:2\"}}"), 340_000), 7.0);
    }

    #[test]
    fn a_scrape_out_of_order_names_its_line() {
        let text =
            "up{instance=\"a:1\",job=\"vllm\"} 1 115\nup{instance=\"a:1\",job=\"vllm\"} 1 100\n";
        let store = Store::new(StoreConfig::default());
        let err = load(&store, text.as_bytes(), &[TargetKey::new("vllm", "a:1")])
            .expect_err("out of order");
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = load(&store, "up 1\n".as_bytes(), &[]).expect_err("no timestamp");
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
