//! `gpx_vllm`: the backend executable of the vLLM Grafana datasource plugin.
//! Grafana starts it; see `vllm_grafana::plugin`.

fn main() -> std::process::ExitCode {
    vllm_grafana::plugin::run()
}
