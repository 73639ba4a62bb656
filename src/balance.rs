//! Which deployment of a group is tried first, and which after: LiteLLM's `order` tiers, the
//! routing strategy within a tier (simple-shuffle weighted by `weight`/`rpm`/`tpm`, least-busy,
//! latency-based), and cooldowns: a deployment that keeps failing is tried last for a while.

use crate::config::{Config, Deployment, Strategy};
use std::io::Read;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Weight of the newest sample in the latency average.
const LATENCY_SMOOTHING: f64 = 0.3;

/// Per-deployment bookkeeping for choosing the order of a group.
pub struct Balancer {
    strategy: Strategy,
    /// Round-robin start position, so an unweighted group spreads load evenly.
    next: AtomicUsize,
    /// State of the random generator for weighted picks.
    seed: AtomicU64,
    /// Per deployment (by index): failures in a row, and until when it is tried last.
    health: Mutex<Vec<Health>>,
    /// Per deployment: requests in flight (least-busy).
    busy: Arc<Vec<AtomicUsize>>,
    /// Per deployment: smoothed seconds to the answer's head (latency-based).
    latency: Mutex<Vec<Option<f64>>>,
    allowed_fails: u32,
    cooldown: Duration,
}

/// How a deployment has been doing.
#[derive(Clone, Copy, Default)]
struct Health {
    fails: u32,
    cooling_until: Option<Instant>,
}

impl Balancer {
    /// Bookkeeping for every deployment of `cfg`.
    pub fn new(cfg: &Config) -> Balancer {
        let n = cfg.deployments.len();
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        Balancer {
            strategy: cfg.router.strategy,
            next: AtomicUsize::new(0),
            seed: AtomicU64::new(seed | 1),
            health: Mutex::new(vec![Health::default(); n]),
            busy: Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect()),
            latency: Mutex::new(vec![None; n]),
            allowed_fails: cfg.settings.allowed_fails,
            cooldown: cfg.settings.cooldown_time,
        }
    }

    /// The group in the order to try it: lower `order` first; within the first tier, the
    /// strategy's choice first; deployments cooling down only after all others, the one that
    /// recovers first first.
    pub fn order<'d>(&self, group: &[&'d Deployment]) -> Vec<&'d Deployment> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut ready: Vec<&Deployment> = (0..group.len()).map(|i| group[(start + i) % group.len()]).collect();
        match self.strategy {
            Strategy::SimpleShuffle => {}
            Strategy::LeastBusy => {
                ready.sort_by_key(|d| self.busy.get(d.index).map_or(0, |b| b.load(Ordering::Relaxed)))
            }
            Strategy::LatencyBased => {
                let latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
                // Not yet measured counts as fastest, so every deployment gets measured.
                let key = |d: &Deployment| latency.get(d.index).copied().flatten().unwrap_or(0.0);
                ready.sort_by(|a, b| key(a).total_cmp(&key(b)));
            }
        }
        ready.sort_by_key(|d| d.order);
        let now = Instant::now();
        let health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        let until = |d: &Deployment| health.get(d.index).and_then(|h| h.cooling_until).filter(|t| *t > now);
        let (mut ready, mut cooling): (Vec<_>, Vec<_>) = ready.into_iter().partition(|d| until(d).is_none());
        cooling.sort_by_key(|d| until(d));
        if self.strategy == Strategy::SimpleShuffle {
            self.weighted_first(&mut ready);
        }
        ready.extend(cooling);
        ready
    }

    /// Moves a deployment of the first `order` tier to the front, with a probability in
    /// proportion to its weight; an evenly weighted tier keeps its round-robin order.
    fn weighted_first(&self, ready: &mut [&Deployment]) {
        let Some(first) = ready.first() else { return };
        let tier = ready.iter().take_while(|d| d.order == first.order).count();
        let weights: Vec<f64> = ready[..tier].iter().map(|d| d.weight).collect();
        let total: f64 = weights.iter().sum();
        if weights.iter().all(|w| *w == weights[0]) || total <= 0.0 {
            return;
        }
        let mut r = self.random() * total;
        let pick = weights.iter().position(|w| {
            r -= w;
            r < 0.0
        });
        ready[..=pick.unwrap_or(tier - 1)].rotate_right(1);
    }

    /// A number in `[0, 1)` (xorshift64*: statistical spread is all a load balancer needs).
    fn random(&self) -> f64 {
        let step = |mut x: u64| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x
        };
        let prev = self.seed.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(step(x))).unwrap_or(1);
        (step(prev).wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Counts a success or a failure; returns whether this failure started a cooldown.
    pub fn record(&self, d: &Deployment, ok: bool) -> bool {
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        let Some(h) = health.get_mut(d.index) else { return false };
        if ok {
            *h = Health::default();
            return false;
        }
        h.fails += 1;
        if h.fails < self.allowed_fails || self.cooldown.is_zero() {
            return false;
        }
        *h = Health { fails: 0, cooling_until: Some(Instant::now() + self.cooldown) };
        true
    }

    /// How long a deployment took to answer (latency-based routing learns from it).
    pub fn answered(&self, d: &Deployment, took: Duration) {
        if self.strategy != Strategy::LatencyBased {
            return;
        }
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = latency.get_mut(d.index) {
            let s = took.as_secs_f64();
            *l = Some(l.map_or(s, |old| old + LATENCY_SMOOTHING * (s - old)));
        }
    }

    /// `body`, counted as in flight on `d` until it is dropped (least-busy routing reads it).
    pub fn in_flight(&self, d: &Deployment, body: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        if self.strategy != Strategy::LeastBusy || d.index >= self.busy.len() {
            return body;
        }
        self.busy[d.index].fetch_add(1, Ordering::Relaxed);
        Box::new(Counted { body, busy: self.busy.clone(), index: d.index })
    }
}

