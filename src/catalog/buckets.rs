//! Default histogram bucket bounds of each vLLM bucket family, by release.

use super::version::{v, Version};
use serde::Serialize;

/// A family of bucket bounds shared by several histograms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Buckets {
    RequestLatency,
    TimeToFirstToken,
    InterTokenLatency,
    IterationTokens,
    RequestParamsN,
    RequestNumPreemptions,
    /// 1-2-5 series up to the model's context length.
    RequestTokens,
    KvCacheResidency,
    /// prometheus-fastapi-instrumentator's many-bucket latency histogram.
    HttpHighResolution,
    /// prometheus-fastapi-instrumentator's per-handler latency histogram.
    HttpCoarse,
    /// V0 model forward/execute time in milliseconds.
    ModelTimeMs,
    /// Operation durations of the sleep-mode and RL APIs.
    Operation,
    /// Websocket connection durations.
    Connection,
    /// Transfer sizes of the NIXL and Mooncake connectors (powers of four).
    TransferBytes,
    /// Transfer durations of the NIXL and Mooncake connectors.
    TransferSeconds,
    /// NIXL post times and HF3FS save/load durations.
    TransferSecondsFine,
    /// Descriptor counts of KV connectors.
    Descriptors,
    /// Transfer sizes of the offloading connector (1 MB to 200 MB).
    OffloadTransferBytes,
    /// Blocking time of one offload lookup.
    LookupSync,
    /// Time a deferred offload lookup takes to resolve.
    LookupAsync,
    /// CPU chunks per offload store (powers of four).
    OffloadChunks,
    /// Promotion jobs from a secondary offload tier.
    PromotionLatency,
    /// How long failed promotions hold primary-tier chunks.
    DeferredReleaseHold,
    /// Mooncake store operations.
    StoreOperation,
    /// Rendering a request (templating, tokenisation, multimodal inputs).
    Render,
}

/// 0.8.4 widened the latency buckets (PR #15202).
const WIDE_LATENCY_FROM: Version = v(0, 8, 4);
/// 0.8.5 replaced the CUDA-graph-size iteration buckets with powers of two.
const POW2_ITERATION_FROM: Version = v(0, 8, 5);

impl Buckets {
    /// Finite upper bounds (`+Inf` is implied) served by `version`.
    /// `max_model_len` bounds the token-count families.
    pub fn bounds(self, version: Version, max_model_len: u32) -> Vec<f64> {
        let wide = version >= WIDE_LATENCY_FROM;
        let list: &[f64] = match self {
            Buckets::RequestLatency if wide => &[
                0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
                120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
            ],
            Buckets::RequestLatency if version < v(0, 5, 0) => {
                &[1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0]
            }
            Buckets::RequestLatency => &[
                0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
            ],
            Buckets::TimeToFirstToken if wide => &[
                0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
            ],
            Buckets::TimeToFirstToken => &[
                0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                7.5, 10.0,
            ],
            Buckets::InterTokenLatency if wide => &[
                0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                10.0, 20.0, 40.0, 80.0,
            ],
            Buckets::InterTokenLatency => &[
                0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
            ],
            Buckets::IterationTokens if version >= POW2_ITERATION_FROM => &[
                1.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0,
                16384.0,
            ],
            Buckets::IterationTokens => {
                // CUDA graph capture sizes: 1, 2, 4, then multiples of 8 up to 256.
                let mut sizes = vec![1.0, 2.0, 4.0];
                sizes.extend((1..=32).map(|i| f64::from(i * 8)));
                return sizes;
            }
            Buckets::RequestParamsN => &[1.0, 2.0, 5.0, 10.0, 20.0],
            Buckets::RequestNumPreemptions => &[1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0],
            Buckets::RequestTokens => return one_two_five(max_model_len),
            Buckets::KvCacheResidency => &[
                0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0,
                30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0,
            ],
            Buckets::HttpHighResolution => &[
                0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0,
                4.5, 5.0, 7.5, 10.0, 30.0, 60.0,
            ],
            Buckets::HttpCoarse => &[0.1, 0.5, 1.0],
            Buckets::ModelTimeMs => &[
                1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
                10000.0,
            ],
            Buckets::Operation => &[0.01, 0.1, 1.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0],
            Buckets::Connection => &[
                0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
            ],
            Buckets::TransferBytes => &[
                2048.0,
                8192.0,
                32768.0,
                131072.0,
                524288.0,
                2097152.0,
                8388608.0,
                33554432.0,
                134217728.0,
                536870912.0,
                2147483648.0,
                8589934592.0,
            ],
            Buckets::TransferSeconds => &[
                0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 5.0,
            ],
            Buckets::TransferSecondsFine => &[
                0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 5.0,
            ],
            Buckets::Descriptors => &[
                10.0, 20.0, 30.0, 50.0, 75.0, 100.0, 200.0, 400.0, 1000.0, 2000.0, 4000.0, 10000.0,
                20000.0, 50000.0,
            ],
            Buckets::OffloadTransferBytes => {
                &[1e6, 5e6, 10e6, 20e6, 40e6, 60e6, 80e6, 100e6, 150e6, 200e6]
            }
            Buckets::LookupSync => &[
                0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0,
            ],
            Buckets::LookupAsync => &[
                0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
            ],
            Buckets::OffloadChunks => &[
                1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0,
            ],
            Buckets::PromotionLatency => &[
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ],
            Buckets::DeferredReleaseHold => &[
                0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
            ],
            Buckets::StoreOperation => &[
                0.001, 0.005, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0,
            ],
            Buckets::Render => &[
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5, 5.0, 10.0,
            ],
        };
        list.to_vec()
    }
}

