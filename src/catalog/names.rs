//! Every metric name, typed once. Other modules refer to these constants.

// Scheduler state.
pub const NUM_REQUESTS_RUNNING: &str = "vllm:num_requests_running";
pub const NUM_REQUESTS_WAITING: &str = "vllm:num_requests_waiting";
pub const NUM_REQUESTS_WAITING_BY_REASON: &str = "vllm:num_requests_waiting_by_reason";
pub const NUM_REQUESTS_KV_FETCH_BY_STAGE: &str = "vllm:num_requests_kv_fetch_by_stage";
pub const NUM_REQUESTS_SWAPPED: &str = "vllm:num_requests_swapped";
pub const ENGINE_SLEEP_STATE: &str = "vllm:engine_sleep_state";
pub const ADMISSION_REJECTIONS: &str = "vllm:admission_rejections_total";

// KV cache.
pub const KV_CACHE_USAGE_PERC: &str = "vllm:kv_cache_usage_perc";
pub const GPU_CACHE_USAGE_PERC: &str = "vllm:gpu_cache_usage_perc";
pub const CPU_CACHE_USAGE_PERC: &str = "vllm:cpu_cache_usage_perc";
pub const PREFIX_CACHE_QUERIES: &str = "vllm:prefix_cache_queries_total";
pub const PREFIX_CACHE_HITS: &str = "vllm:prefix_cache_hits_total";
pub const GPU_PREFIX_CACHE_QUERIES: &str = "vllm:gpu_prefix_cache_queries_total";
pub const GPU_PREFIX_CACHE_HITS: &str = "vllm:gpu_prefix_cache_hits_total";
pub const GPU_PREFIX_CACHE_HIT_RATE: &str = "vllm:gpu_prefix_cache_hit_rate";
pub const CPU_PREFIX_CACHE_HIT_RATE: &str = "vllm:cpu_prefix_cache_hit_rate";
pub const EXTERNAL_PREFIX_CACHE_QUERIES: &str = "vllm:external_prefix_cache_queries_total";
pub const EXTERNAL_PREFIX_CACHE_HITS: &str = "vllm:external_prefix_cache_hits_total";
pub const MM_CACHE_QUERIES: &str = "vllm:mm_cache_queries_total";
pub const MM_CACHE_HITS: &str = "vllm:mm_cache_hits_total";
pub const KV_BLOCK_LIFETIME: &str = "vllm:kv_block_lifetime_seconds";
pub const KV_BLOCK_IDLE_BEFORE_EVICT: &str = "vllm:kv_block_idle_before_evict_seconds";
pub const KV_BLOCK_REUSE_GAP: &str = "vllm:kv_block_reuse_gap_seconds";
pub const CACHE_CONFIG_INFO: &str = "vllm:cache_config_info";

// Preemption and request outcome.
pub const NUM_PREEMPTIONS: &str = "vllm:num_preemptions_total";
pub const REQUEST_NUM_PREEMPTIONS: &str = "vllm:request_num_preemptions";
pub const REQUEST_SUCCESS: &str = "vllm:request_success_total";
pub const CORRUPTED_REQUESTS: &str = "vllm:corrupted_requests_total";
pub const WATERMARK_REQUESTS: &str = "vllm:watermark_requests_total";

// Tokens.
pub const PROMPT_TOKENS: &str = "vllm:prompt_tokens_total";
pub const GENERATION_TOKENS: &str = "vllm:generation_tokens_total";
pub const TOKENS: &str = "vllm:tokens_total";
pub const PROMPT_TOKENS_BY_SOURCE: &str = "vllm:prompt_tokens_by_source_total";
pub const PROMPT_TOKENS_CACHED: &str = "vllm:prompt_tokens_cached_total";
pub const PROMPT_TOKENS_CACHED_BY_SOURCE: &str = "vllm:prompt_tokens_cached_by_source_total";
pub const PROMPT_TOKENS_RECOMPUTED: &str = "vllm:prompt_tokens_recomputed_total";
pub const ITERATION_TOKENS: &str = "vllm:iteration_tokens_total";
pub const REQUEST_PROMPT_TOKENS: &str = "vllm:request_prompt_tokens";
pub const REQUEST_GENERATION_TOKENS: &str = "vllm:request_generation_tokens";
pub const REQUEST_MAX_NUM_GENERATION_TOKENS: &str = "vllm:request_max_num_generation_tokens";
pub const REQUEST_PARAMS_N: &str = "vllm:request_params_n";
pub const REQUEST_PARAMS_MAX_TOKENS: &str = "vllm:request_params_max_tokens";
pub const REQUEST_PARAMS_BEST_OF: &str = "vllm:request_params_best_of";
pub const REQUEST_PREFILL_KV_COMPUTED_TOKENS: &str = "vllm:request_prefill_kv_computed_tokens";
pub const AVG_PROMPT_THROUGHPUT: &str = "vllm:avg_prompt_throughput_toks_per_s";
pub const AVG_GENERATION_THROUGHPUT: &str = "vllm:avg_generation_throughput_toks_per_s";

