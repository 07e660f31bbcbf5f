//! What is running ([`Workloads`]): ECS services, tasks and recent task definitions, and Lambda
//! functions packaged as images. Read once per janitor run; each task definition described once.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    DesiredStatus, SortOrder, TaskDefinitionFamilyStatus, TaskDefinitionStatus,
};
use aws_sdk_lambda::types::PackageType;
use warden_core::ports::{PortError, Workloads};

use crate::runtime::errors::port_error;

/// ECS's limit on service revision ARNs per DescribeServiceRevisions call.
const MAX_SERVICE_REVISIONS: usize = 20;

/// ECS and Lambda in one account and region.
#[derive(Debug, Clone)]
pub struct AccountWorkloads {
    ecs: aws_sdk_ecs::Client,
    lambda: aws_sdk_lambda::Client,
}

impl AccountWorkloads {
    pub fn from_sdk(sdk: &aws_config::SdkConfig, calls: &crate::ApiCalls) -> Self {
        Self::new(
            crate::counted!(aws_sdk_ecs, sdk, calls),
            crate::counted!(aws_sdk_lambda, sdk, calls),
        )
    }

    pub fn new(ecs: aws_sdk_ecs::Client, lambda: aws_sdk_lambda::Client) -> Self {
        Self { ecs, lambda }
    }