/// An answer body that counts as in flight on its deployment until dropped.
struct Counted {
    body: Box<dyn Read + Send>,
    busy: Arc<Vec<AtomicUsize>>,
    index: usize,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.body.read(buf)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.busy[self.index].fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Env, Overrides};

    fn config(yaml: &str) -> Config {
        Config::from_parts(yaml, "t", &Env::default(), &Overrides::default()).unwrap()
    }

    fn firsts(b: &Balancer, c: &Config, n: usize) -> Vec<usize> {
        let group: Vec<&Deployment> = c.deployments.iter().collect();
        let mut counts = vec![0; group.len()];
        for _ in 0..n {
            counts[b.order(&group)[0].index] += 1;
        }
        counts
    }

    #[test]
    fn simple_shuffle_follows_weights_and_rpm() {
        let c = config(
            "model_list:\n  - {model_name: m, litellm_params: {model: openai/a, weight: 1}}\n  - {model_name: m, litellm_params: {model: openai/b, rpm: 3}}\n",
        );
        let counts = firsts(&Balancer::new(&c), &c, 4000);
        let share = counts[1] as f64 / 4000.0;
        assert!((0.70..0.80).contains(&share), "3:1 weights, got {counts:?}");
    }

    #[test]
    fn unweighted_groups_alternate_and_lower_order_goes_first() {
        let c = config("model_list:\n  - {model_name: m, litellm_params: {model: openai/a}}\n  - {model_name: m, litellm_params: {model: openai/b}}\n");
        assert_eq!(firsts(&Balancer::new(&c), &c, 100), [50, 50]);
        let c = config("model_list:\n  - {model_name: m, litellm_params: {model: openai/a, order: 2}}\n  - {model_name: m, litellm_params: {model: openai/b, order: 1}}\n");
        assert_eq!(firsts(&Balancer::new(&c), &c, 10), [0, 10]);
    }

    #[test]
    fn least_busy_prefers_the_idle_deployment() {
        let c = config("router_settings: {routing_strategy: least-busy}\nmodel_list:\n  - {model_name: m, litellm_params: {model: openai/a}}\n  - {model_name: m, litellm_params: {model: openai/b}}\n");
        let b = Balancer::new(&c);
        let held = b.in_flight(&c.deployments[0], Box::new(std::io::empty()));
        assert_eq!(firsts(&b, &c, 10), [0, 10]);
        drop(held);
        assert_eq!(firsts(&b, &c, 10), [5, 5]);
    }

    #[test]
    fn latency_based_prefers_the_faster_deployment() {
        let c = config("router_settings: {routing_strategy: latency-based-routing}\nmodel_list:\n  - {model_name: m, litellm_params: {model: openai/a}}\n  - {model_name: m, litellm_params: {model: openai/b}}\n");
        let b = Balancer::new(&c);
        b.answered(&c.deployments[0], Duration::from_millis(300));
        b.answered(&c.deployments[1], Duration::from_millis(20));
        assert_eq!(firsts(&b, &c, 10), [0, 10]);
    }

    #[test]
    fn zero_cooldown_never_sets_a_deployment_aside() {
        let c = config("router_settings: {cooldown_time: 0}\nmodel_list:\n  - {model_name: m, litellm_params: {model: openai/a}}\n");
        let b = Balancer::new(&c);
        assert!((0..10).all(|_| !b.record(&c.deployments[0], false)));
        let c = config("router_settings: {disable_cooldowns: true, cooldown_time: 5}\nmodel_list:\n  - {model_name: m, litellm_params: {model: openai/a}}\n");
        let b = Balancer::new(&c);
        assert!((0..10).all(|_| !b.record(&c.deployments[0], false)));
    }
}
