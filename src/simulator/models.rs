//! The simulated models: served names and the hardware-dependent numbers
//! (speed, KV-cache size) that shape their load.

/// Served name, size in billions of parameters, and KV-cache blocks per
/// engine at `--gpu-memory-utilization 0.9` (block size 16).
const KNOWN: &[(&str, f64, u32)] = &[
    ("meta-llama/Llama-3.1-8B-Instruct", 8.0, 6144),
    ("Qwen/Qwen2.5-7B-Instruct", 7.6, 7168),
    ("mistralai/Mistral-7B-Instruct-v0.3", 7.2, 6656),
    ("meta-llama/Llama-3.1-70B-Instruct", 70.0, 4608),
    ("Qwen/Qwen2.5-Coder-32B-Instruct", 32.0, 5120),
    ("google/gemma-2-9b-it", 9.2, 5632),
    ("microsoft/Phi-3.5-mini-instruct", 3.8, 9216),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", 14.8, 5888),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", 46.7, 4864),
    ("Qwen/Qwen2.5-72B-Instruct", 72.7, 4352),
    ("meta-llama/Llama-3.2-3B-Instruct", 3.2, 10240),
    ("ibm-granite/granite-3.1-8b-instruct", 8.2, 6144),
    ("HuggingFaceTB/SmolLM2-1.7B-Instruct", 1.7, 12288),
    ("tiiuae/Falcon3-10B-Instruct", 10.3, 5632),
    ("NousResearch/Hermes-3-Llama-3.1-8B", 8.0, 6144),
    ("allenai/OLMo-2-1124-13B-Instruct", 13.7, 5376),
];

pub(crate) const BLOCK_SIZE: u32 = 16;

/// One simulated model.
#[derive(Clone, Debug)]
pub(crate) struct ModelProfile {
    pub name: String,
    /// Billions of parameters (sizes the weights in GPU memory).
    pub params_b: f64,
    pub gpu_blocks: u32,
    /// Seconds of a decode step with an empty batch.
    pub step_base: f64,
    /// Extra seconds per sequence in the batch.
    pub step_per_seq: f64,
    /// Extra seconds per prompt token computed in the step.
    pub step_per_prefill_token: f64,
}

/// The first `n` model profiles; names repeat with a replica suffix past the
/// built-in list so every served name stays unique.
pub(crate) fn profiles(n: usize, max_model_len: u32) -> Vec<ModelProfile> {
    // vLLM refuses to start unless one full-length request fits.
    let min_blocks = 2 * max_model_len.div_ceil(BLOCK_SIZE) + 64;
    (0..n)
        .map(|i| {
            let (base, params_b, blocks) = KNOWN[i % KNOWN.len()];
            let name = match i / KNOWN.len() {
                0 => base.to_string(),
                round => format!("{base}-{}", round + 1),
            };
            // Bigger models run slower steps (tensor parallelism softens it).
            let speed = (params_b / 8.0).powf(0.55).clamp(0.5, 3.5);
            ModelProfile {
                name,
                params_b,
                gpu_blocks: blocks.max(min_blocks),
                step_base: 0.0125 * speed,
                step_per_seq: 0.000_08 * speed,
                step_per_prefill_token: 0.000_035 * speed,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_start_with_llama() {
        let p = profiles(40, 32768);
        assert_eq!(p[0].name, "meta-llama/Llama-3.1-8B-Instruct");
        let mut names: Vec<_> = p.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 40);
    }

    #[test]
    fn kv_cache_holds_a_full_length_request() {
        for m in profiles(3, 1_000_000) {
            assert!(u64::from(m.gpu_blocks) * u64::from(BLOCK_SIZE) >= 1_000_000);
        }
    }
}
