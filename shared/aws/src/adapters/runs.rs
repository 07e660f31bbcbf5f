//! A fan-out run's files in S3 ([`RunFiles`]) and its summary on SNS ([`RunSummaries`]).
//!
//! The map run's results are read as Step Functions' `ResultWriter` leaves them with its defaults
//! (`Transformation: NONE`, `OutputType: JSON`): a `manifest.json` whose `ResultFiles` lists, per
//! status, the keys of result files, each a JSON array of child executions with their `Status`,
//! `Input` and `Output` (JSON text), and `Error`/`Cause` when they failed.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sns::types::MessageAttributeValue;
use serde::Deserialize;
use warden_core::fanout::{
    Lane, LaneResult, Manifest, ResultLocation, RunFiles, RunSummaries, Summary,
};
use warden_core::ports::PortError;

use crate::runtime::errors::port_error;

/// The schema of the run summary's message body.
pub const SUMMARY_SCHEMA: &str = "ecr-warden/fanout-summary/v1";

/// The run bucket (`WARDEN_FANOUT_BUCKET`).
#[derive(Debug, Clone)]
pub struct S3RunFiles {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3RunFiles {
    /// Path-style addressing where an endpoint is configured (the emulator, a VPC endpoint by
    /// URL): virtual-hosted names need DNS for `<bucket>.<host>`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, calls: &crate::ApiCalls, bucket: String) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .interceptor(calls.clone())
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket,
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<T, PortError> {
        const OP: &str = "s3:GetObject";
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        let bytes = out.body.collect().await.map_err(|e| PortError::Transient {
            operation: OP,
            message: format!("s3://{bucket}/{key}: {e}"),
        })?;
        serde_json::from_slice(&bytes.into_bytes()).map_err(|e| PortError::Invalid {
            operation: OP,
            message: format!("s3://{bucket}/{key} is not what a map run writes: {e}"),
        })
    }
}

/// A map run's `manifest.json`: the result files by status.
#[derive(Deserialize)]
struct MapRunManifest {
    #[serde(rename = "ResultFiles", default)]
    result_files: std::collections::BTreeMap<String, Vec<ResultFile>>,
}

#[derive(Deserialize)]
struct ResultFile {
    #[serde(rename = "Key")]
    key: String,
}

#[async_trait]
impl RunFiles for S3RunFiles {
    async fn put_lanes(&self, key: &str, lanes: &[Lane]) -> Result<Manifest, PortError> {
        const OP: &str = "s3:PutObject";
        let body = serde_json::to_vec(lanes).map_err(|e| PortError::Invalid {
            operation: OP,
            message: e.to_string(),
        })?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        Ok(Manifest {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
        })
    }

    async fn lane_results(&self, at: &ResultLocation) -> Result<Vec<LaneResult>, PortError> {
        let manifest: MapRunManifest = self.get_json(&at.bucket, &at.key).await?;
        let mut results = Vec::new();
        for (status, files) in &manifest.result_files {
            // PENDING lists what never ran: nothing of it was answered.
            if status == "PENDING" {
                continue;
            }
            for file in files {
                let lanes: Vec<LaneResult> = self.get_json(&at.bucket, &file.key).await?;
                results.extend(lanes);
            }
        }
        Ok(results)
    }
}

/// The summary on the warden topic (`WARDEN_TOPIC_ARN`).
#[derive(Debug, Clone)]
pub struct SnsRunSummaries {
    client: aws_sdk_sns::Client,
    topic: Option<String>,
}

impl SnsRunSummaries {
    pub fn from_sdk(
        sdk: &aws_config::SdkConfig,
        calls: &crate::ApiCalls,
        topic: Option<String>,
    ) -> Self {
        Self {
            client: crate::counted!(aws_sdk_sns, sdk, calls),
            topic,
        }
    }
}

#[async_trait]
impl RunSummaries for SnsRunSummaries {
    async fn publish_summary(&self, summary: &Summary) -> Result<(), PortError> {
        const OP: &str = "sns:Publish";
        let Some(topic) = &self.topic else {
            tracing::warn!("no WARDEN_TOPIC_ARN: the run's summary is logged only");
            return Ok(());
        };
        let invalid = |e: String| PortError::Invalid {
            operation: OP,
            message: e,
        };
        let mut body = serde_json::to_value(summary).map_err(|e| invalid(e.to_string()))?;
        if let Some(fields) = body.as_object_mut() {
            fields.insert("schema".into(), SUMMARY_SCHEMA.into());
            fields.insert("kind".into(), "fanout_summary".into());
        }
        let failed: u64 =
            summary.accounts.values().map(|a| a.failed).sum::<u64>() + summary.lanes_failed;
        let subject = format!(
            "ecr-warden {} {}: {} lanes ok, {} failures",
            summary.job, summary.run, summary.lanes_succeeded, failed
        );
        let mut publish = self
            .client
            .publish()
            .topic_arn(topic)
            .subject(
                subject
                    .chars()
                    .take(warden_core::message::MAX_SUBJECT)
                    .collect::<String>(),
            )
            .message(body.to_string());
        for (name, value) in [("kind", "fanout_summary"), ("job", summary.job.as_str())] {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| invalid(e.to_string()))?;
            publish = publish.message_attributes(name, attribute);
        }
        publish.send().await.map_err(|e| port_error(OP, e))?;
        Ok(())
    }
}
