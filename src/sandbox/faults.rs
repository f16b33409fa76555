//! Seeded dice for the faults a real migration meets: server failures, connections
//! that close with no answer, and answers that come far too late. The same seed and
//! the same order of requests give the same faults, so a failing run can be repeated.

/// The share of requests each fault hits; each is a probability from 0 to 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FaultRates {
    /// Answered 503.
    pub fail: f64,
    /// Closed with no answer.
    pub reset: f64,
    /// Answered only after the configured stall.
    pub stall: f64,
}

/// What the dice decided for one request. More than one can come up at once; the
/// handler decides which wins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Roll {
    /// Close the connection without an answer.
    pub reset: bool,
    /// Answer 503.
    pub fail: bool,
    /// Hold the answer back for the stall.
    pub stall: bool,
}

/// A seeded random source that rolls for every request in arrival order.
#[derive(Debug)]
pub struct Dice {
    rates: FaultRates,
    rng: fastrand::Rng,
}

impl Dice {
    /// Dice for `rates`, starting from `seed`.
    pub fn new(rates: FaultRates, seed: u64) -> Dice {
        Dice {
            rates,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// Rolls for one request. It always draws three numbers, in a fixed order, even
    /// when a rate is 0 or an earlier fault already came up: the n-th request thus
    /// meets the same faults whatever the rates of the others, and changing one rate
    /// does not shift the others' sequence.
    pub fn roll(&mut self) -> Roll {
        // `f64()` is in [0, 1): a rate of 0 never hits and a rate of 1 always does.
        let reset = self.rng.f64() < self.rates.reset;
        let fail = self.rng.f64() < self.rates.fail;
        let stall = self.rng.f64() < self.rates.stall;
        Roll { reset, fail, stall }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rolls(rates: FaultRates, seed: u64, n: usize) -> Vec<Roll> {
        let mut dice = Dice::new(rates, seed);
        (0..n).map(|_| dice.roll()).collect()
    }

    #[test]
    fn the_same_seed_repeats_and_another_differs() {
        let rates = FaultRates {
            fail: 0.5,
            reset: 0.5,
            stall: 0.5,
        };
        assert_eq!(rolls(rates, 7, 64), rolls(rates, 7, 64));
        assert_ne!(rolls(rates, 7, 64), rolls(rates, 8, 64));
    }

    #[test]
    fn rates_of_zero_and_one_are_exact() {
        let never = rolls(FaultRates::default(), 1, 1000);
        assert!(never.iter().all(|roll| *roll == Roll::default()));
        let always = FaultRates {
            fail: 1.0,
            reset: 1.0,
            stall: 1.0,
        };
        let all = Roll {
            reset: true,
            fail: true,
            stall: true,
        };
        assert!(rolls(always, 1, 1000).iter().all(|roll| *roll == all));
    }

    #[test]
    fn one_rate_does_not_shift_another() {
        let fail_only = FaultRates {
            fail: 0.3,
            ..FaultRates::default()
        };
        let with_stalls = FaultRates {
            stall: 0.9,
            ..fail_only
        };
        let fails = |rolls: Vec<Roll>| rolls.iter().map(|r| r.fail).collect::<Vec<_>>();
        assert_eq!(
            fails(rolls(fail_only, 3, 200)),
            fails(rolls(with_stalls, 3, 200))
        );
    }

    #[test]
    fn a_rate_hits_about_its_share() {
        let rates = FaultRates {
            fail: 0.2,
            ..FaultRates::default()
        };
        let hits = rolls(rates, 11, 10_000).iter().filter(|r| r.fail).count();
        assert!((1_700..2_300).contains(&hits), "{hits}");
    }
}
