//! The load model of one engine: Poisson arrivals, a waiting queue, and a
//! continuous-batching scheduler with chunked prefill, a KV-cache block pool
//! and recompute preemption, roughly as vLLM's V1 scheduler behaves.
//!
//! Time is simulated in engine steps (one forward pass, ~15–40 ms for a
//! decode batch); idle stretches are skipped to the next arrival.

use super::models::{ModelProfile, BLOCK_SIZE};
use super::stats::{EngineStats, Handler, HistId, HttpCall, Outcome, Status};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;

/// `--max-num-seqs` default.
const MAX_NUM_SEQS: usize = 256;
/// `--max-num-batched-tokens` default with chunked prefill.
const MAX_BATCHED_TOKENS: u32 = 8192;
/// Safety valve: arrivals beyond this queue length are refused (HTTP 503).
const MAX_WAITING: usize = 20_000;
/// Clients give up on requests that never got scheduled.
const CLIENT_TIMEOUT: f64 = 300.0;
/// V0 logged its throughput gauges every 5 s.
const THROUGHPUT_WINDOW: f64 = 5.0;
/// Peak-to-average ratio of the arrival-rate swell (used for thinning).
const SWELL_MAX: f64 = 1.45;
/// Bounds the work of one `run_until` call even for pathological settings.
const MAX_ITERATIONS: usize = 200_000;
const MAX_ARRIVALS_PER_CALL: usize = 100_000;
/// A router polls `/v1/models` this often (seconds).
const MODELS_POLL_INTERVAL: f64 = 30.0;

/// Everything fixed about one engine.
#[derive(Clone, Debug)]
pub(crate) struct EngineSetup {
    pub profile: ModelProfile,
    /// Average arrivals per second at this engine.
    pub rate: f64,
    /// Phase of the load swell, so models do not peak together.
    pub phase: f64,
    pub max_model_len: u32,
    /// Draft tokens per speculative step (0: no speculative decoding).
    pub spec_tokens: usize,
    /// LoRA adapters requests may name (0: LoRA disabled).
    pub lora_adapters: usize,
    /// The release knows `finished_reason="error"` / `"repetition"`.
    pub has_error: bool,
    pub has_repetition: bool,
    /// This engine also answers the router's `/v1/models` polls.
    pub polls_models: bool,
}

#[derive(Clone, Debug)]
struct Request {
    arrival: f64,
    prompt: u32,
    max_tokens: u32,
    /// Output length at which the request finishes with `outcome`.
    finish_at: u32,
    outcome: Outcome,
    n: u32,
    handler: Handler,
    streaming: bool,
    lora: Option<u8>,
    /// Prompt tokens found in the prefix cache.
    cached: u32,
    /// Tokens whose KV is computed (or cached) in the current residency.
    computed: u32,
    /// Tokens to prefill before decoding: the prompt, or prompt + output
    /// after a preemption (recompute).
    target: u32,
    generated: u32,
    blocks: u32,
    /// Tokens scheduled in the current step.
    sched: u32,
    scheduled_at: Option<f64>,
    first_token_at: Option<f64>,
    last_token_at: f64,
    preemptions: u32,
}

/// One engine (one `engine` label value of one model).
pub(crate) struct EngineSim {
    setup: EngineSetup,
    rng: SmallRng,
    now: f64,
    next_arrival: f64,
    next_poll: f64,
    waiting: VecDeque<Request>,
    running: Vec<Request>,
    used_blocks: u32,
    window_start: f64,
    window_prompt: f64,
    window_generation: f64,
    /// Seconds spent in forward passes (GPU busy).
    busy_seconds: f64,
    /// Forward-pass seconds weighted by [`batch_fill`] (drives GPU power).
    load_seconds: f64,
    /// Share of the last step's scheduled tokens that were prefill.
    prefill_share: f64,
    pub stats: EngineStats,
}

/// How full a batch of `seqs` sequences keeps the GPU, 0..1: one sequence
/// already keeps it busy, a large batch saturates its compute units.
pub(crate) fn batch_fill(seqs: usize) -> f64 {
    let n = seqs as f64;
    n / (n + 8.0)
}

fn blocks_for(tokens: u32) -> u32 {
    tokens.div_ceil(BLOCK_SIZE)
}

