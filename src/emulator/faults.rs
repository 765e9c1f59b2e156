//! Fault injection and request statistics.
//!
//! Every random choice comes from one generator seeded with `--seed`, drawn in request
//! arrival order, and every request draws the same number of values whether or not a
//! fault fires — so a given seed and request sequence always meet the same faults.
//! The rate limiter is the exception by nature: it follows the wall clock (a token bucket
//! of `--rate-limit` requests per second, burst of one second's worth).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// What befalls one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    None,
    /// Answer 500 or 503 before touching anything.
    Fail(u16),
    /// Close the connection without answering, before touching anything.
    DropBefore,
    /// Apply the request (if it writes), then close the connection without answering.
    DropAfter,
}

pub struct Roll {
    pub fault: Fault,
    pub delay: Duration,
}

pub struct Faults {
    rng: Mutex<fastrand::Rng>,
    fail_rate: f64,
    drop_rate: f64,
    latency: Duration,
    jitter: Duration,
    bucket: Option<Mutex<Bucket>>,
}

struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Faults {
    pub fn new(
        seed: u64,
        fail_rate: f64,
        drop_rate: f64,
        latency: Duration,
        jitter: Duration,
        rate_limit: f64,
    ) -> Faults {
        let bucket = (rate_limit > 0.0 && rate_limit.is_finite()).then(|| {
            Mutex::new(Bucket {
                rate: rate_limit,
                tokens: rate_limit.max(1.0),
                last: Instant::now(),
            })
        });
        Faults {
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            fail_rate: fail_rate.clamp(0.0, 1.0),
            drop_rate: drop_rate.clamp(0.0, 1.0),
            latency,
            jitter,
            bucket,
        }
    }

    /// Draws this request's fate: fail first, then drop, then where the drop happens.
    pub fn roll(&self) -> Roll {
        let (fail, which, drop, after, jitter) = match self.rng.lock() {
            Ok(mut rng) => (rng.f64(), rng.bool(), rng.f64(), rng.bool(), rng.f64()),
            Err(_) => (1.0, false, 1.0, false, 0.0),
        };
        let fault = if fail < self.fail_rate {
            Fault::Fail(if which { 503 } else { 500 })
        } else if drop < self.drop_rate {
            if after {
                Fault::DropAfter
            } else {
                Fault::DropBefore
            }
        } else {
            Fault::None
        };
        Roll {
            fault,
            delay: self.latency + self.jitter.mul_f64(jitter),
        }
    }

    /// `Err(seconds)` when the request exceeds the rate limit: the Retry-After to send.
    pub fn admit(&self) -> Result<(), u64> {
        let Some(bucket) = &self.bucket else {
            return Ok(());
        };
        let Ok(mut b) = bucket.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.last = now;
        b.tokens = (b.tokens + elapsed * b.rate).min(b.rate.max(1.0));
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / b.rate;
            Err((wait.ceil() as u64).max(1))
        }
    }
}

/// Counters behind `GET /__admin/stats`.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Counters>,
}

#[derive(Default)]
struct Counters {
    total: u64,
    by_route: BTreeMap<String, u64>,
    by_status: BTreeMap<String, u64>,
    in_flight: u64,
    max_in_flight: u64,
    served_429: u64,
    served_5xx: u64,
    drops: u64,
    invites_by_email: BTreeMap<String, u64>,
}

impl Stats {
    /// Counts a request as it arrives; pair with [`Stats::leave`].
    pub fn enter(&self, route: &str) {
        if let Ok(mut c) = self.inner.lock() {
            c.total += 1;
            *c.by_route.entry(route.to_string()).or_default() += 1;
            c.in_flight += 1;
            c.max_in_flight = c.max_in_flight.max(c.in_flight);
        }
    }

    /// Records how a request ended: a status, or `None` for a dropped connection.
    pub fn leave(&self, status: Option<u16>) {
        if let Ok(mut c) = self.inner.lock() {
            c.in_flight = c.in_flight.saturating_sub(1);
            match status {
                Some(s) => {
                    *c.by_status.entry(s.to_string()).or_default() += 1;
                    if s == 429 {
                        c.served_429 += 1;
                    }
                    if s >= 500 {
                        c.served_5xx += 1;
                    }
                }
                None => c.drops += 1,
            }
        }
    }

    /// A request whose client went away before it was answered: no longer in flight,
    /// but neither a status nor an injected drop.
    pub fn abandon(&self) {
        if let Ok(mut c) = self.inner.lock() {
            c.in_flight = c.in_flight.saturating_sub(1);
        }
    }

    /// Counts an invitation that was accepted (202), per lower-cased email.
    pub fn invited(&self, email: &str) {
        if let Ok(mut c) = self.inner.lock() {
            *c.invites_by_email
                .entry(email.trim().to_lowercase())
                .or_default() += 1;
        }
    }

    pub fn reset(&self) {
        if let Ok(mut c) = self.inner.lock() {
            let in_flight = c.in_flight;
            *c = Counters {
                in_flight,
                ..Counters::default()
            };
        }
    }

    pub fn to_json(&self) -> Value {
        let Ok(c) = self.inner.lock() else {
            return json!({});
        };
        json!({
            "total": c.total,
            "by_route": c.by_route,
            "by_status": c.by_status,
            "max_in_flight": c.max_in_flight,
            "served_429": c.served_429,
            "served_5xx": c.served_5xx,
            "drops": c.drops,
            "invites_by_email": c.invites_by_email,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(seed: u64) -> Faults {
        Faults::new(
            seed,
            0.3,
            0.3,
            Duration::ZERO,
            Duration::from_millis(10),
            0.0,
        )
    }

    #[test]
    fn same_seed_same_faults_other_seed_other_faults() {
        let draw = |seed| {
            let f = faults(seed);
            (0..200).map(|_| f.roll().fault).collect::<Vec<_>>()
        };
        let b = draw(9);
        assert_eq!(b, draw(9));
        assert_ne!(b, draw(10));
        assert!(b.iter().any(|f| matches!(f, Fault::Fail(_))));
        assert!(b.contains(&Fault::DropAfter) && b.contains(&Fault::DropBefore));
        assert!(b.contains(&Fault::None));
    }

    #[test]
    fn rate_limit_refuses_beyond_the_burst_with_retry_after() {
        let f = Faults::new(0, 0.0, 0.0, Duration::ZERO, Duration::ZERO, 2.0);
        assert_eq!(f.admit(), Ok(()));
        assert_eq!(f.admit(), Ok(()));
        assert_eq!(f.admit(), Err(1));
    }
}
