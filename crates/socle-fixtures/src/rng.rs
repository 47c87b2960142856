//! Deterministic random streams: every stream is a `ChaCha8Rng` seeded from the generation seed
//! and a few labels (CSS code, salt, student, year), so that each part of the output can be
//! regenerated independently of the others and of the thread that writes it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub(crate) const SALT_ALLOC: u64 = 0x01;
pub(crate) const SALT_CONV_GLOBAL: u64 = 0x02;
pub(crate) const SALT_CONV: u64 = 0x03;
pub(crate) const SALT_ROSTER: u64 = 0x04;
pub(crate) const SALT_SCHOOLS: u64 = 0x05;
pub(crate) const SALT_CALENDAR: u64 = 0x06;
pub(crate) const SALT_PLAN: u64 = 0x07;
pub(crate) const SALT_RESULTS: u64 = 0x08;
pub(crate) const SALT_ABSENCES: u64 = 0x09;
pub(crate) const SALT_BAD: u64 = 0x0A;
pub(crate) const SALT_PAD: u64 = 0x0B;
pub(crate) const SALT_CHOICE: u64 = 0x0C;
/// Post-youth trajectories (JADE), per code permanent: independent of the youth system.
pub(crate) const SALT_JADE: u64 = 0x21;
/// Ministry results (JADE), per code permanent, course and year.
pub(crate) const SALT_JADE_RES: u64 = 0x22;
/// A forced move between CSS when the draws gave none.
pub(crate) const SALT_MOVERS: u64 = 0x23;
/// JADE's centres, fiche numbers and adults never in the youth sector, per CSS.
pub(crate) const SALT_ADULTS: u64 = 0x24;

pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit hash of the seed and labels.
pub(crate) fn hash(seed: u64, parts: &[u64]) -> u64 {
    let mut h = splitmix64(seed);
    for p in parts {
        h = splitmix64(h ^ splitmix64(*p));
    }
    h
}

pub(crate) fn stream(seed: u64, parts: &[u64]) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(hash(seed, parts))
}

/// A label for a text (CSS code, course code).
pub(crate) fn label(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Standard normal draw (Box-Muller).
pub(crate) fn normal<R: Rng>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Number of failures before the next success of a Bernoulli(p) trial.
pub(crate) fn geometric<R: Rng>(rng: &mut R, p: f64) -> u64 {
    if p <= 0.0 {
        return u64::MAX;
    }
    if p >= 1.0 {
        return 0;
    }
    let u: f64 = 1.0 - rng.random::<f64>();
    let g = (u.ln() / (1.0 - p).ln()).floor();
    if g.is_finite() && g >= 0.0 {
        g.min(1e15) as u64
    } else {
        0
    }
}

/// Index drawn with the given (non-negative) weights.
pub(crate) fn weighted<R: Rng>(rng: &mut R, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || weights.is_empty() {
        return 0;
    }
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// Index drawn from cumulative weights with a fixed 32-bit preference (stable choice).
pub(crate) fn pick_cumulative(cumulative: &[f64], pref: u32) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = f64::from(pref) / (f64::from(u32::MAX) + 1.0) * total;
    cumulative
        .partition_point(|c| *c <= x)
        .min(cumulative.len().saturating_sub(1))
}