// Latency.
pub const TIME_TO_FIRST_TOKEN: &str = "vllm:time_to_first_token_seconds";
pub const INTER_TOKEN_LATENCY: &str = "vllm:inter_token_latency_seconds";
pub const TIME_PER_OUTPUT_TOKEN: &str = "vllm:time_per_output_token_seconds";
pub const REQUEST_TIME_PER_OUTPUT_TOKEN: &str = "vllm:request_time_per_output_token_seconds";
pub const E2E_REQUEST_LATENCY: &str = "vllm:e2e_request_latency_seconds";
pub const REQUEST_QUEUE_TIME: &str = "vllm:request_queue_time_seconds";
pub const REQUEST_INFERENCE_TIME: &str = "vllm:request_inference_time_seconds";
pub const REQUEST_PREFILL_TIME: &str = "vllm:request_prefill_time_seconds";
pub const REQUEST_DECODE_TIME: &str = "vllm:request_decode_time_seconds";
pub const TIME_IN_QUEUE_REQUESTS: &str = "vllm:time_in_queue_requests";
pub const MODEL_FORWARD_TIME: &str = "vllm:model_forward_time_milliseconds";
pub const MODEL_EXECUTE_TIME: &str = "vllm:model_execute_time_milliseconds";
pub const REQUEST_RENDER_DURATION: &str = "vllm:request_render_duration_seconds";

// LoRA, speculative decoding, diffusion.
pub const LORA_REQUESTS_INFO: &str = "vllm:lora_requests_info";
pub const SPEC_DECODE_NUM_DRAFTS: &str = "vllm:spec_decode_num_drafts_total";
pub const SPEC_DECODE_NUM_DRAFT_TOKENS: &str = "vllm:spec_decode_num_draft_tokens_total";
pub const SPEC_DECODE_NUM_ACCEPTED_TOKENS: &str = "vllm:spec_decode_num_accepted_tokens_total";
pub const SPEC_DECODE_NUM_ACCEPTED_TOKENS_PER_POS: &str =
    "vllm:spec_decode_num_accepted_tokens_per_pos_total";
pub const SPEC_DECODE_NUM_EMITTED_TOKENS: &str = "vllm:spec_decode_num_emitted_tokens_total";
pub const SPEC_DECODE_DRAFT_ACCEPTANCE_RATE: &str = "vllm:spec_decode_draft_acceptance_rate";
pub const SPEC_DECODE_EFFICIENCY: &str = "vllm:spec_decode_efficiency";
pub const DIFFUSION_NUM_DENOISING_STEPS: &str = "vllm:diffusion_num_denoising_steps_total";
pub const DIFFUSION_NUM_CANVAS_POSITIONS: &str = "vllm:diffusion_num_canvas_positions_total";
pub const DIFFUSION_NUM_COMMITTED_TOKENS: &str = "vllm:diffusion_num_committed_tokens_total";

// Model FLOPs utilisation estimates.
pub const ESTIMATED_FLOPS_PER_GPU: &str = "vllm:estimated_flops_per_gpu_total";
pub const ESTIMATED_READ_BYTES_PER_GPU: &str = "vllm:estimated_read_bytes_per_gpu_total";
pub const ESTIMATED_WRITE_BYTES_PER_GPU: &str = "vllm:estimated_write_bytes_per_gpu_total";

