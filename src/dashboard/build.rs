//! Panel specifications: what a panel shows, before the layout gives it an
//! id and a place. Grafana boilerplate (options, colours) is filled in here.

use super::model::*;
use super::notes::metrics_note;
use crate::promql::Expr;

/// Grafana unit ids used by the dashboards beyond the catalog's own.
pub(super) mod units {
    pub const TOKENS: &str = "count:tok";
    pub const TOKENS_PER_SECOND: &str = "count:tok/s";
    pub const STEPS_PER_SECOND: &str = "count:steps/s";
    pub const REQUESTS_PER_SECOND: &str = "reqps";
    pub const OPS: &str = "ops";
    pub const RATIO: &str = "percentunit";
    pub const SECONDS: &str = "s";
    pub const BYTES: &str = "bytes";
    pub const BYTES_PER_SECOND: &str = "Bps";
    pub const FLOPS: &str = "flops";
    pub const COUNT: &str = "short";
    pub const TIMESTAMP_MS: &str = "dateTimeAsIso";
}

const GREEN: &str = "green";
const ORANGE: &str = "orange";
const RED: &str = "red";

/// Text shown instead of NaN: a ratio or quantile with nothing to divide.
const IDLE: &str = "idle";

struct Query {
    expr: String,
    legend: String,
    instant: bool,
    format: QueryFormat,
}