/// The bounds a release serves, as a reader without the model's context
/// length can state them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BucketBounds {
    /// Finite upper bounds (`+Inf` is implied).
    List(Vec<f64>),
    /// `build_1_2_5_buckets(max_model_len)`: 1, 2, 5, 10, ... up to the
    /// model's context length.
    #[serde(serialize_with = "one_two_five_spec")]
    OneTwoFive,
}

fn one_two_five_spec<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("OneTwoFive", 2)?;
    st.serialize_field("series", "1-2-5")?;
    st.serialize_field("up_to", "max_model_len")?;
    st.end()
}

impl Buckets {
    /// [`Buckets::bounds`] without a context length: the token families say
    /// which series they follow instead.
    pub fn bounds_spec(self, version: Version) -> BucketBounds {
        match self {
            Buckets::RequestTokens => BucketBounds::OneTwoFive,
            _ => BucketBounds::List(self.bounds(version, 0)),
        }
    }
}

/// vLLM's `build_1_2_5_buckets`: 1, 2, 5, 10, 20, 50, ... not above `max`.
pub fn one_two_five(max: u32) -> Vec<f64> {
    let max = f64::from(max.max(1));
    let mut out = Vec::new();
    let mut exponent = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            let b = m * exponent;
            if b > max {
                return out;
            }
            out.push(b);
        }
        exponent *= 10.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_tokens_follow_capture_01() {
        // Capture 01 (32k context) ends its token buckets at 20000.
        let b = Buckets::RequestTokens.bounds(v(0, 11, 0), 32768);
        assert_eq!(b.first(), Some(&1.0));
        assert_eq!(b.last(), Some(&20000.0));
        assert_eq!(b.len(), 14);
    }

    #[test]
    fn latency_buckets_widen_in_0_8_4() {
        assert_eq!(
            Buckets::TimeToFirstToken.bounds(v(0, 8, 3), 0).last(),
            Some(&10.0)
        );
        assert_eq!(
            Buckets::TimeToFirstToken.bounds(v(0, 8, 4), 0).last(),
            Some(&2560.0)
        );
        assert_eq!(
            Buckets::InterTokenLatency.bounds(v(0, 7, 0), 0).last(),
            Some(&2.5)
        );
    }

    #[test]
    fn iteration_buckets_match_capture_03_then_powers_of_two() {
        let old = Buckets::IterationTokens.bounds(v(0, 7, 0), 0);
        assert_eq!(&old[..5], &[1.0, 2.0, 4.0, 8.0, 16.0]);
        let new = Buckets::IterationTokens.bounds(v(0, 11, 0), 0);
        assert_eq!(&new[..3], &[1.0, 8.0, 16.0]);
    }
}