// KV connectors and other optional subsystems.
pub const NIXL_XFER_TIME: &str = "vllm:nixl_xfer_time_seconds";
pub const NIXL_POST_TIME: &str = "vllm:nixl_post_time_seconds";
pub const NIXL_BYTES_TRANSFERRED: &str = "vllm:nixl_bytes_transferred";
pub const NIXL_NUM_DESCRIPTORS: &str = "vllm:nixl_num_descriptors";
pub const NIXL_NUM_FAILED_TRANSFERS: &str = "vllm:nixl_num_failed_transfers_total";
pub const NIXL_NUM_FAILED_NOTIFICATIONS: &str = "vllm:nixl_num_failed_notifications_total";
pub const NIXL_NUM_KV_EXPIRED_REQS: &str = "vllm:nixl_num_kv_expired_reqs_total";
pub const NIXL_NUM_NOTIFICATIONS_AFTER_EXPIRY: &str =
    "vllm:nixl_num_notifications_after_expiry_total";
pub const MOONCAKE_XFER_TIME: &str = "vllm:mooncake_xfer_time_seconds";
pub const MOONCAKE_BYTES_TRANSFERRED: &str = "vllm:mooncake_bytes_transferred";
pub const MOONCAKE_NUM_DESCRIPTORS: &str = "vllm:mooncake_num_descriptors";
pub const MOONCAKE_NUM_FAILED_TRANSFERS: &str = "vllm:mooncake_num_failed_transfers_total";
pub const MOONCAKE_NUM_FAILED_RECVS: &str = "vllm:mooncake_num_failed_recvs_total";
pub const MOONCAKE_NUM_KV_EXPIRED_REQS: &str = "vllm:mooncake_num_kv_expired_reqs_total";
pub const MOONCAKE_STORE_OPERATION_TIME: &str = "vllm:mooncake_store_operation_time_seconds";
pub const MOONCAKE_STORE_OPERATIONS: &str = "vllm:mooncake_store_operation_total";
pub const MOONCAKE_STORE_OPERATION_KEYS: &str = "vllm:mooncake_store_operation_keys_total";
pub const MOONCAKE_STORE_OPERATION_BYTES: &str = "vllm:mooncake_store_operation_bytes_total";
pub const MOONCAKE_STORE_OPERATION_FAILED_KEYS: &str =
    "vllm:mooncake_store_operation_failed_keys_total";
pub const HF3FS_SAVE_DURATION: &str = "vllm:hf3fs_save_duration_seconds";
pub const HF3FS_LOAD_DURATION: &str = "vllm:hf3fs_load_duration_seconds";
pub const HF3FS_NUM_FAILED_SAVE: &str = "vllm:hf3fs_num_failed_save_total";
pub const HF3FS_NUM_FAILED_LOAD: &str = "vllm:hf3fs_num_failed_load_total";
pub const HISPARSE_CACHE_HITS: &str = "vllm:hisparse_cache_hits_total";
pub const HISPARSE_CACHE_MISSES: &str = "vllm:hisparse_cache_misses_total";
pub const HISPARSE_HOST_TO_DEVICE_BYTES: &str = "vllm:hisparse_host_to_device_bytes_total";
pub const HISPARSE_HOST_CACHE_USAGE_PERC: &str = "vllm:hisparse_host_cache_usage_perc";
pub const HISPARSE_PENDING_PAGE_TRANSFERS: &str = "vllm:hisparse_pending_page_transfers";
pub const HISPARSE_HOST_BLOCK_LIFETIME: &str = "vllm:hisparse_host_block_lifetime_seconds";
pub const HISPARSE_HOST_BLOCK_IDLE_BEFORE_EVICT: &str =
    "vllm:hisparse_host_block_idle_before_evict_seconds";
pub const HISPARSE_HOST_BLOCK_REUSE_GAP: &str = "vllm:hisparse_host_block_reuse_gap_seconds";
pub const UMBP_TRANSFER_SUBMITTED: &str = "vllm:umbp_transfer_submitted_total";
pub const UMBP_TRANSFER_COMPLETED: &str = "vllm:umbp_transfer_completed_total";
pub const UMBP_TRANSFER_FAILED: &str = "vllm:umbp_transfer_failed_total";
pub const UMBP_TRANSFER_BYTES: &str = "vllm:umbp_transfer_bytes_total";
pub const SIMPLE_KV_OFFLOAD_SAVE_OUTCOMES: &str = "vllm:simple_kv_offload_save_outcomes_total";
pub const SIMPLE_KV_OFFLOAD_LOAD_BLOCKS: &str = "vllm:simple_kv_offload_load_blocks_total";
pub const SIMPLE_KV_OFFLOAD_USED_BLOCKS: &str = "vllm:simple_kv_offload_used_blocks";
pub const SIMPLE_KV_OFFLOAD_PENDING_STORE_BLOCKS: &str =
    "vllm:simple_kv_offload_pending_store_blocks";
