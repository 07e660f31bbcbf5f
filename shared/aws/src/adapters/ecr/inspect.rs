//! What an operator asks of one image (`warden gate`, `warden doctor`): does the repository exist,
//! what ECR says of the image — tags, storage class, scan status and counts — the repository
//! policy, and the pull through cache rule for a name. Read-only; a missing repository, image or policy is an answer, not an error.

use aws_sdk_ecr::operation::get_repository_policy::GetRepositoryPolicyError;
use warden_core::names::{AccountId, RepositoryName};
use warden_core::operator::doctor::PullThroughRule;
use warden_core::ports::PortError;

use super::{EcrRegistry, invalid};
use crate::runtime::errors::port_error;

impl EcrRegistry {
    /// The registry of `account` (ECR's `registryId`), reached with these credentials: another
    /// account's repository answers when its repository policy lets them in, as a pull would.
    pub fn in_registry(mut self, account: &AccountId) -> Self {
        self.registry_id = Some(account.as_str().to_owned());
        self
    }

    /// Whether the repository exists. One DescribeRepositories.
    pub async fn repository_exists(&self, repository: &RepositoryName) -> Result<bool, PortError> {
        Ok(self.repository_setup(repository).await?.is_some())
    }

    /// The repository policy's JSON text, `None` when the repository has none. One
    /// GetRepositoryPolicy.
    pub async fn repository_policy(
        &self,
        repository: &RepositoryName,
    ) -> Result<Option<String>, PortError> {
        const OP: &str = "ecr:GetRepositoryPolicy";
        match self
            .client
            .get_repository_policy()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository.as_str())
            .send()
            .await
        {
            Ok(out) => out
                .policy_text()
                .map(|t| Some(t.to_owned()))
                .ok_or_else(|| invalid(OP, "a policy without text")),
            Err(e)
                if e.as_service_error().is_some_and(
                    GetRepositoryPolicyError::is_repository_policy_not_found_exception,
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(port_error(OP, e)),
        }
    }

    /// The pull through cache rule that caches `repository` (the longest prefix it starts with,
    /// followed by `/`), if any. DescribePullThroughCacheRules pages (1000 rules each).
    pub async fn pull_through_rule(
        &self,
        repository: &RepositoryName,
    ) -> Result<Option<PullThroughRule>, PortError> {
        const OP: &str = "ecr:DescribePullThroughCacheRules";
        let mut best: Option<PullThroughRule> = None;
        let mut next = None;
        loop {
            let out = self
                .client
                .describe_pull_through_cache_rules()
                .set_registry_id(self.registry_id.clone())
                .max_results(1000)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| port_error(OP, e))?;
            for rule in out.pull_through_cache_rules() {
                let candidate = PullThroughRule {
                    prefix: rule.ecr_repository_prefix().unwrap_or_default().to_owned(),
                    upstream_url: rule.upstream_registry_url().unwrap_or_default().to_owned(),
                };
                let longer = best
                    .as_ref()
                    .is_none_or(|b| candidate.prefix.len() > b.prefix.len());
                if candidate.caches(repository.as_str()) && longer {
                    best = Some(candidate);
                }
            }
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(best);
            }
        }
    }
}
