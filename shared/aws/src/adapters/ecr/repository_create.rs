//! The repository a copy creates at its destination: how the source is set up (DescribeRepositories),
//! the destination registry's creation templates (DescribeRepositoryCreationTemplates), and the
//! creation itself (CreateRepository, then the template's lifecycle and repository policies).

use aws_sdk_ecr::operation::create_repository::CreateRepositoryError;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    RepositoryCreationTemplate, Tag as ResourceTag,
};
use warden_core::mutability::{MutabilityMode, TagMutability};
use warden_core::names::{ExclusionFilter, RepositoryName};
use warden_core::ports::{LifecycleControl, PortError};
use warden_core::replicate::image::{Encryption, NewRepository};
use warden_core::replicate::template::CreationTemplate;

use super::repositories::exclusion_filters;
use super::{EcrRegistry, invalid};
use crate::runtime::errors::port_error;

/// DescribeRepositoryCreationTemplates' largest page (its reference: 1 to 1000).
const TEMPLATE_PAGE: i32 = 1000;

impl EcrRegistry {
    /// Create the repository as `settings` say (tag mutability and its exclusions, scan on push,
    /// encryption, resource tags), then set the template's lifecycle policy and repository policy
    /// on it. One CreateRepository, +1 PutLifecyclePolicy, +1 SetRepositoryPolicy when the
    /// settings carry them. A repository that exists already is left as it is (it is not ours
    /// to reconfigure): no policy call. A policy that cannot be set on the repository just
    /// created is returned as a problem naming it — never dropped: a later copy finds the
    /// repository and would not try again.
    pub async fn create_repository_with(
        &self,
        repository: &RepositoryName,
        settings: &NewRepository,
    ) -> Result<Vec<String>, PortError> {
        const OP: &str = "ecr:CreateRepository";
        let mut create = self
            .client
            .create_repository()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(settings.scan_on_push)
                    .build(),
            );
        if let Some(setting) = &settings.mutability {
            create = create.image_tag_mutability(ImageTagMutability::from(setting.mode.as_str()));
            let filters = exclusion_filters(setting, OP)?;
            if !filters.is_empty() {
                create = create.set_image_tag_mutability_exclusion_filters(Some(filters));
            }
        }
        if let Some(encryption) = &settings.encryption {
            create = create.encryption_configuration(
                EncryptionConfiguration::builder()
                    .encryption_type(EncryptionType::from(encryption.kind.as_str()))
                    .set_kms_key(encryption.kms_key.clone())
                    .build()
                    .map_err(|e| invalid(OP, e))?,
            );
        }
        for (key, value) in &settings.resource_tags {
            create = create.tags(
                ResourceTag::builder()
                    .key(key)
                    .value(value)
                    .build()
                    .map_err(|e| invalid(OP, e))?,
            );
        }
        match create.send().await {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(CreateRepositoryError::RepositoryAlreadyExistsException(_))
                ) =>
            {
                return Ok(Vec::new());
            }
            Err(e) => return Err(port_error(OP, e)),
        }
        Ok(self.set_template_policies(repository, settings).await)
    }

    /// The template's lifecycle policy and repository policy, on a repository just created; what
    /// could not be set, as problems.
    async fn set_template_policies(
        &self,
        repository: &RepositoryName,
        settings: &NewRepository,
    ) -> Vec<String> {
        let template = settings.template.as_deref().unwrap_or_default();
        let unset = |what: &str, e: PortError| {
            format!(
                "{repository} was created, but the {what} of its creation template `{template}` was not set ({e}): set it by hand"
            )
        };
        let mut problems = Vec::new();
        if let Some(text) = &settings.lifecycle_policy
            && let Err(e) = LifecycleControl::put_lifecycle_policy(self, repository, text).await
        {
            problems.push(unset("lifecycle policy", e));
        }
        if let Some(text) = &settings.repository_policy
            && let Err(e) = self
                .client
                .set_repository_policy()
                .set_registry_id(self.registry_id.clone())
                .repository_name(repository.as_str())
                .policy_text(text)
                .send()
                .await
        {
            problems.push(unset(
                "repository policy",
                port_error("ecr:SetRepositoryPolicy", e),
            ));
        }
        problems
    }

    /// The registry's repository creation templates, every page. ⌈T/1000⌉
    /// DescribeRepositoryCreationTemplates.
    pub async fn creation_templates(&self) -> Result<Vec<CreationTemplate>, PortError> {
        const OP: &str = "ecr:DescribeRepositoryCreationTemplates";
        let mut found = Vec::new();
        let mut next = None;
        loop {
            let out = self
                .client
                .describe_repository_creation_templates()
                .max_results(TEMPLATE_PAGE)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| port_error(OP, e))?;
            for template in out.repository_creation_templates() {
                found.push(creation_template(template)?);
            }
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(found);
            }
        }
    }

    /// How `repository` is set up, for a copy of it created elsewhere (`None`: it is gone). One
    /// DescribeRepositories.
    pub async fn repository_setup(
        &self,
        repository: &RepositoryName,
    ) -> Result<Option<NewRepository>, PortError> {
        const OP: &str = "ecr:DescribeRepositories";
        let out = match self
            .client
            .describe_repositories()
            .set_registry_id(self.registry_id.clone())
            .repository_names(repository.as_str())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => match port_error(OP, e) {
                PortError::NotFound { .. } => return Ok(None),
                other => return Err(other),
            },
        };
        let Some(repo) = out.repositories().first() else {
            return Ok(None);
        };
        let state = super::repositories::repository_state(repo)?;
        Ok(Some(NewRepository {
            mutability: Some(state.mutability),
            scan_on_push: repo
                .image_scanning_configuration()
                .is_some_and(|c| c.scan_on_push()),
            encryption: repo.encryption_configuration().map(|e| Encryption {
                kind: e.encryption_type().as_str().to_owned(),
                kms_key: e.kms_key().map(str::to_owned),
            }),
            ..NewRepository::default()
        }))
    }
}

/// One template as the core reads it; a template ECR returns that ecr-warden cannot read (an
/// unknown mutability mode, a bad exclusion filter) is an error, not a template half applied.
fn creation_template(template: &RepositoryCreationTemplate) -> Result<CreationTemplate, PortError> {
    const OP: &str = "ecr:DescribeRepositoryCreationTemplates";
    let prefix = template.prefix().unwrap_or_default().to_owned();
    let mutability = match template.image_tag_mutability() {
        None => None,
        Some(mode) => Some(TagMutability {
            mode: MutabilityMode::parse(mode.as_str()).ok_or_else(|| {
                invalid(
                    OP,
                    format!("template {prefix}: tag mutability {}", mode.as_str()),
                )
            })?,
            exclusions: template
                .image_tag_mutability_exclusion_filters()
                .iter()
                .map(|f| ExclusionFilter::new(f.filter()).map_err(|e| invalid(OP, e)))
                .collect::<Result<_, _>>()?,
        }),
    };
    Ok(CreationTemplate {
        applied_for: template
            .applied_for()
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        mutability,
        encryption: template.encryption_configuration().map(|e| Encryption {
            kind: e.encryption_type().as_str().to_owned(),
            kms_key: e.kms_key().map(str::to_owned),
        }),
        resource_tags: template
            .resource_tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect(),
        lifecycle_policy: template.lifecycle_policy().map(str::to_owned),
        repository_policy: template.repository_policy().map(str::to_owned),
        prefix,
    })
}