pub const SIMPLE_KV_OFFLOAD_INFO: &str = "vllm:simple_kv_offload_info";

// The offloading connector (`OffloadingConnector`) and its secondary tiers.
pub const KV_OFFLOAD_TOTAL_BYTES: &str = "vllm:kv_offload_total_bytes_total";
pub const KV_OFFLOAD_TOTAL_TIME: &str = "vllm:kv_offload_total_time_total";
pub const KV_OFFLOAD_SIZE: &str = "vllm:kv_offload_size";
pub const KV_OFFLOAD_LOAD_BYTES: &str = "vllm:kv_offload_load_bytes_total";
pub const KV_OFFLOAD_LOAD_TIME: &str = "vllm:kv_offload_load_time_total";
pub const KV_OFFLOAD_LOAD_SIZE: &str = "vllm:kv_offload_load_size";
pub const KV_OFFLOAD_STORE_BYTES: &str = "vllm:kv_offload_store_bytes_total";
pub const KV_OFFLOAD_STORE_TIME: &str = "vllm:kv_offload_store_time_total";
pub const KV_OFFLOAD_STORE_SIZE: &str = "vllm:kv_offload_store_size";
pub const KV_OFFLOAD_STORES_SKIPPED: &str = "vllm:kv_offload_stores_skipped_total";
pub const KV_OFFLOAD_LOOKUP_SYNC_DELAY: &str = "vllm:kv_offload_lookup_sync_delay_seconds";
pub const KV_OFFLOAD_LOOKUP_ASYNC_DELAY: &str = "vllm:kv_offload_lookup_async_delay_seconds";
pub const KV_OFFLOAD_ALLOCATION_FAILURE: &str = "vllm:kv_offload_allocation_failure_total";
pub const KV_OFFLOAD_CONFIG_INFO: &str = "vllm:kv_offload_config_info";
pub const KV_OFFLOAD_CPU_CACHE_USAGE_PERC: &str = "vllm:kv_offload_cpu_cache_usage_perc";
pub const KV_OFFLOAD_CPU_CACHE_WRITE_USAGE_PERC: &str =
    "vllm:kv_offload_cpu_cache_write_usage_perc";
pub const KV_OFFLOAD_CPU_CACHE_READ_USAGE_PERC: &str = "vllm:kv_offload_cpu_cache_read_usage_perc";
pub const KV_OFFLOAD_CPU_ALLOCATION_SIZE: &str = "vllm:kv_offload_cpu_allocation_size";
pub const KV_OFFLOAD_TIERING_LOOKUP_SYNC_DELAY: &str =
    "vllm:kv_offload_tiering_lookup_sync_delay_seconds";
pub const KV_OFFLOAD_TIERING_LOOKUP_ASYNC_DELAY: &str =
    "vllm:kv_offload_tiering_lookup_async_delay_seconds";
pub const KV_OFFLOAD_TIERING_READ_BYTES: &str = "vllm:kv_offload_tiering_read_bytes_total";
pub const KV_OFFLOAD_TIERING_READ_TIME: &str = "vllm:kv_offload_tiering_read_time_total";
pub const KV_OFFLOAD_TIERING_WRITE_BYTES: &str = "vllm:kv_offload_tiering_write_bytes_total";
pub const KV_OFFLOAD_TIERING_WRITE_TIME: &str = "vllm:kv_offload_tiering_write_time_total";
pub const KV_OFFLOAD_TIERING_PROMOTION_JOB_FAILURES: &str =
    "vllm:kv_offload_tiering_promotion_job_failures_total";
pub const KV_OFFLOAD_TIERING_CASCADE_JOB_FAILURES: &str =
    "vllm:kv_offload_tiering_cascade_job_failures_total";
