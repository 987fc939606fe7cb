//! Families a vLLM API server exposes besides its engine metrics: the Python
//! runtime and process collectors of prometheus_client, the HTTP layer, and the
//! 2023 aioprometheus counters.

use super::buckets::Buckets as B;
use super::names::*;
use super::version::v;
use super::{Condition as C, Kind, LabelDef, MetricDef, Scope, Span, Unit, BLANK};

/// Both engines are served by the same API server process.
const SERVER: MetricDef = MetricDef {
    scope: Scope::Own,
    v0: Some(Span::until(v(0, 4, 0), v(0, 11, 2))),
    v1: Some(Span::since(v(0, 7, 3))),
    requires: &[C::SingleApiServer],
    ..BLANK
};

const PROCESS_DEF: MetricDef = MetricDef {
    requires: &[C::SingleApiServer, C::Linux],
    ..SERVER
};

/// prometheus-fastapi-instrumentator came back with vLLM PR #15657.
const HTTP_DEF: MetricDef = MetricDef {
    scope: Scope::Own,
    v0: Some(Span::until(v(0, 8, 3), v(0, 11, 2))),
    v1: Some(Span::since(v(0, 8, 3))),
    requires: &[C::Traffic],
    ..BLANK
};

const AIO: MetricDef = MetricDef {
    kind: Kind::Counter,
    unit: Unit::Requests,
    scope: Scope::Own,
    v0: Some(Span::until(v(0, 2, 0), v(0, 3, 0))),
    requires: &[C::Traffic],
    ..BLANK
};

const GENERATION: &[LabelDef] = &[LabelDef {
    name: "generation",
    values: &[("0", v(0, 2, 0)), ("1", v(0, 2, 0)), ("2", v(0, 2, 0))],
}];

const HANDLER: LabelDef = LabelDef {
    name: "handler",
    values: &[],
};
const METHOD: LabelDef = LabelDef {
    name: "method",
    values: &[],
};

/// Printed before the engine metrics.
pub(super) const PROCESS: &[MetricDef] = &[
    MetricDef {
        name: PYTHON_GC_OBJECTS_COLLECTED,
        kind: Kind::Counter,
        extra_labels: GENERATION,
        help: "Objects collected during gc",
        meaning: "Objects freed by the API server's garbage collector, per generation.",
        ..SERVER
    },
    MetricDef {
        name: PYTHON_GC_OBJECTS_UNCOLLECTABLE,
        kind: Kind::Counter,
        extra_labels: GENERATION,
        help: "Uncollectable objects found during GC",
        meaning: "Objects the collector could not free: a steady rise is a leak.",
        ..SERVER
    },
    MetricDef {
        name: PYTHON_GC_COLLECTIONS,
        kind: Kind::Counter,
        extra_labels: GENERATION,
        help: "Number of times this generation was collected",
        meaning: "Garbage-collection runs per generation; frequent gen-2 runs stall request handling.",
        ..SERVER
    },
    MetricDef {
        name: PYTHON_INFO,
        kind: Kind::Gauge,
        unit: Unit::Info,
        extra_labels: &[
            LabelDef { name: "implementation", values: &[] },
            LabelDef { name: "major", values: &[] },
            LabelDef { name: "minor", values: &[] },
            LabelDef { name: "patchlevel", values: &[] },
            LabelDef { name: "version", values: &[] },
        ],
        help: "Python platform information",
        meaning: "Always 1; the labels name the Python interpreter.",
        ..SERVER
    },
    MetricDef {
        name: PROCESS_VIRTUAL_MEMORY_BYTES,
        unit: Unit::Bytes,
        help: "Virtual memory size in bytes.",
        meaning: "Virtual memory of the API server process (not GPU memory).",
        ..PROCESS_DEF
    },
    MetricDef {
        name: PROCESS_RESIDENT_MEMORY_BYTES,
        unit: Unit::Bytes,
        help: "Resident memory size in bytes.",
        meaning: "Resident memory of the API server process: steady growth is a leak.",
        ..PROCESS_DEF
    },
    MetricDef {
        name: PROCESS_START_TIME_SECONDS,
        unit: Unit::Timestamp,
        help: "Start time of the process since unix epoch in seconds.",
        meaning: "When the API server started; a change means a restart.",
        ..PROCESS_DEF
    },
    MetricDef {
        name: PROCESS_CPU_SECONDS,
        kind: Kind::Counter,
        unit: Unit::Seconds,
        help: "Total user and system CPU time spent in seconds.",
        meaning: "CPU time of the API server; rate() near 1 means one core saturated by tokenisation or HTTP.",
        ..PROCESS_DEF
    },
    MetricDef {
        name: PROCESS_OPEN_FDS,
        unit: Unit::Count,
        help: "Number of open file descriptors.",
        meaning: "Open sockets and files of the API server.",
        ..PROCESS_DEF
    },
    MetricDef {
        name: PROCESS_MAX_FDS,
        unit: Unit::Count,
        help: "Maximum number of open file descriptors.",
        meaning: "The descriptor limit; open fds near it refuse new connections.",
        ..PROCESS_DEF
    },
];

