//! A message's `action`: what the function did (or, in dry-run, would do). On the wire it stays
//! the string subscribers filter on (`reverted`, `would_quarantined`, ...; docs/messages.md).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Did {
    /// tag-guard pointed a moved protected tag back.
    Reverted,
    /// tag-guard let a move stand (the recorded image failed, or ECR's replication wrote it).
    Accepted,
    /// tag-guard set a repository's tag mutability to the policy's.
    Fixed,
    /// scan-gate took a failing image's tags away.
    Quarantined,
    /// scan-gate could not take every tag away: the image is still deployable.
    QuarantineFailed,
    /// scan-gate gave a passing image its tags back.
    Released,
    /// The replicator copied the image everywhere the policy names.
    Replicated,
    /// The replicator could not copy to at least one destination.
    ReplicationFailed,
    /// janitor's cleanup in dry-run (it says so without `would_`).
    Planned,
    /// janitor's cleanup carried out.
    Applied,
    /// Nothing was changed (a verdict without a move, a revert that is impossible, ...).
    None,
    /// A word this version does not know (a newer sender): kept as written.
    Other(String),
}

impl Did {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Reverted => "reverted",
            Self::Accepted => "accepted",
            Self::Fixed => "fixed",
            Self::Quarantined => "quarantined",
            Self::QuarantineFailed => "quarantine_failed",
            Self::Released => "released",
            Self::Replicated => "replicated",
            Self::ReplicationFailed => "replication_failed",
            Self::Planned => "planned",
            Self::Applied => "applied",
            Self::None => "none",
            Self::Other(word) => word,
        }
    }

    fn parse(word: &str) -> Self {
        match word {
            "reverted" => Self::Reverted,
            "accepted" => Self::Accepted,
            "fixed" => Self::Fixed,
            "quarantined" => Self::Quarantined,
            "quarantine_failed" => Self::QuarantineFailed,
            "released" => Self::Released,
            "replicated" => Self::Replicated,
            "replication_failed" => Self::ReplicationFailed,
            "planned" => Self::Planned,
            "applied" => Self::Applied,
            "none" => Self::None,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A message's action: what was done, and whether only in a dry run (`would_<did>` on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAction {
    pub did: Did,
    pub would: bool,
}

impl MessageAction {
    /// Done, or in a dry run only what would be done.
    pub fn new(did: Did, dry_run: bool) -> Self {
        Self {
            did,
            would: dry_run,
        }
    }

    /// Done (also janitor's dry-run `planned`, which carries no `would_`).
    pub fn done(did: Did) -> Self {
        Self::new(did, false)
    }

    /// Actually done (not a dry run's) and this.
    pub fn is(&self, did: &Did) -> bool {
        !self.would && &self.did == did
    }
}

impl fmt::Display for MessageAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.would {
            f.write_str("would_")?;
        }
        f.write_str(self.did.as_str())
    }
}

/// Compared with its wire string (`action == "would_quarantined"`).
/// A wire string as (would, what was done): `would_quarantined` → (true, `quarantined`).
fn split(wire: &str) -> (bool, &str) {
    match wire.strip_prefix("would_") {
        Some(did) => (true, did),
        None => (false, wire),
    }
}

impl PartialEq<&str> for MessageAction {
    fn eq(&self, wire: &&str) -> bool {
        let (would, did) = split(wire);
        self.would == would && self.did.as_str() == did
    }
}

impl From<&str> for MessageAction {
    fn from(wire: &str) -> Self {
        let (would, did) = split(wire);
        Self::new(Did::parse(did), would)
    }
}

impl Serialize for MessageAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MessageAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = String::deserialize(d)?;
        Ok(Self::from(wire.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire strings subscribers filter on do not change (docs/messages.md).
    #[test]
    fn every_action_reads_and_writes_its_wire_string() {
        for wire in [
            "reverted",
            "accepted",
            "fixed",
            "quarantined",
            "quarantine_failed",
            "released",
            "replicated",
            "replication_failed",
            "planned",
            "applied",
            "none",
            "would_reverted",
            "would_quarantined",
            "would_replicated",
            "something_newer",
        ] {
            let action = MessageAction::from(wire);
            assert_eq!(action.to_string(), wire);
            let json = serde_json::to_string(&action).expect("serializes");
            assert_eq!(json, format!("\"{wire}\""));
            let back: MessageAction = serde_json::from_str(&json).expect("deserializes");
            assert_eq!(back, action);
        }
        assert!(MessageAction::from("quarantined").is(&Did::Quarantined));
        assert!(!MessageAction::from("would_quarantined").is(&Did::Quarantined));
        assert_eq!(
            MessageAction::from("something_newer").did,
            Did::Other("something_newer".into())
        );
    }
}
