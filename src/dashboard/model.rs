//! Grafana's classic dashboard JSON model (schemaVersion 39, Grafana 10.4),
//! limited to what the generated dashboards use. Field order is the output
//! order, so rendering is stable.

use serde::Serialize;

/// The dashboard JSON `schemaVersion` written (Grafana 10.4).
pub const SCHEMA_VERSION: u32 = 39;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    pub uid: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub editable: bool,
    /// 1: crosshair shared between panels.
    pub graph_tooltip: u8,
    pub timezone: String,
    pub time: TimeRange,
    pub refresh: String,
    pub schema_version: u32,
    pub version: u32,
    pub annotations: Annotations,
    /// Links to the other generated dashboards, filled in by
    /// [`super::all`] once the set of a flavour is known.
    pub links: Vec<DashboardLink>,
    pub templating: Templating,
    pub panels: Vec<PanelItem>,
}

/// A link in the dashboard's header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardLink {
    pub title: String,
    #[serde(rename = "type")]
    pub kind: LinkKind,
    pub icon: String,
    pub tooltip: String,
    pub url: String,
    /// Only for [`LinkKind::Dashboards`]; empty here.
    pub tags: Vec<String>,
    pub as_dropdown: bool,
    pub target_blank: bool,
    /// Carries the variables (job, instance, model, ...) to the target.
    pub include_vars: bool,
    /// Carries the time range to the target.
    pub keep_time: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// A URL, here `/d/<uid>` of one dashboard.
    Link,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeRange {
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Annotations {
    pub list: Vec<Annotation>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    pub built_in: u8,
    pub datasource: DataSourceRef,
    pub enable: bool,
    pub hide: bool,
    pub icon_color: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A datasource reference: plugin type and instance uid (a variable here).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DataSourceRef {
    #[serde(rename = "type")]
    pub kind: String,
    pub uid: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Templating {
    pub list: Vec<Variable>,
}

/// A dashboard variable.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    #[serde(rename = "type")]
    pub kind: VariableKind,
    pub name: String,
    pub label: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasource: Option<DataSourceRef>,
    pub query: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// 0 never, 1 on load, 2 on time range change.
    pub refresh: u8,
    pub regex: String,
    /// 0 none, 1 alphabetical ascending.
    pub sort: u8,
    pub multi: bool,
    pub include_all: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_value: Option<String>,
    /// 0: label and value shown.
    pub hide: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<VariableOption>,
    pub options: Vec<VariableOption>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VariableKind {
    Datasource,
    Query,
    Custom,
    /// Key/value filters Grafana adds to every query of the datasource.
    Adhoc,
    /// A free-text value with a default (`query`).
    Textbox,
}

/// A variable value: one string, or a list for multi-value variables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum OptionValue {
    One(String),
    Many(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VariableOption {
    pub selected: bool,
    pub text: OptionValue,
    pub value: OptionValue,
}

/// A top-level entry of `panels`: a panel or a row header.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PanelItem {
    Panel(Box<Panel>),
    Row(Row),
}

/// A row header. Panels of an expanded row follow it at top level; a
/// collapsed row holds its panels.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    #[serde(rename = "type")]
    pub kind: RowKind,
    pub id: u32,
    pub title: String,
    pub collapsed: bool,
    pub grid_pos: GridPos,
    pub panels: Vec<Panel>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowKind {
    Row,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct GridPos {
    pub h: u32,
    pub w: u32,
    pub x: u32,
    pub y: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelType {
    Timeseries,
    Stat,
    Gauge,
    Table,
    Heatmap,
    Bargauge,
}

/// A visualisation panel.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    #[serde(rename = "type")]
    pub kind: PanelType,
    pub id: u32,
    pub title: String,
    pub description: String,
    pub datasource: DataSourceRef,
    pub grid_pos: GridPos,
    pub targets: Vec<Target>,
    pub field_config: FieldConfigSource,
    pub options: PanelOptions,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transformations: Vec<Transformation>,
    /// What a deployment needs for this panel to have data, when not every
    /// vLLM server has it (e.g. "speculative decoding"). Not part of the JSON.
    #[serde(skip)]
    pub conditional: Option<&'static str>,
}

/// A Prometheus query (the plugin accepts the same model).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub ref_id: String,
    pub datasource: DataSourceRef,
    pub editor_mode: String,
    pub expr: String,
    pub legend_format: String,
    pub range: bool,
    pub instant: bool,
    pub format: QueryFormat,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Streamed at every scrape (the plugin's direct mode, Grafana Live);
    /// written only when set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub live: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryFormat {
    TimeSeries,
    Table,
    Heatmap,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldConfigSource {
    pub defaults: FieldConfig,
    pub overrides: Vec<FieldOverride>,
}

/// Display settings of a panel's fields.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldConfig {
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    pub thresholds: Thresholds,
    pub mappings: Vec<ValueMapping>,
    pub color: FieldColor,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomFieldConfig>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    pub mode: ThresholdsMode,
    /// Sorted by value; the first step has no value (minus infinity).
    pub steps: Vec<ThresholdStep>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdsMode {
    Absolute,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThresholdStep {
    pub color: String,
    /// `null` for the base step.
    pub value: Option<f64>,
}

/// A value mapping; only special values (NaN, null) are used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValueMapping {
    #[serde(rename = "type")]
    pub kind: MappingKind,
    pub options: SpecialMapping,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MappingKind {
    Special,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpecialMapping {
    #[serde(rename = "match")]
    pub matches: SpecialValue,
    pub result: MappingResult,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpecialValue {
    Nan,
    Null,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MappingResult {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    pub index: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldColor {
    pub mode: ColorMode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColorMode {
    PaletteClassic,
    Thresholds,
}

/// Per-field overrides, matched by field (column or series) name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldOverride {
    pub matcher: FieldMatcher,
    pub properties: Vec<OverrideProperty>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldMatcher {
    /// `byName`.
    pub id: String,
    pub options: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OverrideProperty {
    pub id: String,
    pub value: PropertyValue,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PropertyValue {
    Text(String),
    Thresholds(Thresholds),
    CellOptions(CellOptions),
}

/// The panel plugin's own field options (`fieldConfig.defaults.custom`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CustomFieldConfig {
    Graph(GraphFieldConfig),
    Table(TableFieldConfig),
    Heatmap(HeatmapFieldConfig),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphFieldConfig {
    pub draw_style: String,
    pub line_width: u32,
    pub fill_opacity: u32,
    pub gradient_mode: String,
    pub show_points: String,
    pub span_nulls: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub axis_soft_min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub axis_label: Option<String>,
    pub stacking: Stacking,
    pub thresholds_style: ThresholdsStyle,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stacking {
    pub mode: String,
    pub group: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ThresholdsStyle {
    pub mode: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableFieldConfig {
    pub align: String,
    pub inspect: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CellOptions {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeatmapFieldConfig {
    pub scale_distribution: ScaleDistribution,
    pub hide_from: HideFrom,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScaleDistribution {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HideFrom {
    pub legend: bool,
    pub tooltip: bool,
    pub viz: bool,
}

/// Panel options; the variant matches the panel type.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PanelOptions {
    Timeseries(TimeseriesOptions),
    Stat(StatOptions),
    Gauge(GaugeOptions),
    Bargauge(BargaugeOptions),
    Table(TableOptions),
    Heatmap(HeatmapOptions),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimeseriesOptions {
    pub legend: Legend,
    pub tooltip: Tooltip,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Legend {
    pub display_mode: String,
    pub placement: String,
    pub show_legend: bool,
    pub calcs: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tooltip {
    pub mode: String,
    pub sort: String,
}

/// Which value a single-value panel shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReduceOptions {
    pub calcs: Vec<String>,
    pub fields: String,
    pub values: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatOptions {
    pub reduce_options: ReduceOptions,
    pub color_mode: String,
    pub graph_mode: String,
    pub justify_mode: String,
    pub text_mode: String,
    pub orientation: String,
    pub wide_layout: bool,
    pub show_percent_change: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GaugeOptions {
    pub reduce_options: ReduceOptions,
    pub orientation: String,
    pub show_threshold_labels: bool,
    pub show_threshold_markers: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BargaugeOptions {
    pub reduce_options: ReduceOptions,
    pub orientation: String,
    pub display_mode: String,
    pub value_mode: String,
    pub name_placement: String,
    pub show_unfilled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableOptions {
    pub show_header: bool,
    pub cell_height: String,
    pub sort_by: Vec<SortBy>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SortBy {
    pub display_name: String,
    pub desc: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeatmapOptions {
    /// The data already is a histogram: buckets come from the `le` label.
    pub calculate: bool,
    pub y_axis: HeatmapYAxis,
    pub color: HeatmapColor,
    pub cell_values: CellValues,
    pub tooltip: HeatmapTooltip,
    pub legend: HeatmapLegend,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeatmapYAxis {
    pub unit: String,
    pub axis_placement: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeatmapColor {
    pub mode: String,
    pub scheme: String,
    pub scale: String,
    pub exponent: f64,
    pub steps: u32,
    pub reverse: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CellValues {
    pub unit: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeatmapTooltip {
    pub mode: String,
    pub y_histogram: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeatmapLegend {
    pub show: bool,
}

/// A data transformation (used by the table to join its queries).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transformation {
    pub id: String,
    pub options: TransformationOptions,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TransformationOptions {
    /// `merge` takes no options.
    Empty {},
    Organize(OrganizeOptions),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizeOptions {
    pub exclude_by_name: std::collections::BTreeMap<String, bool>,
    pub index_by_name: std::collections::BTreeMap<String, u32>,
    pub rename_by_name: std::collections::BTreeMap<String, String>,
}
