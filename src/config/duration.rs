//! Durations in settings and pipelines: `"90s"`, `"10m"`, `"2h"`, `"1d"`, `"1h30m"`, or a whole
//! number of seconds.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration read from TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let mut total = 0f64;
    let mut num = String::new();
    for ch in t.chars() {
        if ch.is_ascii_digit() || ch == '.' {
            num.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86400.0,
            ' ' => continue,
            _ => return Err(format!("`{text}` is not a duration (write e.g. 90s, 10m, 2h, 1d)")),
        };
        let n: f64 = num.parse().map_err(|_| format!("`{text}` is not a duration (write e.g. 90s, 10m, 2h, 1d)"))?;
        total += n * unit;
        num.clear();
    }
    if !num.is_empty() || t.is_empty() {
        return Err(format!("`{text}` is not a duration: give a unit (s, m, h, d)"));
    }
    Ok(Duration::from_secs_f64(total))
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(n) => Ok(Dur(Duration::from_secs(n))),
            Raw::Text(t) => parse(&t).map(Dur).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse("0.5s").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("15").unwrap(), Duration::from_secs(15));
        assert!(parse("10").is_ok() && parse("10x").is_err() && parse("1.5").is_err() && parse("m").is_err());
    }
}
