//! Recorded verdicts in DynamoDB ([`VerdictStore`]): the state table, items
//! `pk = verdict#[<account>#]<repository>@<digest>` (the account only for one the policy names) with verdict, max severity, fingerprint, policy rule, time.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use chrono::DateTime;
use warden_core::names::{Digest, RepositoryName};
use warden_core::ports::{MAX_INDEX_RESTS_ON, PortError, VerdictLookup, VerdictStore};
use warden_core::records::{IndexClaim, IndexRecord, VerdictClaim, VerdictRecord};
use warden_core::severity::Severity;
use warden_core::verdict::Verdict;

use crate::runtime::errors::port_error;

#[derive(Debug, Clone)]
pub struct DynamoVerdicts {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// `<account>#` for an account the policy names; empty for the deployment's own.
    scope: String,
}

impl DynamoVerdicts {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            scope: String::new(),
        }
    }

    /// The verdicts of another account's images, in the same table under keys of their own.
    pub fn in_account(mut self, account: &str) -> Self {
        self.scope = format!("{account}#");
        self
    }

    fn key(&self, repository: &RepositoryName, digest: &Digest) -> AttributeValue {
        AttributeValue::S(format!("verdict#{}{repository}@{digest}", self.scope))
    }

    fn item(&self, record: &VerdictRecord) -> HashMap<String, AttributeValue> {
        let mut item = item(record);
        item.insert(
            "pk".to_owned(),
            self.key(&record.repository, &record.digest),
        );
        item
    }
}

fn item(record: &VerdictRecord) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        (
            "repository".to_owned(),
            AttributeValue::S(record.repository.to_string()),
        ),
        (
            "digest".to_owned(),
            AttributeValue::S(record.digest.to_string()),
        ),
        (
            "verdict".to_owned(),
            AttributeValue::S(record.verdict.as_str().to_owned()),
        ),
        (
            "fingerprint".to_owned(),
            AttributeValue::S(record.fingerprint.clone()),
        ),
        (
            "decided_at".to_owned(),
            AttributeValue::N(record.decided_at.timestamp_millis().to_string()),
        ),
        (
            "evidence_at".to_owned(),
            AttributeValue::N(record.evidence_at.timestamp_millis().to_string()),
        ),
    ]);
    if let Some(max) = &record.max_severity {
        item.insert(
            "max_severity".to_owned(),
            AttributeValue::S(max.as_str().to_owned()),
        );
    }
    if let Some(pattern) = &record.policy_pattern {
        item.insert(
            "policy_pattern".to_owned(),
            AttributeValue::S(pattern.clone()),
        );
    }
    item
}

fn record(
    item: Option<&HashMap<String, AttributeValue>>,
    operation: &'static str,
) -> Result<Option<VerdictRecord>, PortError> {
    let Some(item) = item.filter(|i| !i.is_empty()) else {
        return Ok(None);
    };
    let invalid = |what: &str| PortError::Invalid {
        operation,
        message: format!("verdict item: {what}"),
    };
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let repository =
        RepositoryName::new(text("repository").ok_or_else(|| invalid("no repository"))?)
            .map_err(|e| invalid(&e.to_string()))?;
    let digest = Digest::new(text("digest").ok_or_else(|| invalid("no digest"))?)
        .map_err(|e| invalid(&e.to_string()))?;
    let verdict = match text("verdict").as_deref() {
        Some("PASS") => Verdict::Pass,
        Some("FAIL") => Verdict::Fail,
        _ => return Err(invalid("verdict is not PASS or FAIL")),
    };
    let millis = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    };
    let decided_at = millis("decided_at")
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| invalid("no decided_at, or out of range"))?;
    // Records written before evidence times were kept rest on evidence no newer than their decision.
    let evidence_at = match millis("evidence_at") {
        None => decided_at,
        Some(ms) => DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| invalid("evidence_at out of range"))?,
    };
    Ok(Some(VerdictRecord {
        repository,
        digest,
        verdict,
        max_severity: text("max_severity").map(|s| Severity::parse(&s)),
        fingerprint: text("fingerprint").ok_or_else(|| invalid("no fingerprint"))?,
        policy_pattern: text("policy_pattern"),
        decided_at,
        evidence_at,
    }))
}

const TRANSACT: &str = "dynamodb:TransactWriteItems";

/// How often an index claim reads the index's record again when another evaluation wrote it first.
const INDEX_CLAIM_ATTEMPTS: usize = 5;

