//! A shard as a worker receives it: the `shard` of its `{"shard": ...}` payload.

use serde_json::Value;

use super::Shard;
use crate::event::{EventError, InputSummary, Refusal};

impl Shard {
    /// A worker's `{"shard": ...}` payload, or the refusal naming what is wrong with it.
    pub fn from_item(item: &Value, context: &str) -> Result<Self, Refusal> {
        serde_json::from_value(item.clone()).map_err(|e| {
            Refusal::Malformed(EventError::Field {
                context: context.into(),
                path: "shard".into(),
                message: e.to_string(),
            })
        })
    }

    /// The summary line's view of a shard: `shard(<repositories>)` in its account.
    pub fn summary(&self) -> InputSummary {
        InputSummary {
            kind: format!("shard({})", self.repositories.len()),
            account: Some(self.at.account.to_string()),
            ..InputSummary::default()
        }
    }
}