/// Printed after the engine metrics.
pub(super) const HTTP: &[MetricDef] = &[
    MetricDef {
        name: HTTP_REQUESTS,
        kind: Kind::Counter,
        unit: Unit::Requests,
        extra_labels: &[
            HANDLER,
            METHOD,
            LabelDef { name: "status", values: &[("2xx", v(0, 8, 3)), ("4xx", v(0, 8, 3)), ("5xx", v(0, 8, 3))] },
        ],
        help: "Total number of requests by method, status and handler.",
        meaning: "HTTP requests by handler and status class; 5xx are server errors seen by clients.",
        ..HTTP_DEF
    },
    MetricDef {
        name: HTTP_REQUEST_SIZE_BYTES,
        kind: Kind::Summary,
        unit: Unit::Bytes,
        extra_labels: &[HANDLER],
        help: "Content length of incoming requests by handler. Only value of header is respected. Otherwise ignored. No percentile calculated. ",
        meaning: "Request body sizes by handler.",
        ..HTTP_DEF
    },
    MetricDef {
        name: HTTP_RESPONSE_SIZE_BYTES,
        kind: Kind::Summary,
        unit: Unit::Bytes,
        extra_labels: &[HANDLER],
        help: "Content length of outgoing responses by handler. Only value of header is respected. Otherwise ignored. No percentile calculated. ",
        meaning: "Response body sizes by handler.",
        ..HTTP_DEF
    },
    MetricDef {
        name: HTTP_REQUEST_DURATION_HIGHR,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        help: "Latency with many buckets but no API specific labels. Made for more accurate percentile calculations. ",
        meaning: "HTTP latency of all handlers together, fine buckets.",
        requires: &[],
        buckets: Some(B::HttpHighResolution),
        ..HTTP_DEF
    },
    MetricDef {
        name: HTTP_REQUEST_DURATION,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        extra_labels: &[HANDLER, METHOD],
        help: "Latency with only few buckets by handler. Made to be only used if aggregation by handler is important. ",
        meaning: "HTTP latency by handler, coarse buckets.",
        buckets: Some(B::HttpCoarse),
        ..HTTP_DEF
    },
    MetricDef {
        name: AIO_EXCEPTIONS_TOTAL,
        help: "Total number of requested which generated an exception",
        meaning: "0.2.x only: requests that raised an exception.",
        ..AIO
    },
    MetricDef {
        name: AIO_REQUESTS_TOTAL,
        extra_labels: &[METHOD, LabelDef { name: "path", values: &[] }],
        help: "Total number of requests received",
        meaning: "0.2.x only: requests received.",
        ..AIO
    },
    MetricDef {
        name: AIO_RESPONSES_TOTAL,
        extra_labels: &[METHOD, LabelDef { name: "path", values: &[] }],
        help: "Total number of responses sent",
        meaning: "0.2.x only: responses sent.",
        ..AIO
    },
    MetricDef {
        name: AIO_STATUS_CODES,
        extra_labels: &[METHOD, LabelDef { name: "path", values: &[] }, LabelDef { name: "status_code", values: &[] }],
        help: "Total number of response status codes",
        meaning: "0.2.x only: responses by status code.",
        ..AIO
    },
];
