//! Vulnerability severities and per-severity counts, keeping every key ECR and Inspector send.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A severity as ECR basic scanning and Inspector name them. Keys this version does not know
/// (and Inspector's `TOTAL`) are kept as `Other`, never dropped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Informational,
    Untriaged,
    Undefined,
    Other(String),
}

impl Severity {
    pub fn parse(raw: &str) -> Self {
        match raw.to_ascii_uppercase().as_str() {
            "CRITICAL" => Self::Critical,
            "HIGH" => Self::High,
            "MEDIUM" => Self::Medium,
            "LOW" => Self::Low,
            "INFORMATIONAL" => Self::Informational,
            "UNTRIAGED" => Self::Untriaged,
            "UNDEFINED" => Self::Undefined,
            _ => Self::Other(raw.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Critical => "CRITICAL",
            Self::High => "HIGH",
            Self::Medium => "MEDIUM",
            Self::Low => "LOW",
            Self::Informational => "INFORMATIONAL",
            Self::Untriaged => "UNTRIAGED",
            Self::Undefined => "UNDEFINED",
            Self::Other(raw) => raw,
        }
    }

    /// Rank for "maximum severity": CRITICAL highest; UNTRIAGED/UNDEFINED and unknown keys rank 0.
    pub fn rank(&self) -> u8 {
        match self {
            Self::Critical => 5,
            Self::High => 4,
            Self::Medium => 3,
            Self::Low => 2,
            Self::Informational => 1,
            _ => 0,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(d)?))
    }
}

/// Findings per severity. Basic scanning lists only the severities present; Inspector adds `TOTAL`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SeverityCounts(pub BTreeMap<Severity, u64>);

impl SeverityCounts {
    /// Count for one severity; an absent key is 0.
    pub fn get(&self, severity: &Severity) -> u64 {
        self.0.get(severity).copied().unwrap_or(0)
    }

    /// The highest ranked severity with a non-zero count (TOTAL and unknown keys never count).
    pub fn max_severity(&self) -> Option<Severity> {
        self.0
            .iter()
            .filter(|(s, n)| **n > 0 && s.rank() > 0)
            .max_by_key(|(s, _)| s.rank())
            .map(|(s, _)| s.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_kept_and_total_never_ranks() {
        let counts: SeverityCounts =
            serde_json::from_str(r#"{"MEDIUM":2,"TOTAL":9,"UNTRIAGED":1,"NEW_ONE":4}"#).unwrap();
        assert_eq!(counts.get(&Severity::Other("TOTAL".into())), 9);
        assert_eq!(counts.get(&Severity::Other("NEW_ONE".into())), 4);
        assert_eq!(counts.get(&Severity::Critical), 0);
        assert_eq!(counts.max_severity(), Some(Severity::Medium));
        let back = serde_json::to_value(&counts).unwrap();
        assert_eq!(back["TOTAL"], 9);
    }
}
