//! Lenient timestamps: Inspector finding times are not ISO-8601 and vary between accounts and versions
//! ("Mar 31, 2023, 10:47:10 PM", "Mar 31, 2023, 22:47:10", epoch seconds or milliseconds, RFC 3339).

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time as the event wrote it, with the instant when it could be read.
/// An unreadable timestamp is kept (raw), never an error: no decision depends on it alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    pub raw: String,
    pub at: Option<DateTime<Utc>>,
}

const NAIVE_FORMATS: &[&str] = &[
    "%b %d, %Y, %I:%M:%S %p",
    "%b %e, %Y, %I:%M:%S %p",
    "%b %d, %Y, %H:%M:%S",
    "%b %e, %Y, %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
];

impl Timestamp {
    pub fn parse(raw: &str) -> Self {
        let trimmed = raw.trim();
        let at = DateTime::parse_from_rfc3339(trimmed)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                DateTime::parse_from_str(trimmed, "%Y-%m-%d %H:%M:%S%.f %z")
                    .map(|t| t.with_timezone(&Utc))
                    .ok()
            })
            .or_else(|| {
                let without_zone = trimmed
                    .trim_end_matches(" UTC")
                    .trim_end_matches(" GMT")
                    .trim_end_matches('Z');
                NAIVE_FORMATS.iter().find_map(|f| {
                    NaiveDateTime::parse_from_str(without_zone, f)
                        .ok()
                        .map(|n| Utc.from_utc_datetime(&n))
                })
            })
            .or_else(|| trimmed.parse::<f64>().ok().and_then(from_epoch));
        Self {
            raw: raw.to_owned(),
            at,
        }
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Self {
            raw: at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            at: Some(at),
        }
    }
}

/// Epoch seconds, or milliseconds when the number is too large to be seconds.
fn from_epoch(n: f64) -> Option<DateTime<Utc>> {
    let millis = if n.abs() >= 1e11 { n } else { n * 1000.0 };
    if !millis.is_finite() || millis.abs() > 8.0e15 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)] // bounded above
    Utc.timestamp_millis_opt(millis.round() as i64).single()
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(f64),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Text(s) => Self::parse(&s),
            Raw::Number(n) => Self {
                raw: n.to_string(),
                at: from_epoch(n),
            },
        })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.at {
            Some(at) => s.serialize_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            None => s.serialize_str(&self.raw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(raw: &str) -> String {
        Timestamp::parse(raw)
            .at
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    }

    #[test]
    fn inspector_formats_all_read() {
        let want = "2023-03-31T22:47:10+00:00";
        assert_eq!(iso("Mar 31, 2023, 10:47:10 PM"), want);
        assert_eq!(iso("Mar 31, 2023, 22:47:10"), want);
        assert_eq!(iso("2023-03-31T22:47:10Z"), want);
        assert_eq!(iso("2023-03-31T22:47:10.000Z"), want);
        assert_eq!(iso("2023-03-31 22:47:10 +0000"), want);
        assert_eq!(iso("1680302830"), want);
        assert_eq!(iso("1680302830000"), want);
        assert_eq!(iso("Mar 3, 2023, 10:47:10 PM"), "2023-03-03T22:47:10+00:00");
    }

    #[test]
    fn unreadable_is_kept_not_fatal() {
        let t = Timestamp::parse("sometime soon");
        assert!(t.at.is_none());
        assert_eq!(serde_json::to_value(&t).unwrap(), "sometime soon");
    }
}
