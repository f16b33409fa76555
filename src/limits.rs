//! Rolling-window request limits, as DigiCert states them per API key
//! ("100 requests per 5 seconds, 1000 per 5 minutes"). The runner holds them so
//! that it never trips them; the sandbox enforces them so that a rehearsal shows
//! what the real API would do. Both parse the same `N/PERIOD,...` text.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// At most `max` requests in any span of `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Requests allowed within one period.
    pub max: u32,
    /// The length of the rolling window.
    pub period: Duration,
}

/// [`WindowSpec::digicert`] as written on the command line: the default of both
/// `run --key-limits` and `sandbox --limits`.
pub const DIGICERT_SPEC: &str = "100/5s,1000/300s";

/// A set of windows that all apply at once; empty means no limit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WindowSpec(pub Vec<Window>);

impl WindowSpec {
    /// DigiCert's stricter published figures: 100 per 5 s and 1000 per 5 min.
    pub fn digicert() -> WindowSpec {
        WindowSpec(vec![
            Window {
                max: 100,
                period: Duration::from_secs(5),
            },
            Window {
                max: 1000,
                period: Duration::from_secs(300),
            },
        ])
    }

    /// True when no window applies.
    pub fn is_unlimited(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for WindowSpec {
    type Err = String;

    /// Parses `100/5s,1000/300s`; periods take `ms`, `s`, `m` or `h` (bare numbers are
    /// seconds). `off` or `none` means no limit.
    fn from_str(text: &str) -> Result<WindowSpec, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("none") {
            return Ok(WindowSpec::default());
        }
        let windows = text
            .split(',')
            .map(|part| parse_window(part.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WindowSpec(windows))
    }
}

fn parse_window(part: &str) -> Result<Window, String> {
    let bad = || format!("'{part}' is not a limit like 100/5s (requests/period)");
    let (max, period) = part.split_once('/').ok_or_else(bad)?;
    let max: u32 = max.trim().parse().map_err(|_| bad())?;
    let period = parse_period(period.trim()).ok_or_else(bad)?;
    if max == 0 || period.is_zero() {
        return Err(format!("'{part}' allows nothing; use 'off' for no limit"));
    }
    Ok(Window { max, period })
}

fn parse_period(text: &str) -> Option<Duration> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

impl fmt::Display for WindowSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("off");
        }
        for (i, window) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}/{}s", window.max, window.period.as_secs_f64())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_published_limits_and_variants() {
        assert_eq!("100/5s,1000/300s".parse(), Ok(WindowSpec::digicert()));
        assert_eq!("100/5, 1000/5m".parse(), Ok(WindowSpec::digicert()));
        assert_eq!("off".parse(), Ok(WindowSpec::default()));
        let ms: WindowSpec = "3/500ms".parse().unwrap();
        assert_eq!(ms.0[0].period, Duration::from_millis(500));
        assert_eq!(WindowSpec::digicert().to_string(), "100/5s,1000/300s");
        assert_eq!(DIGICERT_SPEC.parse(), Ok(WindowSpec::digicert()));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["", "100", "x/5s", "100/5parsecs", "0/5s", "10/0s", "-1/5s"] {
            assert!(bad.parse::<WindowSpec>().is_err(), "{bad:?}");
        }
    }
}
