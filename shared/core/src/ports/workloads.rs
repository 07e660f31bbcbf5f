//! Where images are in use.

use async_trait::async_trait;

use super::PortError;

/// Where images are in use, across the account and region.
#[async_trait]
pub trait Workloads: Send + Sync {
    /// Every image reference in use, with who uses it: the task definitions of every ECS service
    /// (desired count 0 included) and of running and pending tasks, the newest `keep_revisions`
    /// ACTIVE revisions of each task definition family, and every version of each Lambda function
    /// packaged as an image (its resolved digest). ECS: ListClusters, ListServices,
    /// DescribeServices (10 per call), DescribeServiceRevisions (20 per call: the digest each
    /// service's current deployment pinned), ListTasks, DescribeTasks (100 per call),
    /// ListTaskDefinitionFamilies, ListTaskDefinitions, and DescribeTaskDefinition once per
    /// distinct ARN. Lambda: ListFunctions, ListVersionsByFunction, GetFunction per image version.
    async fn image_references(
        &self,
        keep_revisions: u32,
    ) -> Result<Vec<(String, String)>, PortError>;
}