impl DynamoVerdicts {
    /// One attempt of [`VerdictStore::claim_index`]; `None`: the index's record changed between
    /// the read and the write.
    async fn try_claim_index(&self, index: &IndexRecord) -> Result<Option<IndexClaim>, PortError> {
        let new = &index.record;
        let stored = self.verdict(&new.repository, &new.digest).await?;
        if stored
            .as_ref()
            .is_some_and(|s| s.fingerprint == new.fingerprint)
        {
            return Ok(Some(IndexClaim::Unchanged));
        }
        let (items, checked) = self.index_transaction(index, stored.as_ref())?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(err) = result else {
            return Ok(Some(IndexClaim::Recorded { previous: stored }));
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        else {
            return Err(port_error(TRANSACT, err));
        };
        let codes: Vec<&str> = cancelled
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None"))
            .collect();
        cancelled_claim(&codes, &checked)
    }

    /// The transaction's items: a ConditionCheck per record the index rests on ("no two actions
    /// can target the same item": each once, in order), then the index's Put, conditioned on its
    /// record being `stored`. Also the checked digests, in the items' order.
    fn index_transaction<'i>(
        &self,
        index: &'i IndexRecord,
        stored: Option<&VerdictRecord>,
    ) -> Result<(Vec<TransactWriteItem>, Vec<&'i Digest>), PortError> {
        let new = &index.record;
        let built = |e: aws_sdk_dynamodb::error::BuildError| PortError::Invalid {
            operation: TRANSACT,
            message: e.to_string(),
        };
        let mut checked: Vec<&Digest> = Vec::with_capacity(index.rests_on.len());
        let mut items = Vec::with_capacity(index.rests_on.len() + 1);
        for (digest, verdict) in &index.rests_on {
            if checked.contains(&digest) {
                continue;
            }
            checked.push(digest);
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .key("pk", self.key(&new.repository, digest))
                .condition_expression("verdict = :v")
                .expression_attribute_values(":v", AttributeValue::S(verdict.as_str().to_owned()))
                .build()
                .map_err(built)?;
            items.push(TransactWriteItem::builder().condition_check(check).build());
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.item(new)));
        let put = match stored {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(s) => put
                .condition_expression("fingerprint = :old")
                .expression_attribute_values(":old", AttributeValue::S(s.fingerprint.clone())),
        };
        let put = put.build().map_err(built)?;
        items.push(TransactWriteItem::builder().put(put).build());
        Ok((items, checked))
    }
}

/// What a cancelled index transaction means, from its cancellation reasons (one per item, in the
/// items' order): a condition check failed → `Stale` (that record changed); the index's own put
/// failed → `None` (its record changed: read again); anything else (a conflict with another
/// transaction) is retryable.
fn cancelled_claim(codes: &[&str], checked: &[&Digest]) -> Result<Option<IndexClaim>, PortError> {
    const FAILED: &str = "ConditionalCheckFailed";
    let checks = &codes[..checked.len().min(codes.len())];
    if let Some(i) = checks.iter().position(|c| *c == FAILED) {
        return Ok(Some(IndexClaim::Stale {
            changed: checked[i].clone(),
        }));
    }
    if codes.get(checked.len()) == Some(&FAILED) {
        return Ok(None);
    }
    Err(PortError::Transient {
        operation: TRANSACT,
        message: format!("transaction cancelled: {}", codes.join(", ")),
    })
}

