//! Publishing outcomes on SNS ([`Publisher`]): JSON body, short subject, filterable attributes.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use warden_core::message::Message;
use warden_core::ports::{PortError, Publisher};

use crate::runtime::errors::port_error;

#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    /// The deployment's warden topic (`WARDEN_TOPIC_ARN`), used unless the policy names another.
    default_topic: Option<String>,
}

impl SnsPublisher {
    pub fn from_sdk(
        sdk: &aws_config::SdkConfig,
        calls: &crate::ApiCalls,
        default_topic: Option<String>,
    ) -> Self {
        Self::new(crate::counted!(aws_sdk_sns, sdk, calls), default_topic)
    }

    pub fn new(client: aws_sdk_sns::Client, default_topic: Option<String>) -> Self {
        Self {
            client,
            default_topic,
        }
    }
}

#[async_trait]
impl Publisher for SnsPublisher {
    async fn publish(&self, topic_arn: Option<&str>, message: &Message) -> Result<(), PortError> {
        const OP: &str = "sns:Publish";
        let topic =
            topic_arn
                .or(self.default_topic.as_deref())
                .ok_or_else(|| PortError::Invalid {
                    operation: OP,
                    message: "no topic: set WARDEN_TOPIC_ARN or notify.topic_arn in the policy"
                        .into(),
                })?;
        let body = serde_json::to_string(message).map_err(|e| PortError::Invalid {
            operation: OP,
            message: e.to_string(),
        })?;
        let mut publish = self
            .client
            .publish()
            .topic_arn(topic)
            .subject(message.subject())
            .message(body);
        for (name, value) in message.attributes() {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| PortError::Invalid {
                    operation: OP,
                    message: e.to_string(),
                })?;
            publish = publish.message_attributes(name, attribute);
        }
        publish.send().await.map_err(|e| port_error(OP, e))?;
        Ok(())
    }
}