/// Standard normal sample (Box–Muller).
fn normal(rng: &mut SmallRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn log_normal(rng: &mut SmallRng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

fn exponential(rng: &mut SmallRng, rate: f64) -> f64 {
    let u: f64 = rng.random();
    -(1.0 - u).ln() / rate
}

impl EngineSim {
    pub fn new(setup: EngineSetup, seed: u64, stats: EngineStats) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let next_poll = if setup.polls_models {
            rng.random::<f64>() * MODELS_POLL_INTERVAL
        } else {
            f64::INFINITY
        };
        let mut sim = EngineSim {
            setup,
            rng,
            now: 0.0,
            next_arrival: f64::INFINITY,
            next_poll,
            waiting: VecDeque::new(),
            running: Vec::new(),
            used_blocks: 0,
            window_start: 0.0,
            window_prompt: 0.0,
            window_generation: 0.0,
            busy_seconds: 0.0,
            load_seconds: 0.0,
            prefill_share: 0.0,
            stats,
        };
        sim.next_arrival = sim.draw_arrival_after(0.0);
        sim
    }

    pub fn running(&self) -> usize {
        self.running.len()
    }

    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Seconds spent in forward passes since start.
    pub fn busy_seconds(&self) -> f64 {
        self.busy_seconds
    }

    /// Forward-pass seconds weighted by how full each batch was.
    pub fn load_seconds(&self) -> f64 {
        self.load_seconds
    }

    /// Share of the last step's tokens that were prefill (0: pure decode).
    pub fn prefill_share(&self) -> f64 {
        self.prefill_share
    }

    /// Fraction of KV-cache blocks in use.
    pub fn kv_usage(&self) -> f64 {
        f64::from(self.used_blocks) / f64::from(self.setup.profile.gpu_blocks)
    }

    /// Bit set of LoRA adapters with running requests.
    pub fn lora_running(&self) -> u32 {
        self.running
            .iter()
            .filter_map(|r| r.lora)
            .fold(0, |m, a| m | 1 << a)
    }

    /// Bit set of LoRA adapters with waiting requests.
    pub fn lora_waiting(&self) -> u32 {
        self.waiting
            .iter()
            .filter_map(|r| r.lora)
            .fold(0, |m, a| m | 1 << a)
    }

    /// Simulates up to `target` seconds since start.
    pub fn run_until(&mut self, target: f64) {
        for _ in 0..MAX_ITERATIONS {
            self.take_arrivals();
            self.expire_waiting();
            self.roll_throughput_window();
            if self.now >= target {
                return;
            }
            if self.running.is_empty() && self.waiting.is_empty() {
                self.now = self.next_arrival.min(self.next_poll).min(target);
            } else {
                self.step();
            }
        }
        // Only reached if the iteration guard fired: drop the remainder.
        self.now = self.now.max(target);
    }

    /// Arrival rate at time `t`: the average with a slow periodic swell.
    fn rate_at(&self, t: f64) -> f64 {
        let phase = self.setup.phase;
        let swell = 0.33 * (std::f64::consts::TAU * t / 600.0 + phase).sin()
            + 0.1 * (std::f64::consts::TAU * t / 97.0 + 2.0 * phase).sin();
        self.setup.rate * (1.0 + swell)
    }

    /// Next arrival of the inhomogeneous Poisson process (thinning).
    fn draw_arrival_after(&mut self, mut t: f64) -> f64 {
        if self.setup.rate <= 0.0 {
            return f64::INFINITY;
        }
        let peak = self.setup.rate * SWELL_MAX;
        for _ in 0..64 {
            t += exponential(&mut self.rng, peak);
            if self.rng.random::<f64>() * peak <= self.rate_at(t) {
                break;
            }
        }
        t
    }

    fn take_arrivals(&mut self) {
        for _ in 0..MAX_ARRIVALS_PER_CALL {
            if self.next_arrival > self.now {
                break;
            }
            let t = self.next_arrival;
            self.arrive(t);
            self.next_arrival = self.draw_arrival_after(t);
        }
        for _ in 0..MAX_ARRIVALS_PER_CALL {
            if self.next_poll > self.now {
                break;
            }
            let at = self.next_poll;
            let seconds = 0.001 + 0.002 * self.rng.random::<f64>();
            let call = HttpCall {
                handler: Handler::Models,
                status: Status::Ok,
                seconds,
                request_bytes: 0.0,
                response_bytes: 480.0,
            };
            self.stats.http.record(at, call);
            let jitter = self.rng.random::<f64>() - 0.5;
            self.next_poll = at + MODELS_POLL_INTERVAL + jitter;
        }
    }

    /// Jumps the clock to `t` without simulating the gap (the server was
    /// idle); queued and running requests simply see the time pass.
    pub fn skip_to(&mut self, t: f64) {
        if t <= self.now {
            return;
        }
        self.now = t;
        if self.next_arrival < t {
            self.next_arrival = self.draw_arrival_after(t);
        }
        if self.next_poll < t {
            self.next_poll = t + self.rng.random::<f64>() * MODELS_POLL_INTERVAL;
        }
        self.window_start = t;
        self.window_prompt = 0.0;
        self.window_generation = 0.0;
    }

    /// A request reaches the API server: validated, then queued.
    fn arrive(&mut self, t: f64) {
        let rng = &mut self.rng;
        let mml = self.setup.max_model_len;
        let handler = if rng.random_bool(0.8) {
            Handler::ChatCompletions
        } else {
            Handler::Completions
        };
        let template = if handler == Handler::ChatCompletions {
            28.0
        } else {
            0.0
        };
        let prompt = (log_normal(rng, 520.0, 1.0) + template).round().max(4.0);
        let prompt = prompt.min(f64::from(u32::MAX / 2)) as u32;
        let explicit_max: Option<u32> = match rng.random_range(0..20u32) {
            0..=5 => None,
            6..=7 => Some(256),
            8..=11 => Some(512),
            12..=16 => Some(1024),
            17..=18 => Some(2048),
            _ => Some(4096),
        };
        let request_bytes = request_bytes(prompt);
        let malformed = rng.random_bool(0.004);
        let too_long = prompt.saturating_add(explicit_max.unwrap_or(1)) > mml;
        if !malformed {
            // Rendered (templated and tokenised) before the length check.
            let (id, seconds) = render_time(handler, prompt);
            self.stats.observe(id, seconds);
        }
        if malformed || too_long {
            // Rejected by the OpenAI layer before reaching the engine.
            let call = HttpCall {
                handler,
                status: Status::ClientError,
                seconds: 0.002 + 0.004 * rng.random::<f64>(),
                request_bytes,
                response_bytes: 190.0,
            };
            self.stats.http.record(t, call);
            return;
        }
        if self.waiting.len() >= MAX_WAITING {
            self.stats.queue_rejections += 1.0;
            let call = HttpCall {
                handler,
                status: Status::ServerError,
                seconds: 0.001,
                request_bytes,
                response_bytes: 160.0,
            };
            self.stats.http.record(t, call);
            return;
        }
        let max_tokens = explicit_max.unwrap_or(mml - prompt).max(1);
        let output = log_normal(rng, 190.0, 0.95).round().clamp(1.0, 1e6) as u32;
        let planned = output.min(max_tokens);
        let roll: f64 = rng.random();
        let cut = |rng: &mut SmallRng| ((f64::from(planned) * rng.random::<f64>()) as u32).max(1);
        let (outcome, finish_at) = if roll < 0.02 {
            (Outcome::Abort, cut(rng))
        } else if roll < 0.025 && self.setup.has_error {
            (Outcome::Error, cut(rng))
        } else if roll < 0.026 && self.setup.has_repetition {
            (Outcome::Repetition, cut(rng))
        } else if output >= max_tokens {
            (Outcome::Length, max_tokens)
        } else {
            (Outcome::Stop, output)
        };
        // Most traffic shares a system prompt or conversation prefix.
        let cached = if rng.random_bool(0.65) {
            let share = 0.3 + 0.65 * rng.random::<f64>();
            let tokens = (f64::from(prompt) * share) as u32;
            (tokens / BLOCK_SIZE * BLOCK_SIZE).min(prompt.saturating_sub(1))
        } else {
            0
        };
        let n = match rng.random_range(0..100u32) {
            0..=96 => 1,
            97..=98 => 2,
            _ => 4,
        };
        let lora = (self.setup.lora_adapters > 0 && rng.random_bool(0.4))
            .then(|| rng.random_range(0..self.setup.lora_adapters) as u8);
        let streaming = rng.random_bool(0.7);
        self.waiting.push_back(Request {
            arrival: t,
            prompt,
            max_tokens,
            finish_at,
            outcome,
            n,
            handler,
            streaming,
            lora,
            cached,
            computed: 0,
            target: prompt,
            generated: 0,
            blocks: 0,
            sched: 0,
            scheduled_at: None,
            first_token_at: None,
            last_token_at: t,
            preemptions: 0,
        });
    }

    /// Clients abandon requests stuck in the queue.
    fn expire_waiting(&mut self) {
        while let Some(front) = self.waiting.front() {
            if front.scheduled_at.is_some() || self.now - front.arrival <= CLIENT_TIMEOUT {
                break;
            }
            if let Some(mut r) = self.waiting.pop_front() {
                r.outcome = Outcome::Abort;
                let gave_up = r.arrival + CLIENT_TIMEOUT;
                self.finish(r, gave_up);
            }
        }
    }

    /// Closes finished 5 s logging intervals (fixed boundaries, so results
    /// do not depend on how `advance` was sliced).
    fn roll_throughput_window(&mut self) {
        if self.now < self.window_start + THROUGHPUT_WINDOW {
            return;
        }
        self.stats.avg_prompt_throughput = self.window_prompt / THROUGHPUT_WINDOW;
        self.stats.avg_generation_throughput = self.window_generation / THROUGHPUT_WINDOW;
        self.window_prompt = 0.0;
        self.window_generation = 0.0;
        let behind = ((self.now - self.window_start) / THROUGHPUT_WINDOW).floor();
        if behind >= 2.0 {
            // Whole idle intervals passed: the engine logged zeros.
            self.stats.avg_prompt_throughput = 0.0;
            self.stats.avg_generation_throughput = 0.0;
        }
        self.window_start += behind * THROUGHPUT_WINDOW;
    }

    fn free_blocks(&self) -> u32 {
        self.setup.profile.gpu_blocks - self.used_blocks
    }

    /// Frees a request's KV cache and puts it back at the head of the queue.
    fn preempt(&mut self, mut r: Request) {
        self.used_blocks -= r.blocks;
        r.blocks = 0;
        r.computed = 0;
        r.sched = 0;
        r.target = r.prompt + r.generated;
        r.preemptions += 1;
        self.stats.preemptions += 1.0;
        self.waiting.push_front(r);
    }

    /// One engine step: schedule, run the forward pass, emit tokens.
    fn step(&mut self) {
        let k = self.setup.spec_tokens as u32;
        let mut budget = MAX_BATCHED_TOKENS;
        let mut preempted = false;

        // Running requests first (decode, or the next prefill chunk).
        let mut i = 0;
        while i < self.running.len() {
            let r = &self.running[i];
            let want = if r.computed >= r.target {
                1 + k
            } else {
                (r.target - r.computed).min(budget)
            };
            if want == 0 || want > budget {
                self.running[i].sched = 0;
                i += 1;
                continue;
            }
            let need = blocks_for(r.computed + want).saturating_sub(r.blocks);
            // Make room by preempting the most recently scheduled requests.
            while need > self.free_blocks() && self.running.len() > i + 1 {
                if let Some(victim) = self.running.pop() {
                    self.preempt(victim);
                    preempted = true;
                }
            }
            if need > self.free_blocks() {
                if let Some(me) = self.running.pop() {
                    self.preempt(me);
                    preempted = true;
                }
                break;
            }
            self.used_blocks += need;
            let r = &mut self.running[i];
            r.blocks += need;
            r.sched = want;
            budget -= want;
            i += 1;
        }

        // Then admit waiting requests while KV blocks and budget allow.
        while !preempted && budget > 0 && self.running.len() < MAX_NUM_SEQS {
            let free = self.free_blocks();
            let Some(front) = self.waiting.front() else {
                break;
            };
            let computed = front.cached.min(front.target.saturating_sub(1));
            let want = (front.target - computed).min(budget);
            let need = blocks_for(computed + want);
            if need > free {
                break;
            }
            let Some(mut r) = self.waiting.pop_front() else {
                break;
            };
            self.stats.prefix_queries += f64::from(r.target);
            self.stats.prefix_hits += f64::from(computed);
            if r.scheduled_at.is_some() {
                self.stats.recomputed_tokens += f64::from(r.target - computed);
            }
            r.scheduled_at.get_or_insert(self.now);
            r.computed = computed;
            r.blocks = need;
            r.sched = want;
            self.used_blocks += need;
            budget -= want;
            self.running.push(r);
        }

        let (mut prefill_tokens, mut decode_seqs) = (0u32, 0u32);
        for r in self.running.iter().filter(|r| r.sched > 0) {
            if r.computed >= r.target {
                decode_seqs += 1;
            } else {
                prefill_tokens += r.sched;
            }
        }
        let p = &self.setup.profile;
        let jitter = 1.0 + 0.06 * (self.rng.random::<f64>() - 0.5);
        let mut dt = (p.step_base
            + p.step_per_seq * f64::from(decode_seqs)
            + p.step_per_prefill_token * f64::from(prefill_tokens))
            * jitter;
        if k > 0 {
            dt *= 1.12; // drafting and verification overhead
        }
        let start = self.now;
        let end = start + dt;
        if prefill_tokens == 0 && decode_seqs == 0 {
            self.now = end;
            return;
        }
        self.busy_seconds += dt;
        self.load_seconds += dt * batch_fill(self.running.iter().filter(|r| r.sched > 0).count());
        self.prefill_share =
            f64::from(prefill_tokens) / f64::from(prefill_tokens + decode_seqs).max(1.0);

        let Self {
            running,
            stats,
            rng,
            ..
        } = self;
        let mut itl_batch = 0u64;
        let mut emitted_total = 0u32;
        for r in running.iter_mut().filter(|r| r.sched > 0) {
            if r.computed >= r.target {
                let mut emitted = 1;
                if k > 0 {
                    let accepted = draft_acceptance(rng, k);
                    stats.spec_drafts += 1.0;
                    stats.spec_draft_tokens += f64::from(k);
                    stats.spec_accepted += f64::from(accepted);
                    stats.spec_emitted += f64::from(accepted + 1);
                    for pos in stats
                        .spec_accepted_per_pos
                        .iter_mut()
                        .take(accepted as usize)
                    {
                        *pos += 1.0;
                    }
                    emitted += accepted;
                }
                let emitted = emitted.min(r.finish_at.saturating_sub(r.generated)).max(1);
                r.computed += emitted;
                r.generated += emitted;
                emitted_total += emitted;
                // Steady decoders all see the step time; batch their ITLs.
                if r.last_token_at == start {
                    itl_batch += 1;
                } else {
                    stats.observe(HistId::InterToken, end - r.last_token_at);
                }
                r.last_token_at = end;
            } else {
                r.computed += r.sched;
                if r.computed >= r.target {
                    // The last prefill chunk also samples a token.
                    r.generated += 1;
                    emitted_total += 1;
                    match r.first_token_at {
                        None => {
                            r.first_token_at = Some(end);
                            stats.observe(HistId::Ttft, end - r.arrival);
                            stats.prompt_tokens += f64::from(r.prompt);
                            stats.prompt_tokens_computed +=
                                f64::from(r.prompt - r.cached.min(r.prompt));
                        }
                        Some(_) => stats.observe(HistId::InterToken, end - r.last_token_at),
                    }
                    r.last_token_at = end;
                }
            }
        }
        stats.observe_n(HistId::InterToken, dt, itl_batch);
        stats.generation_tokens += f64::from(emitted_total);
        stats.observe(
            HistId::IterationTokens,
            f64::from(prefill_tokens + emitted_total),
        );
        stats.observe(HistId::ModelForwardMs, dt * 930.0);
        stats.observe(HistId::ModelExecuteMs, dt * 1000.0);
        self.window_prompt += f64::from(prefill_tokens);
        self.window_generation += f64::from(emitted_total);
        self.now = end;

        let mut idx = 0;
        while idx < self.running.len() {
            if self.running[idx].generated >= self.running[idx].finish_at {
                let r = self.running.remove(idx);
                self.used_blocks -= r.blocks;
                self.finish(r, end);
            } else {
                idx += 1;
            }
        }
    }

    /// Records a finished request in every per-request metric.
    fn finish(&mut self, r: Request, at: f64) {
        let s = &mut self.stats;
        s.finished[r.outcome as usize] += 1.0;
        let e2e = at - r.arrival;
        let scheduled = r.scheduled_at.unwrap_or(at);
        let first = r.first_token_at.unwrap_or(at);
        s.observe(HistId::E2e, e2e);
        s.observe(HistId::Queue, scheduled - r.arrival);
        s.observe(HistId::Inference, at - scheduled);
        s.observe(HistId::Prefill, first - scheduled);
        s.observe(HistId::Decode, at - first);
        if r.generated > 1 {
            s.observe(
                HistId::RequestTpot,
                (at - first) / f64::from(r.generated - 1),
            );
        }
        s.observe(HistId::PromptTokens, f64::from(r.prompt));
        s.observe(HistId::GenerationTokens, f64::from(r.generated));
        s.observe(HistId::MaxGenerationTokens, f64::from(r.max_tokens));
        s.observe(HistId::ParamsMaxTokens, f64::from(r.max_tokens));
        s.observe(HistId::ParamsN, f64::from(r.n));
        s.observe(
            HistId::PrefillKvComputed,
            f64::from(r.prompt - r.cached.min(r.prompt)),
        );
        s.observe(HistId::NumPreemptions, f64::from(r.preemptions));
        let status = if r.outcome == Outcome::Error {
            Status::ServerError
        } else {
            Status::Ok
        };
        // Streaming responses carry no Content-Length, which the
        // instrumentator then records as 0 bytes.
        let response_bytes = if r.streaming {
            0.0
        } else {
            f64::from(r.generated * 4 + 360)
        };
        let call = HttpCall {
            handler: r.handler,
            status,
            seconds: e2e + 0.0015,
            request_bytes: request_bytes(r.prompt),
            response_bytes,
        };
        s.http.record(at, call);
    }
}

/// Time the API server spends rendering a request: chat templating costs more
/// than a plain completion prompt, tokenisation grows with the prompt.
fn render_time(handler: Handler, prompt: u32) -> (HistId, f64) {
    let tokens = f64::from(prompt);
    match handler {
        Handler::ChatCompletions => (HistId::RenderChat, 0.000_45 + tokens * 0.000_000_4),
        _ => (HistId::RenderCompletion, 0.000_12 + tokens * 0.000_000_3),
    }
}

/// Content-Length of a completion request with a `prompt`-token prompt.
fn request_bytes(prompt: u32) -> f64 {
    (f64::from(prompt) * 4.1 + 140.0).round()
}

/// Accepted draft tokens of one speculative step: each position is accepted
/// only if all before it were, with falling probability.
fn draft_acceptance(rng: &mut SmallRng, k: u32) -> u32 {
    let mut p = 0.78;
    for pos in 0..k {
        if !rng.random_bool(p) {
            return pos;
        }
        p *= 0.88;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::super::models::profiles;
    use super::*;
    use crate::catalog::LATEST;

    fn engine(rate: f64, spec_tokens: usize) -> EngineSim {
        let setup = EngineSetup {
            profile: profiles(1, 32768).remove(0),
            rate,
            phase: 0.0,
            max_model_len: 32768,
            spec_tokens,
            lora_adapters: 2,
            has_error: true,
            has_repetition: true,
            polls_models: true,
        };
        EngineSim::new(setup, 7, EngineStats::new(LATEST, 32768, spec_tokens))
    }

    #[test]
    fn serves_requests_and_keeps_kv_accounting_consistent() {
        let mut e = engine(6.0, 0);
        for t in 1..=180 {
            e.run_until(f64::from(t));
            let held: u32 = e.running.iter().map(|r| r.blocks).sum();
            assert_eq!(held, e.used_blocks, "blocks leaked at {t}s");
            assert!(e.kv_usage() <= 1.0);
        }
        assert!(e.stats.finished_total() > 500.0);
        assert!(e.stats.prefix_hits > 0.0 && e.stats.prefix_hits < e.stats.prefix_queries);
        assert!(e.stats.hist(HistId::Ttft).count() > 500);
    }

    #[test]
    fn overload_queues_and_preempts() {
        let mut e = engine(120.0, 0);
        e.run_until(120.0);
        assert!(e.waiting() > 0, "an overloaded engine has a queue");
        assert!(e.stats.preemptions > 0.0, "KV pressure preempts");
    }

    #[test]
    fn idle_engine_returns_to_zero() {
        let mut e = engine(0.0, 0);
        e.run_until(60.0);
        assert_eq!((e.running(), e.waiting()), (0, 0));
        assert_eq!(e.kv_usage(), 0.0);
        assert_eq!(e.stats.finished_total(), 0.0);
    }

    #[test]
    fn speculative_decoding_accepts_fewer_tokens_at_later_positions() {
        let mut e = engine(4.0, 3);
        e.run_until(120.0);
        let pos = &e.stats.spec_accepted_per_pos;
        assert!(
            pos[0] > pos[1] && pos[1] > pos[2] && pos[2] > 0.0,
            "{pos:?}"
        );
        assert!(e.stats.spec_accepted < e.stats.spec_draft_tokens);
    }
}
