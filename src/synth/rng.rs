//! Deterministic random streams and the few distributions the simulation draws from.
//!
//! Each stream is a ChaCha8 generator seeded from SHA-256 of (seed, council, stream name), so a
//! stream's draws do not depend on how many draws other streams made: adding a column to one
//! writer does not reshuffle the population.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

pub type Rng = ChaCha8Rng;

/// The stream `name` of council `la` for `seed`.
pub fn stream(seed: u64, la: &str, name: &str) -> Rng {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(la.as_bytes());
    h.update([0u8]);
    h.update(name.as_bytes());
    let digest: [u8; 32] = h.finalize().into();
    ChaCha8Rng::from_seed(digest)
}

/// A stream for one item (a person, a file) of a named family, cheap to make.
pub fn item(seed: u64, la: &str, family: &str, id: u64) -> Rng {
    stream(seed, la, &format!("{family}#{id}"))
}

pub fn chance(r: &mut Rng, p: f64) -> bool {
    r.random::<f64>() < p
}

pub fn unit(r: &mut Rng) -> f64 {
    r.random::<f64>()
}

/// Uniform integer in `lo..=hi`.
pub fn int(r: &mut Rng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        r.random_range(lo..=hi)
    }
}

/// Index into `items` chosen with the given weights.
pub fn weighted<T: Copy>(r: &mut Rng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = r.random::<f64>() * total;
    for (t, w) in items {
        if x < *w {
            return *t;
        }
        x -= w;
    }
    items.last().expect("a non-empty choice").0
}

/// Standard normal (Box-Muller).
pub fn normal(r: &mut Rng) -> f64 {
    let u1: f64 = r.random::<f64>().max(1e-12);
    let u2: f64 = r.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A count with mean `lambda` and Poisson-like spread (normal approximation above 30).
pub fn count(r: &mut Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda < 30.0 {
        // Knuth
        let l = (-lambda).exp();
        let mut k = 0u32;
        let mut p = 1.0;
        loop {
            p *= r.random::<f64>();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }
    (lambda + normal(r) * lambda.sqrt()).round().max(0.0) as u32
}

/// Log-normal with the given median and spread (sigma of the log).
pub fn lognormal(r: &mut Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(r)).exp()
}

/// A uniformly chosen day in `from..=to`.
pub fn day_between(r: &mut Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let n = (to - from).num_days().max(0);
    from + Duration::days(int(r, 0, n))
}

pub fn is_working_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// `n` working days (Monday to Friday) after `d` (before it when `n` is negative).
pub fn add_working_days(d: NaiveDate, n: i64) -> NaiveDate {
    let mut x = d;
    let mut left = n.abs();
    while left > 0 {
        x += Duration::days(n.signum());
        if is_working_day(x) {
            left -= 1;
        }
    }
    x
}

/// The next working day on or after `d`.
pub fn working_day_on_or_after(d: NaiveDate) -> NaiveDate {
    let mut x = d;
    while !is_working_day(x) {
        x += Duration::days(1);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u32> = (0..5).map(|_| stream(7, "838", "x").random()).collect();
        let mut s = stream(7, "838", "x");
        let b: Vec<u32> = (0..5).map(|_| s.random()).collect();
        assert_eq!(a[0], b[0]);
        let mut t = stream(7, "838", "y");
        assert_ne!(s.random::<u64>(), t.random::<u64>());
    }

    #[test]
    fn working_days_skip_weekends() {
        let fri = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        assert_eq!(add_working_days(fri, 1), NaiveDate::from_ymd_opt(2024, 3, 4).unwrap());
        assert_eq!(add_working_days(fri, 5), NaiveDate::from_ymd_opt(2024, 3, 8).unwrap());
    }

    #[test]
    fn counts_have_the_mean_asked_for() {
        let mut r = stream(1, "838", "count");
        for lambda in [0.5, 8.0, 250.0] {
            let n = 4000;
            let mean = (0..n).map(|_| count(&mut r, lambda) as f64).sum::<f64>() / n as f64;
            assert!((mean - lambda).abs() < lambda * 0.05 + 0.05, "{lambda}: {mean}");
        }
    }
}