pub const KV_OFFLOAD_TIERING_CHUNK_QUERIES: &str = "vllm:kv_offload_tiering_chunk_queries_total";
pub const KV_OFFLOAD_TIERING_CHUNK_HITS: &str = "vllm:kv_offload_tiering_chunk_hits_total";
pub const KV_OFFLOAD_TIERING_PROMOTION_ALLOCATION_FAILURES: &str =
    "vllm:kv_offload_tiering_promotion_allocation_failures_total";
pub const KV_OFFLOAD_TIERING_PRIMARY_WRITE_USAGE_PERC: &str =
    "vllm:kv_offload_tiering_primary_write_usage_perc";
pub const KV_OFFLOAD_TIERING_PRIMARY_READ_USAGE_PERC: &str =
    "vllm:kv_offload_tiering_primary_read_usage_perc";
pub const KV_OFFLOAD_TIERING_ACTIVE_PROMOTION_JOBS: &str =
    "vllm:kv_offload_tiering_active_promotion_jobs";
pub const KV_OFFLOAD_TIERING_ACTIVE_CASCADE_JOBS: &str =
    "vllm:kv_offload_tiering_active_cascade_jobs";
pub const KV_OFFLOAD_TIERING_BACKPRESSURE_STORE_LATENCY_EMA: &str =
    "vllm:kv_offload_tiering_backpressure_store_latency_ema";
pub const KV_OFFLOAD_TIERING_BACKPRESSURE_STORES_DROPPED: &str =
    "vllm:kv_offload_tiering_backpressure_stores_dropped_total";
pub const KV_OFFLOAD_TIERING_BACKPRESSURE_BLOCKS_DROPPED: &str =
    "vllm:kv_offload_tiering_backpressure_blocks_dropped_total";
pub const KV_OFFLOAD_TIERING_PROMOTION_LATENCY: &str =
    "vllm:kv_offload_tiering_promotion_latency_seconds";
pub const KV_OFFLOAD_TIERING_DEFERRED_RELEASE_CHUNKS: &str =
    "vllm:kv_offload_tiering_deferred_release_chunks";
pub const KV_OFFLOAD_TIERING_DEFERRED_RELEASE_HOLD: &str =
    "vllm:kv_offload_tiering_deferred_release_hold_seconds";

// Other optional subsystems.
pub const SLEEP_MODE_OPERATION_DURATION: &str = "vllm:sleep_mode_operation_duration_seconds";
pub const SLEEP_MODE_OPERATIONS_IN_FLIGHT: &str = "vllm:sleep_mode_operations_in_flight";
pub const RL_WEIGHT_UPDATE_OPERATION_DURATION: &str =
    "vllm:rl_weight_update_operation_duration_seconds";
pub const RL_WEIGHT_UPDATE_OPERATIONS_IN_FLIGHT: &str =
    "vllm:rl_weight_update_operations_in_flight";
pub const WEBSOCKET_CONNECTIONS_ACTIVE: &str = "vllm:websocket_connections_active";
pub const WEBSOCKET_CONNECTIONS: &str = "vllm:websocket_connections_total";
pub const WEBSOCKET_CONNECTION_DURATION: &str = "vllm:websocket_connection_duration_seconds";
pub const TOOL_CALL_PARSER_INVOCATIONS: &str = "vllm:tool_call_parser_invocations_total";

/// Families of connectors with many members, recognised by prefix.
pub const CONNECTOR_PREFIXES: &[&str] = &[
    "vllm:nixl_",
    "vllm:kv_offload_",
    "vllm:simple_kv_offload_",
    "vllm:hisparse_",
    "vllm:mooncake_",
    "vllm:hf3fs_",
    "vllm:umbp_",
];

// prometheus_client's default collectors (single API server only).
pub const PYTHON_GC_OBJECTS_COLLECTED: &str = "python_gc_objects_collected_total";
pub const PYTHON_GC_OBJECTS_UNCOLLECTABLE: &str = "python_gc_objects_uncollectable_total";
pub const PYTHON_GC_COLLECTIONS: &str = "python_gc_collections_total";
pub const PYTHON_INFO: &str = "python_info";
pub const PROCESS_VIRTUAL_MEMORY_BYTES: &str = "process_virtual_memory_bytes";
pub const PROCESS_RESIDENT_MEMORY_BYTES: &str = "process_resident_memory_bytes";
pub const PROCESS_START_TIME_SECONDS: &str = "process_start_time_seconds";
pub const PROCESS_CPU_SECONDS: &str = "process_cpu_seconds_total";
pub const PROCESS_OPEN_FDS: &str = "process_open_fds";
pub const PROCESS_MAX_FDS: &str = "process_max_fds";

