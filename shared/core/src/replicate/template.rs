//! Repository creation templates (ECR User Guide, "Private repository creation templates"): the
//! settings a registry gives the repositories created in it by replication. The replicator creates
//! a missing destination repository the way ECR's own replication would there: with the
//! destination registry's template for `REPLICATION` whose prefix covers the repository's name,
//! else like its source (image.rs, [`NewRepository`]).
//!
//! Matching, as the CreateRepositoryCreationTemplate reference words it: a prefix `prod` covers
//! repositories beginning with `prod/` ("there is always an assumed `/` applied to the end of the
//! prefix"); `ROOT` covers "all repositories in your registry that don't have an associated
//! creation template". Where two prefixes cover a name (`prod` and `prod/team`) the reference is
//! silent; the longer one is taken, as for pull through cache rules (the more specific namespace).

use serde::Serialize;

use super::image::{Encryption, NewRepository};
use crate::mutability::TagMutability;

/// The template that covers every repository no other template covers.
pub const ROOT: &str = "ROOT";

/// The creation scenario a template names in `appliedFor` for repositories made by replication.
pub const REPLICATION: &str = "REPLICATION";

/// One repository creation template, as DescribeRepositoryCreationTemplates gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreationTemplate {
    /// `ROOT` or a namespace without its trailing `/` (`prod`, `prod/team`).
    pub prefix: String,
    /// The scenarios it applies to (`REPLICATION`, `PULL_THROUGH_CACHE`, `CREATE_ON_PUSH`).
    pub applied_for: Vec<String>,
    pub mutability: Option<TagMutability>,
    pub encryption: Option<Encryption>,
    pub resource_tags: Vec<(String, String)>,
    /// The lifecycle policy text set on each repository it creates.
    pub lifecycle_policy: Option<String>,
    /// The repository policy text set on each repository it creates.
    pub repository_policy: Option<String>,
}

impl CreationTemplate {
    /// How many characters of `repository` the prefix covers: `None` when it does not cover it,
    /// 0 for `ROOT`.
    fn covers(&self, repository: &str) -> Option<usize> {
        if self.prefix == ROOT {
            return Some(0);
        }
        let namespace = self.prefix.trim_end_matches('/');
        (!namespace.is_empty()
            && repository.len() > namespace.len()
            && repository.starts_with(namespace)
            && repository.as_bytes()[namespace.len()] == b'/')
            .then_some(namespace.len())
    }
}

/// The template for `REPLICATION` that applies to a repository named `repository`: the longest
/// prefix covering the name, else `ROOT`; `None` when none applies.
pub fn for_replication<'a>(
    templates: &'a [CreationTemplate],
    repository: &str,
) -> Option<&'a CreationTemplate> {
    templates
        .iter()
        .filter(|t| t.applied_for.iter().any(|s| s == REPLICATION))
        .filter_map(|t| t.covers(repository).map(|n| (n, t)))
        .max_by_key(|(n, _)| *n)
        .map(|(_, t)| t)
}

