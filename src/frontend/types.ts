import { DataQuery, DataSourceJsonData } from '@grafana/data';

/** Result layout, as in Grafana's Prometheus datasource. */
export type QueryFormat = 'time_series' | 'table' | 'heatmap';

/**
 * One panel query. Same field names as Grafana's Prometheus query model, so
 * dashboards can switch between this datasource and Prometheus.
 */
export interface VllmQuery extends DataQuery {
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: QueryFormat;
  /** Minimum step, e.g. "30s" or "$__interval". */
  interval?: string;
  /**
   * Follow the series live (Grafana Live): in direct mode the panel gets a
   * new point at every scrape, without refreshing. Prometheus mode answers
   * the query normally with a notice.
   */
  live?: boolean;
  /** Which editor shows the query, as in Grafana's Prometheus query model. */
  editorMode?: EditorMode;
}

export type EditorMode = 'builder' | 'code';

export const DEFAULT_QUERY: Partial<VllmQuery> = {
  expr: '',
  range: true,
  instant: false,
  format: 'time_series',
};

export type Mode = 'direct' | 'prometheus';

/** Non-secret settings (`jsonData`). */
export interface VllmOptions extends DataSourceJsonData {
  /** Where data comes from: scrape vLLM directly, or ask a Prometheus server. */
  mode?: Mode;
  /** Direct mode: the vLLM /metrics endpoints to scrape. */
  targets?: string[];
  basicAuthUser?: string;
  tlsSkipVerify?: boolean;
  /** Present a client certificate (`tlsClientCert` / `tlsClientKey`) to the server. */
  tlsAuth?: boolean;
  /** Per-request timeout in seconds. */
  timeout?: number;
  /** Direct mode: how often targets are scraped, e.g. "10s". */
  scrapeInterval?: string;
  /**
   * Scrape interval of the Prometheus server (or of direct scraping). Grafana
   * uses it as the minimum query interval; kept equal to scrapeInterval.
   */
  timeInterval?: string;
  /** Direct mode: how long scraped samples are kept in memory, e.g. "6h". */
  retention?: string;
  /** Direct mode: most samples accepted from one scrape of one target. */
  seriesLimit?: number;
  /** Direct mode: largest metrics page accepted from one target, in bytes. */
  maxBodyBytes?: number;
  /** Direct mode: longest label value accepted, in bytes. */
  maxLabelValueBytes?: number;
  /** Prometheus mode: HTTP method for queries. */
  httpMethod?: 'POST' | 'GET';
  /**
   * Prometheus mode: extra parameters for every API request, as a query
   * string, e.g. Thanos' "dedup=true&partial_response=true".
   */
  customQueryParameters?: string;
}

/** Secret settings (`secureJsonData`); never sent back to the browser. */
export interface VllmSecureJsonData {
  basicAuthPassword?: string;
  bearerToken?: string;
  tlsCACert?: string;
  /** PEM client certificate, used when `tlsAuth` is on. */
  tlsClientCert?: string;
  /** PEM private key of the client certificate. */
  tlsClientKey?: string;
}

/**
 * One entry of the plugin's metric catalog (`GET /catalog`). The backend
 * sends `type` and `suggestedQuery`/`suggestedLegend`; `kind` and `promql`
 * are accepted as well.
 */
export interface CatalogEntry {
  name: string;
  kind: string;
  unit: string;
  meaning: string;
  /** Suggested PromQL for the metric. */
  promql: string;
  /** Suggested legend format, if any. */
  legend?: string;
  /** Labels the metric's series carry. */
  labels: string[];
  /** vLLM release history: the first release exposing the metric, and its deprecation and removal. */
  added?: string;
  deprecated?: string;
  removed?: string;
  /** The metric that replaces it, if any. */
  successor?: string;
}
