//! Run checkpoints in the state table ([`Checkpoints`]): `pk = checkpoint#<key>`, `value`.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use warden_core::ports::{Checkpoints, PortError};

use crate::runtime::errors::port_error;

#[derive(Debug, Clone)]
pub struct DynamoCheckpoints {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoCheckpoints {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn key(name: &str) -> AttributeValue {
    AttributeValue::S(format!("checkpoint#{name}"))
}

#[async_trait]
impl Checkpoints for DynamoCheckpoints {
    async fn get(&self, name: &str) -> Result<Option<String>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", key(name))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("dynamodb:GetItem", e))?;
        Ok(out
            .item()
            .and_then(|i| i.get("value"))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    async fn set(&self, name: &str, value: Option<&str>) -> Result<(), PortError> {
        match value {
            Some(v) => {
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .item("pk", key(name))
                    .item("value", AttributeValue::S(v.to_owned()))
                    .send()
                    .await
                    .map_err(|e| port_error("dynamodb:PutItem", e))?;
            }
            None => {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .key("pk", key(name))
                    .send()
                    .await
                    .map_err(|e| port_error("dynamodb:DeleteItem", e))?;
            }
        }
        Ok(())
    }
}