/// A panel before layout.
pub(super) struct PanelSpec {
    kind: PanelType,
    title: String,
    about: String,
    pub(super) width: u32,
    pub(super) height: u32,
    queries: Vec<Query>,
    unit: &'static str,
    decimals: Option<u8>,
    min: Option<f64>,
    max: Option<f64>,
    base_color: &'static str,
    steps: Vec<(f64, &'static str)>,
    idle: bool,
    stacked: bool,
    axis_label: Option<&'static str>,
    y_unit: &'static str,
    columns: Vec<Column>,
    sort_by: Option<(&'static str, bool)>,
    conditional: Option<&'static str>,
    live: bool,
}

/// A table column fed by one instant query.
struct Column {
    name: &'static str,
    unit: Option<&'static str>,
    steps: Vec<(f64, &'static str)>,
}

impl PanelSpec {
    fn new(kind: PanelType, title: &str, width: u32, height: u32) -> PanelSpec {
        PanelSpec {
            kind,
            title: title.to_string(),
            about: String::new(),
            width,
            height,
            queries: Vec::new(),
            unit: units::COUNT,
            decimals: None,
            min: None,
            max: None,
            base_color: GREEN,
            steps: Vec::new(),
            idle: false,
            stacked: false,
            axis_label: None,
            y_unit: units::SECONDS,
            columns: Vec::new(),
            sort_by: None,
            conditional: None,
            live: false,
        }
    }

    pub fn timeseries(title: &str, width: u32) -> PanelSpec {
        PanelSpec::new(PanelType::Timeseries, title, width, 8)
    }

    /// A single number, 4 columns wide.
    pub fn stat(title: &str) -> PanelSpec {
        PanelSpec::new(PanelType::Stat, title, 4, 4)
    }

    pub fn gauge(title: &str) -> PanelSpec {
        PanelSpec::new(PanelType::Gauge, title, 4, 4)
    }

    pub fn bargauge(title: &str, width: u32) -> PanelSpec {
        PanelSpec::new(PanelType::Bargauge, title, width, 8)
    }

    pub fn table(title: &str, width: u32) -> PanelSpec {
        PanelSpec::new(PanelType::Table, title, width, 8)
    }

    pub fn heatmap(title: &str, width: u32) -> PanelSpec {
        PanelSpec::new(PanelType::Heatmap, title, width, 8)
    }

    /// What the panel means and what to do when it looks bad. A line naming
    /// the metrics (with the releases that have them) is appended.
    pub fn about(mut self, text: &str) -> PanelSpec {
        self.about = text.to_string();
        self
    }

    pub fn unit(mut self, unit: &'static str) -> PanelSpec {
        self.unit = unit;
        self
    }

    pub fn decimals(mut self, decimals: u8) -> PanelSpec {
        self.decimals = Some(decimals);
        self
    }

    /// Fixes the value range, e.g. 0..1 for fractions.
    pub fn range(mut self, min: f64, max: f64) -> PanelSpec {
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    /// Threshold colours: orange from `warn`, red from `bad` (higher is worse).
    pub fn warn_at(mut self, warn: f64, bad: f64) -> PanelSpec {
        self.base_color = GREEN;
        self.steps = vec![(warn, ORANGE), (bad, RED)];
        self
    }

    /// Red from `bad` upwards, for counts that should be zero.
    pub fn red_from(mut self, bad: f64) -> PanelSpec {
        self.base_color = GREEN;
        self.steps = vec![(bad, RED)];
        self
    }

    /// Threshold colours where lower is worse: red below `bad`, orange below
    /// `good`, green from `good`.
    pub fn good_from(mut self, bad: f64, good: f64) -> PanelSpec {
        self.base_color = RED;
        self.steps = vec![(bad, ORANGE), (good, GREEN)];
        self
    }

    /// The panel shows a ratio or quantile: NaN (nothing observed) reads "idle".
    pub fn idle_is_nan(mut self) -> PanelSpec {
        self.idle = true;
        self
    }

    pub fn stacked(mut self) -> PanelSpec {
        self.stacked = true;
        self
    }

    pub fn axis_label(mut self, label: &'static str) -> PanelSpec {
        self.axis_label = Some(label);
        self
    }

    /// The unit of a heatmap's buckets (its y axis).
    pub fn y_unit(mut self, unit: &'static str) -> PanelSpec {
        self.y_unit = unit;
        self
    }

    /// Only deployments with `condition` have data for this panel.
    /// Streams its queries at every scrape (Grafana Live; the plugin's
    /// direct mode only).
    pub fn live(mut self) -> PanelSpec {
        self.live = true;
        self
    }

    pub fn conditional(mut self, condition: &'static str) -> PanelSpec {
        self.conditional = Some(condition);
        self
    }

    /// A range query drawn as a series named `legend`.
    pub fn query(mut self, expr: Expr, legend: &str) -> PanelSpec {
        let format = match self.kind {
            PanelType::Heatmap => QueryFormat::Heatmap,
            _ => QueryFormat::TimeSeries,
        };
        self.queries.push(Query {
            expr: expr.into(),
            legend: legend.to_string(),
            instant: false,
            format,
        });
        self
    }

    /// An instant query (current value only), drawn as a series named `legend`.
    pub fn instant(mut self, expr: Expr, legend: &str) -> PanelSpec {
        self.queries.push(Query {
            expr: expr.into(),
            legend: legend.to_string(),
            instant: true,
            format: QueryFormat::TimeSeries,
        });
        self
    }

    /// A table column: an instant query in table format whose value column
    /// is renamed `name` and shown in `unit` (the panel unit when `None`).
    pub fn column(
        mut self,
        name: &'static str,
        expr: Expr,
        unit: Option<&'static str>,
        steps: &[(f64, &'static str)],
    ) -> PanelSpec {
        self.queries.push(Query {
            expr: expr.into(),
            legend: "__auto".to_string(),
            instant: true,
            format: QueryFormat::Table,
        });
        self.columns.push(Column {
            name,
            unit,
            steps: steps.to_vec(),
        });
        self
    }

    pub fn sort_by(mut self, column: &'static str, desc: bool) -> PanelSpec {
        self.sort_by = Some((column, desc));
        self
    }

    /// The finished panel at `pos`, reading from `datasource`.
    pub fn build(self, id: u32, pos: GridPos, datasource: &DataSourceRef) -> Panel {
        let exprs: Vec<&str> = self.queries.iter().map(|q| q.expr.as_str()).collect();
        let note = metrics_note(&exprs);
        let description = match (self.about.is_empty(), note.is_empty()) {
            (_, true) => self.about.clone(),
            (true, false) => note,
            (false, false) => format!("{}\n\n{note}", self.about),
        };
        let targets = self
            .queries
            .iter()
            .zip(ref_ids())
            .map(|(q, ref_id)| Target {
                ref_id,
                datasource: datasource.clone(),
                editor_mode: "code".to_string(),
                expr: q.expr.clone(),
                legend_format: q.legend.clone(),
                range: !q.instant,
                instant: q.instant,
                format: q.format,
                interval: None,
                live: self.live,
            })
            .collect();
        Panel {
            kind: self.kind,
            id,
            title: self.title.clone(),
            description,
            datasource: datasource.clone(),
            grid_pos: pos,
            targets,
            field_config: self.field_config(),
            options: self.options(),
            transformations: self.transformations(),
            conditional: self.conditional,
        }
    }

    fn field_config(&self) -> FieldConfigSource {
        let mappings = if self.idle {
            vec![ValueMapping {
                kind: MappingKind::Special,
                options: SpecialMapping {
                    matches: SpecialValue::Nan,
                    result: MappingResult {
                        text: IDLE.to_string(),
                        color: Some("text".to_string()),
                        index: 0,
                    },
                },
            }]
        } else {
            Vec::new()
        };
        let color = match self.kind {
            PanelType::Timeseries => ColorMode::PaletteClassic,
            _ => ColorMode::Thresholds,
        };
        FieldConfigSource {
            defaults: FieldConfig {
                unit: self.unit.to_string(),
                decimals: self.decimals,
                min: self.min,
                max: self.max,
                thresholds: thresholds(self.base_color, &self.steps),
                mappings,
                color: FieldColor { mode: color },
                custom: self.custom(),
            },
            overrides: self.overrides(),
        }
    }

    fn custom(&self) -> Option<CustomFieldConfig> {
        match self.kind {
            PanelType::Timeseries => Some(CustomFieldConfig::Graph(GraphFieldConfig {
                draw_style: "line".to_string(),
                line_width: 1,
                fill_opacity: if self.stacked { 40 } else { 10 },
                gradient_mode: "none".to_string(),
                show_points: "never".to_string(),
                span_nulls: false,
                axis_soft_min: Some(0.0),
                axis_label: self.axis_label.map(str::to_string),
                stacking: Stacking {
                    mode: if self.stacked { "normal" } else { "none" }.to_string(),
                    group: "A".to_string(),
                },
                thresholds_style: ThresholdsStyle {
                    mode: if self.steps.is_empty() {
                        "off"
                    } else {
                        "dashed"
                    }
                    .to_string(),
                },
            })),
            PanelType::Table => Some(CustomFieldConfig::Table(TableFieldConfig {
                align: "auto".to_string(),
                inspect: false,
            })),
            PanelType::Heatmap => Some(CustomFieldConfig::Heatmap(HeatmapFieldConfig {
                scale_distribution: ScaleDistribution {
                    kind: "linear".to_string(),
                },
                hide_from: HideFrom {
                    legend: false,
                    tooltip: false,
                    viz: false,
                },
            })),
            PanelType::Stat | PanelType::Gauge | PanelType::Bargauge => None,
        }
    }

    fn overrides(&self) -> Vec<FieldOverride> {
        self.columns
            .iter()
            .filter(|c| c.unit.is_some() || !c.steps.is_empty())
            .map(|c| {
                let mut properties = Vec::new();
                if let Some(unit) = c.unit {
                    properties.push(OverrideProperty {
                        id: "unit".to_string(),
                        value: PropertyValue::Text(unit.to_string()),
                    });
                }
                if !c.steps.is_empty() {
                    properties.push(OverrideProperty {
                        id: "thresholds".to_string(),
                        value: PropertyValue::Thresholds(thresholds(GREEN, &c.steps)),
                    });
                    properties.push(OverrideProperty {
                        id: "custom.cellOptions".to_string(),
                        value: PropertyValue::CellOptions(CellOptions {
                            kind: "color-text".to_string(),
                        }),
                    });
                }
                FieldOverride {
                    matcher: FieldMatcher {
                        id: "byName".to_string(),
                        options: c.name.to_string(),
                    },
                    properties,
                }
            })
            .collect()
    }

    fn options(&self) -> PanelOptions {
        let last = || ReduceOptions {
            calcs: vec!["lastNotNull".to_string()],
            fields: String::new(),
            values: false,
        };
        match self.kind {
            PanelType::Timeseries => PanelOptions::Timeseries(TimeseriesOptions {
                legend: Legend {
                    display_mode: "list".to_string(),
                    placement: "bottom".to_string(),
                    show_legend: true,
                    calcs: Vec::new(),
                },
                tooltip: Tooltip {
                    mode: "multi".to_string(),
                    sort: "desc".to_string(),
                },
            }),
            PanelType::Stat => PanelOptions::Stat(StatOptions {
                reduce_options: last(),
                color_mode: "value".to_string(),
                graph_mode: "area".to_string(),
                justify_mode: "auto".to_string(),
                text_mode: "auto".to_string(),
                orientation: "auto".to_string(),
                wide_layout: true,
                show_percent_change: false,
            }),
            PanelType::Gauge => PanelOptions::Gauge(GaugeOptions {
                reduce_options: last(),
                orientation: "auto".to_string(),
                show_threshold_labels: false,
                show_threshold_markers: true,
            }),
            PanelType::Bargauge => PanelOptions::Bargauge(BargaugeOptions {
                reduce_options: last(),
                orientation: "horizontal".to_string(),
                display_mode: "gradient".to_string(),
                value_mode: "color".to_string(),
                name_placement: "auto".to_string(),
                show_unfilled: true,
            }),
            PanelType::Table => PanelOptions::Table(TableOptions {
                show_header: true,
                cell_height: "sm".to_string(),
                sort_by: self
                    .sort_by
                    .iter()
                    .map(|(column, desc)| SortBy {
                        display_name: column.to_string(),
                        desc: *desc,
                    })
                    .collect(),
            }),
            PanelType::Heatmap => PanelOptions::Heatmap(HeatmapOptions {
                calculate: false,
                y_axis: HeatmapYAxis {
                    unit: self.y_unit.to_string(),
                    axis_placement: "left".to_string(),
                },
                color: HeatmapColor {
                    mode: "scheme".to_string(),
                    scheme: "Oranges".to_string(),
                    scale: "exponential".to_string(),
                    exponent: 0.5,
                    steps: 64,
                    reverse: false,
                },
                cell_values: CellValues {
                    unit: self.unit.to_string(),
                },
                tooltip: HeatmapTooltip {
                    mode: "single".to_string(),
                    y_histogram: true,
                },
                legend: HeatmapLegend { show: true },
            }),
        }
    }

    /// Tables join their instant queries into one row per label set and
    /// name the value columns.
    fn transformations(&self) -> Vec<Transformation> {
        if self.kind != PanelType::Table || self.columns.is_empty() {
            return Vec::new();
        }
        let mut rename = std::collections::BTreeMap::new();
        let mut index = std::collections::BTreeMap::new();
        for (i, (column, ref_id)) in self.columns.iter().zip(ref_ids()).enumerate() {
            // Grafana names the value column "Value" for a lone query and
            // "Value #<refId>" once there are several.
            let key = if self.columns.len() == 1 {
                "Value".to_string()
            } else {
                format!("Value #{ref_id}")
            };
            rename.insert(key, column.name.to_string());
            index.insert(column.name.to_string(), 100 + i as u32);
        }
        let exclude = ["Time", "__name__"]
            .iter()
            .map(|k| (k.to_string(), true))
            .collect();
        let mut out = Vec::new();
        if self.columns.len() > 1 {
            out.push(Transformation {
                id: "merge".to_string(),
                options: TransformationOptions::Empty {},
            });
        }
        out.push(Transformation {
            id: "organize".to_string(),
            options: TransformationOptions::Organize(OrganizeOptions {
                exclude_by_name: exclude,
                index_by_name: index,
                rename_by_name: rename,
            }),
        });
        out
    }
}

fn thresholds(base: &str, steps: &[(f64, &str)]) -> Thresholds {
    let mut all = vec![ThresholdStep {
        color: base.to_string(),
        value: None,
    }];
    all.extend(steps.iter().map(|(v, c)| ThresholdStep {
        color: c.to_string(),
        value: Some(*v),
    }));
    Thresholds {
        mode: ThresholdsMode::Absolute,
        steps: all,
    }
}

/// A, B, ..., Z, AA, AB, ...
fn ref_ids() -> impl Iterator<Item = String> {
    (0u32..).map(|mut i| {
        let mut id = String::new();
        loop {
            id.insert(0, char::from(b'A' + (i % 26) as u8));
            if i < 26 {
                break id;
            }
            i = i / 26 - 1;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_ids_run_past_z() {
        let ids: Vec<String> = ref_ids().take(28).collect();
        assert_eq!(ids[0], "A");
        assert_eq!(ids[25], "Z");
        assert_eq!(ids[26], "AA");
        assert_eq!(ids[27], "AB");
    }

    #[test]
    fn idle_panels_map_nan_and_tables_rename_value_columns() {
        let ds = DataSourceRef {
            kind: "prometheus".to_string(),
            uid: "${datasource}".to_string(),
        };
        let pos = GridPos {
            h: 8,
            w: 12,
            x: 0,
            y: 0,
        };
        let p = PanelSpec::timeseries("t", 12)
            .query(Expr::num(1.0), "one")
            .idle_is_nan()
            .build(1, pos, &ds);
        assert_eq!(p.field_config.defaults.mappings.len(), 1);
        assert_eq!(p.targets[0].ref_id, "A");

        let t = PanelSpec::table("t", 12)
            .column("First", Expr::num(1.0), None, &[])
            .column("Second", Expr::num(2.0), Some(units::SECONDS), &[])
            .build(2, pos, &ds);
        let json = serde_json::to_value(&t.transformations).unwrap();
        assert_eq!(json[0]["id"], "merge");
        assert_eq!(json[1]["options"]["renameByName"]["Value #B"], "Second");
        assert_eq!(t.field_config.overrides.len(), 1);
        assert!(t
            .targets
            .iter()
            .all(|q| q.instant && q.format == QueryFormat::Table));
    }
}
