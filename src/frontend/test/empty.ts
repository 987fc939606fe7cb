// Stands in for SystemJS, which @grafana/runtime loads for Grafana's own
// plugin loader; tests never load plugins through it.
export {};