/// The settings a created destination gets. A template's settings replace the source's where the
/// template states them; what it leaves out (scan on push: templates have no such setting) stays
/// the source's. The policy's tag mutability for the destination name is over both (ecr-warden's
/// own guard depends on it).
pub fn new_repository(
    source: Option<NewRepository>,
    template: Option<&CreationTemplate>,
    policy: Option<&TagMutability>,
) -> NewRepository {
    let mut settings = source.unwrap_or_default();
    settings.encryption = settings.encryption.map(|e| e.for_destination());
    if let Some(template) = template {
        settings.template = Some(template.prefix.clone());
        if let Some(mutability) = &template.mutability {
            settings.mutability = Some(mutability.clone());
        }
        if let Some(encryption) = &template.encryption {
            // The destination registry's own choice: its key is kept.
            settings.encryption = Some(encryption.clone());
        }
        settings.resource_tags = template.resource_tags.clone();
        settings.lifecycle_policy = template.lifecycle_policy.clone();
        settings.repository_policy = template.repository_policy.clone();
    }
    if let Some(policy) = policy {
        settings.mutability = Some(policy.clone());
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutability::MutabilityMode;

    fn template(prefix: &str, applied_for: &[&str]) -> CreationTemplate {
        CreationTemplate {
            prefix: prefix.into(),
            applied_for: applied_for.iter().map(|s| s.to_string()).collect(),
            ..CreationTemplate::default()
        }
    }

    fn chosen<'a>(templates: &'a [CreationTemplate], repository: &str) -> Option<&'a str> {
        for_replication(templates, repository).map(|t| t.prefix.as_str())
    }

    #[test]
    fn a_prefix_has_an_assumed_slash_at_its_end() {
        let templates = [template("prod", &[REPLICATION])];
        assert_eq!(chosen(&templates, "prod/api"), Some("prod"));
        assert_eq!(chosen(&templates, "prod/team/api"), Some("prod"));
        assert_eq!(chosen(&templates, "production/api"), None);
        assert_eq!(chosen(&templates, "prod"), None);
    }

    #[test]
    fn root_applies_to_repositories_no_other_template_covers() {
        let templates = [
            template(ROOT, &[REPLICATION]),
            template("prod", &[REPLICATION]),
        ];
        assert_eq!(chosen(&templates, "dev/api"), Some(ROOT));
        assert_eq!(chosen(&templates, "api"), Some(ROOT));
        assert_eq!(chosen(&templates, "prod/api"), Some("prod"));
    }

    #[test]
    fn the_more_specific_namespace_wins() {
        let templates = [
            template("prod", &[REPLICATION]),
            template("prod/team", &[REPLICATION]),
        ];
        assert_eq!(chosen(&templates, "prod/team/api"), Some("prod/team"));
        assert_eq!(chosen(&templates, "prod/other/api"), Some("prod"));
    }

    #[test]
    fn a_template_for_another_scenario_does_not_apply_to_replication() {
        let templates = [
            template("prod", &["PULL_THROUGH_CACHE"]),
            template(ROOT, &["CREATE_ON_PUSH", REPLICATION]),
        ];
        assert_eq!(chosen(&templates, "prod/api"), Some(ROOT));
        assert_eq!(chosen(&templates[..1], "prod/api"), None);
    }

    #[test]
    fn a_template_replaces_what_it_states_and_the_policy_is_over_it() {
        let source = NewRepository {
            mutability: Some(TagMutability {
                mode: MutabilityMode::Mutable,
                exclusions: vec![],
            }),
            scan_on_push: true,
            encryption: Some(Encryption {
                kind: "KMS".into(),
                kms_key: Some("arn:aws:kms:us-east-1:1:key/source".into()),
            }),
            ..NewRepository::default()
        };
        let immutable = TagMutability {
            mode: MutabilityMode::Immutable,
            exclusions: vec![],
        };
        let template = CreationTemplate {
            mutability: Some(immutable.clone()),
            lifecycle_policy: Some("{\"rules\":[]}".into()),
            resource_tags: vec![("team".into(), "a".into())],
            ..template("prod", &[REPLICATION])
        };
        let made = new_repository(Some(source.clone()), Some(&template), None);
        assert_eq!(made.mutability, Some(immutable));
        assert!(
            made.scan_on_push,
            "templates have no scan setting: the source's stays"
        );
        assert_eq!(
            made.encryption,
            Some(Encryption {
                kind: "KMS".into(),
                kms_key: None
            }),
            "the template states no encryption: the source's kind, ECR's managed key"
        );
        assert_eq!(made.template.as_deref(), Some("prod"));
        assert_eq!(made.lifecycle_policy.as_deref(), Some("{\"rules\":[]}"));
        assert_eq!(made.resource_tags, vec![("team".into(), "a".into())]);
        let mutable = TagMutability {
            mode: MutabilityMode::Mutable,
            exclusions: vec![],
        };
        let made = new_repository(Some(source), Some(&template), Some(&mutable));
        assert_eq!(made.mutability, Some(mutable));
    }

    #[test]
    fn a_templates_key_is_the_destinations_own_and_kept() {
        let key = Encryption {
            kind: "KMS".into(),
            kms_key: Some("arn:aws:kms:eu-west-1:2:key/dest".into()),
        };
        let template = CreationTemplate {
            encryption: Some(key.clone()),
            ..template(ROOT, &[REPLICATION])
        };
        assert_eq!(
            new_repository(None, Some(&template), None).encryption,
            Some(key)
        );
    }
}