    async fn clusters(&self) -> Result<Vec<String>, PortError> {
        let mut all = Vec::new();
        let mut next = None;
        loop {
            let out = self
                .ecs
                .list_clusters()
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| port_error("ecs:ListClusters", e))?;
            all.extend(out.cluster_arns().iter().cloned());
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(all);
            }
        }
    }

    /// Task definition ARN → why it is in use, for services (any desired count) and running tasks;
    /// plus image references running tasks report directly (with their resolved digests).
    async fn ecs_usage(
        &self,
        defs: &mut BTreeMap<String, String>,
        refs: &mut Vec<(String, String)>,
    ) -> Result<(), PortError> {
        for cluster in self.clusters().await? {
            let cluster_name = cluster.rsplit('/').next().unwrap_or(&cluster).to_owned();
            let revisions = self.services_usage(&cluster, &cluster_name, defs).await?;
            self.pinned_digests(&revisions, refs).await?;
            self.tasks_usage(&cluster, &cluster_name, defs, refs)
                .await?;
        }
        Ok(())
    }

    /// The cluster's services (ListServices pages, DescribeServices per 10): their task
    /// definitions, current and deploying, into `defs`; their current revisions, returned.
    async fn services_usage(
        &self,
        cluster: &str,
        cluster_name: &str,
        defs: &mut BTreeMap<String, String>,
    ) -> Result<Vec<(String, String)>, PortError> {
        let mut services = Vec::new();
        let mut next = None;
        loop {
            let out = self
                .ecs
                .list_services()
                .cluster(cluster)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| port_error("ecs:ListServices", e))?;
            services.extend(out.service_arns().iter().cloned());
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        let mut revisions: Vec<(String, String)> = Vec::new();
        for chunk in services.chunks(10) {
            let out = self
                .ecs
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| port_error("ecs:DescribeServices", e))?;
            for s in out.services() {
                let why = format!(
                    "ECS service {cluster_name}/{} (desired {})",
                    s.service_name().unwrap_or_default(),
                    s.desired_count()
                );
                let in_deployments = s.deployments().iter().filter_map(|d| d.task_definition());
                for def in s.task_definition().into_iter().chain(in_deployments) {
                    defs.entry(def.to_owned()).or_insert_with(|| why.clone());
                }
                for revision in s.current_service_revisions() {
                    if let Some(arn) = revision.arn() {
                        revisions.push((arn.to_owned(), why.clone()));
                    }
                }
            }
        }
        Ok(revisions)
    }

    /// What each deployment pinned (DescribeServiceRevisions per 20): ECS resolves a tag to a
    /// digest when it deploys, and a service scaled to 0 still needs that digest, wherever the
    /// tag has moved since. A revision ECS cannot describe pinned a digest nobody can name:
    /// cleanup cannot know what is in use, so it stops (what a failure's reason is, is not
    /// written down).
    async fn pinned_digests(
        &self,
        revisions: &[(String, String)],
        refs: &mut Vec<(String, String)>,
    ) -> Result<(), PortError> {
        for chunk in revisions.chunks(MAX_SERVICE_REVISIONS) {
            let out = self
                .ecs
                .describe_service_revisions()
                .set_service_revision_arns(Some(chunk.iter().map(|(a, _)| a.clone()).collect()))
                .send()
                .await
                .map_err(|e| port_error("ecs:DescribeServiceRevisions", e))?;
            if let Some(failure) = out.failures().first() {
                return Err(PortError::Invalid {
                    operation: "ecs:DescribeServiceRevisions",
                    message: format!(
                        "{}: {}: what that deployment pinned is unknown, so nothing can be \
                         deleted safely",
                        failure.arn().unwrap_or_default(),
                        failure.reason().unwrap_or_default()
                    ),
                });
            }
            for revision in out.service_revisions() {
                let why = chunk
                    .iter()
                    .find(|(a, _)| Some(a.as_str()) == revision.service_revision_arn())
                    .map(|(_, w)| format!("{w}, deployed digest"))
                    .unwrap_or_default();
                for image in revision.container_images() {
                    if let (Some(uri), Some(digest)) = (image.image(), image.image_digest()) {
                        refs.push((by_digest(uri, digest), why.clone()));
                    }
                }
            }
        }
        Ok(())
    }

    /// The cluster's running tasks (ListTasks pages, DescribeTasks per 100): their task
    /// definitions into `defs`, the digests their containers run into `refs`.
    async fn tasks_usage(
        &self,
        cluster: &str,
        cluster_name: &str,
        defs: &mut BTreeMap<String, String>,
        refs: &mut Vec<(String, String)>,
    ) -> Result<(), PortError> {
        let mut tasks = Vec::new();
        let mut next = None;
        loop {
            let out = self
                .ecs
                .list_tasks()
                .cluster(cluster)
                .desired_status(DesiredStatus::Running)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| port_error("ecs:ListTasks", e))?;
            tasks.extend(out.task_arns().iter().cloned());
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        for chunk in tasks.chunks(100) {
            let out = self
                .ecs
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| port_error("ecs:DescribeTasks", e))?;
            for t in out.tasks() {
                let id = t
                    .task_arn()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default();
                let why = format!(
                    "ECS task {cluster_name}/{id} ({})",
                    t.last_status().unwrap_or("PENDING")
                );
                if let Some(def) = t.task_definition_arn() {
                    defs.entry(def.to_owned()).or_insert_with(|| why.clone());
                }
                for c in t.containers() {
                    if let (Some(image), Some(digest)) = (c.image(), c.image_digest()) {
                        refs.push((by_digest(image, digest), why.clone()));
                    }
                }
            }
        }
        Ok(())
    }

    /// The newest `keep` ACTIVE revisions of every task definition family (ready to roll back to).
    async fn recent_revisions(
        &self,
        keep: u32,
        defs: &mut BTreeMap<String, String>,
    ) -> Result<(), PortError> {
        if keep == 0 {
            return Ok(());
        }
        let mut families = Vec::new();
        let mut next = None;
        loop {
            let out = self
                .ecs
                .list_task_definition_families()
                .status(TaskDefinitionFamilyStatus::Active)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| port_error("ecs:ListTaskDefinitionFamilies", e))?;
            families.extend(out.families().iter().cloned());
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        for family in families {
            let out = self
                .ecs
                .list_task_definitions()
                .family_prefix(&family)
                .status(TaskDefinitionStatus::Active)
                .sort(SortOrder::Desc)
                .max_results(i32::try_from(keep.min(100)).unwrap_or(100))
                .send()
                .await
                .map_err(|e| port_error("ecs:ListTaskDefinitions", e))?;
            // familyPrefix is a prefix: keep this family's own revisions only.
            let own = out
                .task_definition_arns()
                .iter()
                .filter(|arn| family_of(arn) == family)
                .take(keep as usize);
            for arn in own {
                defs.entry(arn.clone()).or_insert_with(|| {
                    format!("ECS task definition {family} (newest {keep} revisions)")
                });
            }
        }
        Ok(())
    }

    async fn lambda_usage(&self, refs: &mut Vec<(String, String)>) -> Result<(), PortError> {
        let mut next = None;
        loop {
            let out = self
                .lambda
                .list_functions()
                .set_marker(next)
                .send()
                .await
                .map_err(|e| port_error("lambda:ListFunctions", e))?;
            for f in out
                .functions()
                .iter()
                .filter(|f| f.package_type() == Some(&PackageType::Image))
            {
                let name = f.function_name().unwrap_or_default();
                for version in self.lambda_versions(name).await? {
                    self.lambda_images(name, &version, refs).await?;
                }
            }
            next = out.next_marker().map(str::to_owned);
            if next.is_none() {
                return Ok(());
            }
        }
    }

    /// Every version of the function: ⌈V/50⌉ ListVersionsByFunction.
    async fn lambda_versions(&self, name: &str) -> Result<Vec<String>, PortError> {
        let mut versions = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .lambda
                .list_versions_by_function()
                .function_name(name)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| port_error("lambda:ListVersionsByFunction", e))?;
            versions.extend(
                page.versions()
                    .iter()
                    .filter_map(|v| v.version().map(str::to_owned)),
            );
            marker = page.next_marker().map(str::to_owned);
            if marker.is_none() {
                return Ok(versions);
            }
        }
    }

    /// The images one version runs (1 GetFunction): the resolved digest is what runs, even after
    /// the tag moved, and the URI as written.
    async fn lambda_images(
        &self,
        name: &str,
        version: &str,
        refs: &mut Vec<(String, String)>,
    ) -> Result<(), PortError> {
        let got = self
            .lambda
            .get_function()
            .function_name(name)
            .qualifier(version)
            .send()
            .await
            .map_err(|e| port_error("lambda:GetFunction", e))?;
        let why = format!("Lambda function {name}:{version}");
        if let Some(code) = got.code() {
            for uri in [code.resolved_image_uri(), code.image_uri()]
                .into_iter()
                .flatten()
            {
                refs.push((uri.to_owned(), why.clone()));
            }
        }
        Ok(())
    }
}

