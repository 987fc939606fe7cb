//! Grouping pull-parser entries into metric families, with the same rules
//! as prometheus_client's `text_string_to_metric_families`.

use std::borrow::Cow;

use super::error::{BadLine, ParseError, ParseErrorKind};
use super::metric_type::MetricType;
use super::pull::{Entry, Parser, RawSample};

/// How [`parse`](super::parse) treats a bad line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Stop at the first bad line and return its error.
    #[default]
    Strict,
    /// Skip bad lines, keep every good one, list the skipped ones in
    /// [`Exposition::bad_lines`].
    Lenient,
}

/// A parsed exposition: families in input order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exposition<'a> {
    pub families: Vec<Family<'a>>,
    /// Lines skipped in lenient mode (always empty in strict mode).
    pub bad_lines: Vec<BadLine>,
}

impl<'a> Exposition<'a> {
    /// First family called `name` (the name of its TYPE/HELP line, e.g.
    /// `vllm:prompt_tokens_total`, or the sample name for untyped samples).
    pub fn family(&self, name: &str) -> Option<&Family<'a>> {
        self.families.iter().find(|f| f.name == name)
    }

    pub fn sample_count(&self) -> usize {
        self.families.iter().map(|f| f.samples.len()).sum()
    }

    /// All samples of all families, in input order.
    pub fn samples(&self) -> impl Iterator<Item = &Sample<'a>> + '_ {
        self.families.iter().flat_map(|f| f.samples.iter())
    }
}

/// One metric family: its HELP/TYPE metadata and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family<'a> {
    /// Name as on the TYPE/HELP line, e.g. `vllm:prompt_tokens_total`.
    pub name: &'a str,
    pub metric_type: MetricType,
    /// Unescaped HELP text; `None` without a HELP line.
    pub help: Option<Cow<'a, str>>,
    pub samples: Vec<Sample<'a>>,
}

/// A sample with its labels materialised (in written order).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    pub labels: Vec<(&'a str, Cow<'a, str>)>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

impl<'a> Sample<'a> {
    /// Value of the label `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }
}

impl<'a> From<RawSample<'a>> for Sample<'a> {
    fn from(raw: RawSample<'a>) -> Self {
        Sample {
            name: raw.name,
            labels: raw.labels.iter().collect(),
            value: raw.value,
            timestamp_ms: raw.timestamp_ms,
        }
    }
}

/// Grouping state: the families so far and the one samples may join.
struct Builder<'a> {
    out: Exposition<'a>,
    mode: Mode,
    /// Index of the open family, and whether it had a `# TYPE` line.
    open: Option<(usize, bool)>,
}

impl<'a> Builder<'a> {
    /// The open family, if it is called `name`, and whether it was typed.
    fn open_named(&mut self, name: &str) -> Option<(&mut Family<'a>, bool)> {
        let (index, typed) = self.open?;
        let family = self.out.families.get_mut(index)?;
        (family.name == name).then_some((family, typed))
    }

    fn start(&mut self, family: Family<'a>, typed: bool) {
        self.open = Some((self.out.families.len(), typed));
        self.out.families.push(family);
    }

    fn push_sample(&mut self, raw: RawSample<'a>) {
        let open = self
            .open
            .and_then(|(index, _)| self.out.families.get_mut(index))
            .filter(|f| f.metric_type.accepts(f.name, raw.name));
        match open {
            Some(family) => family.samples.push(raw.into()),
            None => {
                // A sample that does not fit closes the open family and
                // becomes a one-sample untyped family; the next misfit
                // starts yet another.
                self.open = None;
                self.out.families.push(Family {
                    name: raw.name,
                    metric_type: MetricType::Untyped,
                    help: None,
                    samples: vec![raw.into()],
                });
            }
        }
    }

    /// A bad line: fatal in strict mode, recorded in lenient mode.
    fn reject(&mut self, error: ParseError) -> Result<(), ParseError> {
        match self.mode {
            Mode::Strict => Err(error),
            Mode::Lenient => {
                self.out.bad_lines.push(error.into());
                Ok(())
            }
        }
    }
}

pub(crate) fn build(text: &str, mode: Mode) -> Result<Exposition<'_>, ParseError> {
    let mut b = Builder {
        out: Exposition::default(),
        mode,
        open: None,
    };
    let mut parser = Parser::new(text);
    while let Some(item) = parser.next() {
        match item {
            Ok(Entry::Help { name, text }) => match b.open_named(name) {
                Some((family, _)) => family.help = Some(text),
                None => b.start(
                    Family {
                        name,
                        metric_type: MetricType::Untyped,
                        help: Some(text),
                        samples: Vec::new(),
                    },
                    false,
                ),
            },
            Ok(Entry::Type { name, metric_type }) => match b.open_named(name) {
                // prometheus_client lets the last TYPE win, Go rejects the
                // exposition; lenient mode keeps the first.
                Some((_, true)) => {
                    b.reject(parser.error_at(name, ParseErrorKind::DuplicateType))?;
                }
                Some((family, false)) => {
                    family.metric_type = metric_type;
                    b.open = b.open.map(|(index, _)| (index, true));
                }
                None => b.start(
                    Family {
                        name,
                        metric_type,
                        help: None,
                        samples: Vec::new(),
                    },
                    true,
                ),
            },
            Ok(Entry::Comment(_)) => {}
            Ok(Entry::Sample(raw)) => b.push_sample(raw),
            Err(e) => b.reject(e)?,
        }
    }
    Ok(b.out)
}
