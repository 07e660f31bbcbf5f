//! The protected-tag ledger in DynamoDB ([`TagLedger`]).
//!
//! Table (defined in infra): partition key `pk` (S). A tag's item: `pk = tag#[<account>#]<repository>#<tag>` (the account only for one the policy names),
//! `digest`, `observed_at` (epoch milliseconds of the push it was seen in). The same table later holds verdicts and notification
//! dedupe under other key prefixes.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::{PortError, TagLedger};
use warden_core::records::{Claim, LedgerEntry};

use crate::runtime::errors::port_error;

#[derive(Debug, Clone)]
pub struct DynamoLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// `<account>#` for an account the policy names; empty for the deployment's own.
    scope: String,
}

impl DynamoLedger {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            scope: String::new(),
        }
    }

    /// The ledger of another account's tags, in the same table under keys of their own.
    pub fn in_account(mut self, account: &str) -> Self {
        self.scope = format!("{account}#");
        self
    }

    fn key(&self, repository: &RepositoryName, tag: &Tag) -> AttributeValue {
        AttributeValue::S(format!("tag#{}{repository}#{tag}", self.scope))
    }

    /// The ledger item saying `tag` points at `digest`, observed at `observed_at`.
    fn item(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
        digest: &Digest,
        observed_at: DateTime<Utc>,
    ) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), self.key(repository, tag)),
            ("digest".to_owned(), AttributeValue::S(digest.to_string())),
            (
                "observed_at".to_owned(),
                AttributeValue::N(observed_at.timestamp_millis().to_string()),
            ),
        ])
    }
}

fn entry_in(
    item: Option<&HashMap<String, AttributeValue>>,
    operation: &'static str,
) -> Result<Option<LedgerEntry>, PortError> {
    let Some(item) = item.filter(|i| !i.is_empty()) else {
        return Ok(None);
    };
    let invalid = |what: &str| PortError::Invalid {
        operation,
        message: format!("ledger item: {what}"),
    };
    let digest = item
        .get("digest")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| invalid("no digest"))?;
    let digest = Digest::new(digest.as_str()).map_err(|e| invalid(&e.to_string()))?;
    let millis = item
        .get("observed_at")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or_else(|| invalid("no observed_at"))?;
    let observed_at = DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| invalid("observed_at out of range"))?;
    Ok(Some(LedgerEntry {
        digest,
        observed_at,
    }))
}

#[async_trait]
impl TagLedger for DynamoLedger {
    async fn claim(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
        digest: &Digest,
        observed_at: DateTime<Utc>,
    ) -> Result<Claim, PortError> {
        const OP: &str = "dynamodb:PutItem";
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.item(repository, tag, digest, observed_at)))
            // Keep the earliest observation: write when there is none, or when ours is earlier.
            .condition_expression("attribute_not_exists(pk) OR observed_at > :t")
            .expression_attribute_values(
                ":t",
                AttributeValue::N(observed_at.timestamp_millis().to_string()),
            )
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(match entry_in(out.attributes(), OP)? {
                None => Claim::Recorded,
                Some(previous) => Claim::Replaced {
                    previous: previous.digest,
                },
            }),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    match entry_in(failed.item(), OP)? {
                        Some(existing) => Ok(Claim::Existing(existing.digest)),
                        None => Err(PortError::Invalid {
                            operation: OP,
                            message: "condition failed but no item returned".into(),
                        }),
                    }
                }
                _ => Err(port_error(OP, err)),
            },
        }
    }

    async fn entry(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
    ) -> Result<Option<LedgerEntry>, PortError> {
        const OP: &str = "dynamodb:GetItem";
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", self.key(repository, tag))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        entry_in(out.item(), OP)
    }

    async fn follow(
        &self,
        repository: &RepositoryName,
        tag: &Tag,
        from: &Digest,
        to: &Digest,
        observed_at: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        const OP: &str = "dynamodb:PutItem";
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.item(repository, tag, to, observed_at)))
            .condition_expression("digest = :from")
            .expression_attribute_values(":from", AttributeValue::S(from.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(port_error(OP, err)),
        }
    }
}