/// `repository@digest` for an image reference and the digest it resolved to.
fn by_digest(uri: &str, digest: &str) -> String {
    let repository = uri
        .split_once('@')
        .map_or_else(|| strip_tag(uri), |(r, _)| r);
    format!("{repository}@{digest}")
}

/// `arn:aws:ecs:region:account:task-definition/family:revision` → `family`.
fn family_of(arn: &str) -> &str {
    let tail = arn.rsplit('/').next().unwrap_or(arn);
    tail.rsplit_once(':').map_or(tail, |(family, _)| family)
}

/// `host/repo:tag` → `host/repo` (a ':' before the first '/' is a port, not a tag).
fn strip_tag(image: &str) -> &str {
    match (image.rfind(':'), image.find('/')) {
        (Some(colon), Some(slash)) if colon > slash => &image[..colon],
        _ => image,
    }
}

#[async_trait]
impl Workloads for AccountWorkloads {
    async fn image_references(
        &self,
        keep_revisions: u32,
    ) -> Result<Vec<(String, String)>, PortError> {
        let mut defs: BTreeMap<String, String> = BTreeMap::new();
        let mut refs = Vec::new();
        self.ecs_usage(&mut defs, &mut refs).await?;
        self.recent_revisions(keep_revisions, &mut defs).await?;
        let described: BTreeSet<&String> = defs.keys().collect();
        for arn in described {
            let out = self
                .ecs
                .describe_task_definition()
                .task_definition(arn)
                .send()
                .await
                .map_err(|e| port_error("ecs:DescribeTaskDefinition", e))?;
            let why = &defs[arn];
            for image in out
                .task_definition()
                .map(|t| t.container_definitions())
                .unwrap_or_default()
                .iter()
                .filter_map(|c| c.image())
            {
                refs.push((image.to_owned(), why.clone()));
            }
        }
        self.lambda_usage(&mut refs).await?;
        Ok(refs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_uris_split_as_aws_writes_them() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:123456789012:task-definition/web-api:42"),
            "web-api"
        );
        assert_eq!(
            strip_tag("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api:v1"),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api"
        );
        assert_eq!(strip_tag("localhost:5000/api"), "localhost:5000/api");
    }
}