// prometheus-fastapi-instrumentator (HTTP layer of the API server).
pub const HTTP_REQUESTS: &str = "http_requests_total";
pub const HTTP_REQUEST_SIZE_BYTES: &str = "http_request_size_bytes";
pub const HTTP_RESPONSE_SIZE_BYTES: &str = "http_response_size_bytes";
pub const HTTP_REQUEST_DURATION_HIGHR: &str = "http_request_duration_highr_seconds";
pub const HTTP_REQUEST_DURATION: &str = "http_request_duration_seconds";

// The 2023 aioprometheus exposition (0.2.x).
pub const AIO_REQUESTS_TOTAL: &str = "requests_total_counter";
pub const AIO_RESPONSES_TOTAL: &str = "responses_total_counter";
pub const AIO_STATUS_CODES: &str = "status_codes_counter";
pub const AIO_EXCEPTIONS_TOTAL: &str = "exceptions_total_counter";

// Series a Prometheus server adds per scrape target.
pub const UP: &str = "up";
pub const SCRAPE_DURATION_SECONDS: &str = "scrape_duration_seconds";
pub const SCRAPE_SAMPLES_SCRAPED: &str = "scrape_samples_scraped";

// NVIDIA's DCGM exporter (GPU telemetry, its own endpoint; see `catalog::dcgm`).
// Never `vllm:` metrics: sniffing, release ranges and the drift check ignore them.
pub const DCGM_SM_CLOCK: &str = "DCGM_FI_DEV_SM_CLOCK";
pub const DCGM_MEM_CLOCK: &str = "DCGM_FI_DEV_MEM_CLOCK";
pub const DCGM_MEMORY_TEMP: &str = "DCGM_FI_DEV_MEMORY_TEMP";
pub const DCGM_GPU_TEMP: &str = "DCGM_FI_DEV_GPU_TEMP";
pub const DCGM_POWER_USAGE: &str = "DCGM_FI_DEV_POWER_USAGE";
pub const DCGM_TOTAL_ENERGY_CONSUMPTION: &str = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION";
pub const DCGM_PCIE_REPLAY_COUNTER: &str = "DCGM_FI_DEV_PCIE_REPLAY_COUNTER";
pub const DCGM_GPU_UTIL: &str = "DCGM_FI_DEV_GPU_UTIL";
pub const DCGM_MEM_COPY_UTIL: &str = "DCGM_FI_DEV_MEM_COPY_UTIL";
pub const DCGM_XID_ERRORS: &str = "DCGM_FI_DEV_XID_ERRORS";
pub const DCGM_FB_FREE: &str = "DCGM_FI_DEV_FB_FREE";
pub const DCGM_FB_USED: &str = "DCGM_FI_DEV_FB_USED";
pub const DCGM_FB_RESERVED: &str = "DCGM_FI_DEV_FB_RESERVED";
pub const DCGM_NVLINK_BANDWIDTH_TOTAL: &str = "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL";
pub const DCGM_UNCORRECTABLE_REMAPPED_ROWS: &str = "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS";
pub const DCGM_CORRECTABLE_REMAPPED_ROWS: &str = "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS";
pub const DCGM_ROW_REMAP_FAILURE: &str = "DCGM_FI_DEV_ROW_REMAP_FAILURE";
pub const DCGM_GR_ENGINE_ACTIVE: &str = "DCGM_FI_PROF_GR_ENGINE_ACTIVE";
pub const DCGM_SM_ACTIVE: &str = "DCGM_FI_PROF_SM_ACTIVE";
pub const DCGM_PIPE_TENSOR_ACTIVE: &str = "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE";
pub const DCGM_DRAM_ACTIVE: &str = "DCGM_FI_PROF_DRAM_ACTIVE";
pub const DCGM_PCIE_TX_BYTES: &str = "DCGM_FI_PROF_PCIE_TX_BYTES";
pub const DCGM_PCIE_RX_BYTES: &str = "DCGM_FI_PROF_PCIE_RX_BYTES";
/// Every exporter field name starts with one of these.
pub const DCGM_PREFIXES: &[&str] = &["DCGM_FI_", "DCGM_EXP_"];
