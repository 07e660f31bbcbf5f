//! `AWS API Call via CloudTrail` for ECR: the calls that change what ecr-warden guards.

use serde::{Deserialize, Serialize};

use super::lenient::null_as_default;
use super::timestamp::Timestamp;
use crate::mutability::{MutabilityMode, TagMutability};
use crate::names::{ExclusionFilter, RepositoryName};

/// One recorded ECR API call. `requestParameters`/`responseElements` are typed for the fields
/// ecr-warden reads; a failed call carries `errorCode` and usually no response.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudTrailCall {
    pub event_name: String,
    pub event_source: String,
    #[serde(default)]
    pub aws_region: Option<String>,
    #[serde(default)]
    pub event_time: Option<Timestamp>,
    #[serde(default, rename = "eventID")]
    pub event_id: Option<String>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub user_identity: Option<UserIdentity>,
    #[serde(default)]
    pub request_parameters: Option<RequestParameters>,
    #[serde(default)]
    pub response_elements: Option<ResponseElements>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(default, rename = "type")]
    pub identity_type: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestParameters {
    #[serde(default)]
    pub repository_name: Option<RepositoryName>,
    #[serde(default)]
    pub registry_id: Option<String>,
    #[serde(default)]
    pub image_tag_mutability: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub image_tag_mutability_exclusion_filters: Vec<ExclusionFilterSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseElements {
    #[serde(default)]
    pub repository: Option<RepositoryDescription>,
    #[serde(default)]
    pub repository_name: Option<RepositoryName>,
    #[serde(default)]
    pub image_tag_mutability: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub image_tag_mutability_exclusion_filters: Vec<ExclusionFilterSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryDescription {
    pub repository_name: RepositoryName,
    #[serde(default)]
    pub repository_arn: Option<String>,
    #[serde(default)]
    pub image_tag_mutability: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub image_tag_mutability_exclusion_filters: Vec<ExclusionFilterSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExclusionFilterSpec {
    pub filter: ExclusionFilter,
    #[serde(default)]
    pub filter_type: Option<String>,
}

impl CloudTrailCall {
    pub fn succeeded(&self) -> bool {
        self.error_code.is_none()
    }

    /// The repository the call was about, from the response or else the request.
    pub fn repository(&self) -> Option<&RepositoryName> {
        let response = self.response_elements.as_ref();
        response
            .and_then(|r| r.repository.as_ref().map(|d| &d.repository_name))
            .or_else(|| response.and_then(|r| r.repository_name.as_ref()))
            .or_else(|| self.request_parameters.as_ref()?.repository_name.as_ref())
    }

    /// The tag mutability the call left the repository with, read from the event alone (0 API
    /// calls): CreateRepository's response (default MUTABLE), or PutImageTagMutability's.
    pub fn resulting_mutability(&self) -> Option<TagMutability> {
        if !self.succeeded() {
            return None;
        }
        let (mode, filters) = match self.event_name.as_str() {
            "CreateRepository" => {
                let described = self.response_elements.as_ref()?.repository.as_ref();
                let request = self.request_parameters.as_ref();
                let mode = described
                    .and_then(|d| d.image_tag_mutability.clone())
                    .or_else(|| request?.image_tag_mutability.clone())
                    .unwrap_or_else(|| "MUTABLE".to_owned());
                let filters = described
                    .map(|d| d.image_tag_mutability_exclusion_filters.clone())
                    .filter(|f| !f.is_empty())
                    .or_else(|| request.map(|r| r.image_tag_mutability_exclusion_filters.clone()))
                    .unwrap_or_default();
                (mode, filters)
            }
            "PutImageTagMutability" => {
                let response = self.response_elements.as_ref();
                let request = self.request_parameters.as_ref();
                let mode = response
                    .and_then(|r| r.image_tag_mutability.clone())
                    .or_else(|| request?.image_tag_mutability.clone())?;
                let filters = response
                    .map(|r| r.image_tag_mutability_exclusion_filters.clone())
                    .filter(|f| !f.is_empty())
                    .or_else(|| request.map(|r| r.image_tag_mutability_exclusion_filters.clone()))
                    .unwrap_or_default();
                (mode, filters)
            }
            _ => return None,
        };
        Some(TagMutability {
            mode: MutabilityMode::parse(&mode)?,
            exclusions: filters.into_iter().map(|f| f.filter).collect(),
        })
    }
}