#[async_trait]
impl VerdictLookup for DynamoVerdicts {
    async fn verdict(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<VerdictRecord>, PortError> {
        const OP: &str = "dynamodb:GetItem";
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", self.key(repository, digest))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        record(out.item(), OP)
    }
}

#[async_trait]
impl VerdictStore for DynamoVerdicts {
    async fn claim(&self, new: &VerdictRecord) -> Result<VerdictClaim, PortError> {
        const OP: &str = "dynamodb:PutItem";
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.item(new)))
            // VerdictClaim::writes, as a condition.
            .condition_expression(
                "attribute_not_exists(pk) \
                 OR evidence_at < :e OR (evidence_at = :e AND fingerprint <> :f) \
                 OR (attribute_not_exists(evidence_at) AND \
                     (decided_at < :e OR (decided_at = :e AND fingerprint <> :f)))",
            )
            .expression_attribute_values(":f", AttributeValue::S(new.fingerprint.clone()))
            .expression_attribute_values(
                ":e",
                AttributeValue::N(new.evidence_at.timestamp_millis().to_string()),
            )
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            // Written: the same fingerprint only moved its evidence time forward.
            Ok(out) => Ok(match record(out.attributes(), OP)? {
                Some(old) if old.fingerprint == new.fingerprint => VerdictClaim::Unchanged,
                previous => VerdictClaim::Recorded { previous },
            }),
            Err(err) => match err.as_service_error() {
                // The stored item says which condition failed; without it, nothing is written
                // and nothing done either way.
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let stored = record(failed.item(), OP)?;
                    match VerdictClaim::would(stored, new) {
                        superseded @ VerdictClaim::Superseded { .. } => Ok(superseded),
                        _ => Ok(VerdictClaim::Unchanged),
                    }
                }
                _ => Err(port_error(OP, err)),
            },
        }
    }

    /// Per attempt: one GetItem of the index's record (the same fingerprint: `Unchanged`, nothing
    /// more), then one TransactWriteItems — a ConditionCheck per record it rests on (`verdict =
    /// :v`) and the index's Put, conditioned on its record being still the one read. A platform
    /// image's verdict changed meanwhile cancels it for good (`Stale`: the evaluation that changed
    /// it records the index); the index's record changed meanwhile (another evaluation wrote it)
    /// is read again and tried again, up to [`INDEX_CLAIM_ATTEMPTS`] times. Cancellation reasons
    /// come in the order of the items (DynamoDB API reference, TransactWriteItems); a conflict
    /// with another transaction is retryable.
    async fn claim_index(&self, index: &IndexRecord) -> Result<IndexClaim, PortError> {
        if index.rests_on.len() > MAX_INDEX_RESTS_ON {
            return Err(PortError::Invalid {
                operation: TRANSACT,
                message: format!(
                    "index {} rests on {} platform images; at most {MAX_INDEX_RESTS_ON} fit one transaction",
                    index.record.digest,
                    index.rests_on.len()
                ),
            });
        }
        for _ in 0..INDEX_CLAIM_ATTEMPTS {
            if let Some(claim) = self.try_claim_index(index).await? {
                return Ok(claim);
            }
        }
        Err(PortError::Transient {
            operation: TRANSACT,
            message: format!(
                "the record of index {} changed under each of {INDEX_CLAIM_ATTEMPTS} attempts",
                index.record.digest
            ),
        })
    }

    async fn restore(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        previous: Option<&VerdictRecord>,
        written: &str,
    ) -> Result<(), PortError> {
        // A condition that failed: another evaluation recorded a decision since, and it stands.
        let written = AttributeValue::S(written.to_owned());
        match previous {
            Some(previous) => {
                let put = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(self.item(previous)))
                    .condition_expression("fingerprint = :w")
                    .expression_attribute_values(":w", written)
                    .send()
                    .await;
                unless_superseded(put, "dynamodb:PutItem", |e| {
                    matches!(e, PutItemError::ConditionalCheckFailedException(_))
                })
            }
            None => {
                let delete = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .key("pk", self.key(repository, digest))
                    .condition_expression("fingerprint = :w")
                    .expression_attribute_values(":w", written)
                    .send()
                    .await;
                unless_superseded(delete, "dynamodb:DeleteItem", |e| {
                    matches!(e, DeleteItemError::ConditionalCheckFailedException(_))
                })
            }
        }
    }
}

/// A conditional write's outcome: done, or its condition failed (someone wrote since) — both
/// fine; any other error is the port's.
fn unless_superseded<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    operation: &'static str,
    condition_failed: impl Fn(&E) -> bool,
) -> Result<(), PortError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(&condition_failed) => Ok(()),
        Err(e) => Err(port_error(operation, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_index_claim_names_the_record_that_changed_or_reads_again() {
        let (a, b) = (Digest::of_bytes(b"a"), Digest::of_bytes(b"b"));
        let checked = [&a, &b];
        assert_eq!(
            cancelled_claim(&["None", "ConditionalCheckFailed", "None"], &checked).unwrap(),
            Some(IndexClaim::Stale { changed: b.clone() })
        );
        assert_eq!(
            cancelled_claim(
                &["ConditionalCheckFailed", "None", "ConditionalCheckFailed"],
                &checked
            )
            .unwrap(),
            Some(IndexClaim::Stale { changed: a.clone() }),
            "a platform image changed: stale, whatever the index's own condition says"
        );
        assert_eq!(
            cancelled_claim(&["None", "None", "ConditionalCheckFailed"], &checked).unwrap(),
            None,
            "only the index's record changed: read it again"
        );
        let conflict = cancelled_claim(&["None", "TransactionConflict", "None"], &checked);
        assert!(
            matches!(conflict, Err(PortError::Transient { .. })),
            "{conflict:?}"
        );
    }
}
