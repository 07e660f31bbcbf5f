//! The fan-out function assembled (docs/organization.md, "The engine contract"): the state
//! machine's planner and summary.
//!
//! Environment: `WARDEN_FANOUT_BUCKET` (lanes and results, required), `WARDEN_TOPIC_ARN` (the
//! summary), `WARDEN_FANOUT_SHARD_SIZE` (repositories per shard, default 50), `WARDEN_FANOUT_LANES`
//! (shards of one account-region at once, default 2), `WARDEN_FANOUT_CALLS_PER_SECOND` (ECR calls
//! per second per account-region, default 20), and the policy. It plans its own region: one state
//! machine per region, as the workers act in their own region.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use serde_json::Value;
use warden_core::fanout::{
    self, AccountRegion, ApiBudget, Job, Limits, Place, PlanRequest, Request, SummarizeRequest,
};
use warden_core::names::{AccountId, Region};
use warden_core::policy::Policy;
use warden_core::ports::PortError;

use crate::ApiCalls;
use crate::adapters::ecr::EcrRegistry;
use crate::adapters::runs::{S3RunFiles, SnsRunSummaries};
use crate::runtime::config::assume_role;
use crate::runtime::env::{self, ConfigError};
use crate::runtime::lambda::{Function, Handled, Invocation, InvocationError, Payload, frame};

#[derive(Debug, Clone)]
pub struct FanOutConfig {
    pub bucket: String,
    pub topic_arn: Option<String>,
    pub shard_size: usize,
    pub budget: ApiBudget,
}

impl FanOutConfig {
    /// The configuration from the environment; a size, lane count or rate of 0 (that could plan
    /// nothing) fails init, naming the variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        const SIZE: &str = "a whole number of repositories, at least 1";
        const LANES: &str = "a whole number of lanes, at least 1";
        const RATE: &str = "a whole number of calls per second, at least 1";
        Ok(Self {
            bucket: env::required("WARDEN_FANOUT_BUCKET")?,
            topic_arn: env::optional("WARDEN_TOPIC_ARN"),
            shard_size: positive("WARDEN_FANOUT_SHARD_SIZE", 50, SIZE)?,
            budget: ApiBudget {
                lanes: positive("WARDEN_FANOUT_LANES", 2, LANES)?,
                calls_per_second: positive("WARDEN_FANOUT_CALLS_PER_SECOND", 20, RATE)?,
            },
        })
    }
}

/// A whole number of at least 1 from `name`, `default` when unset.
fn positive<T>(name: &'static str, default: T, expected: &'static str) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
{
    let value = env::number(name, default, expected)?;
    if value < T::from(1) {
        return Err(ConfigError::Invalid {
            name,
            value: "0".into(),
            expected,
        });
    }
    Ok(value)
}

pub struct FanOut {
    region: Option<Region>,
    here: EcrRegistry,
    /// The accounts the policy names, each listed through its role.
    named: Vec<(AccountId, EcrRegistry)>,
    files: S3RunFiles,
    summaries: SnsRunSummaries,
    calls: ApiCalls,
    policy: Policy,
    limits: Limits,
}

impl FanOut {
    /// Its adapters, counting into `calls`: ECR here (and, with [`FanOut::with_named_accounts`],
    /// in each named account), S3 (the run bucket), SNS (the summary).
    pub fn new(sdk: &SdkConfig, calls: &ApiCalls, policy: Policy, config: FanOutConfig) -> Self {
        Self {
            region: sdk.region().and_then(|r| Region::new(r.as_ref()).ok()),
            here: EcrRegistry::from_sdk(sdk, calls),
            named: Vec::new(),
            files: S3RunFiles::from_sdk(sdk, calls, config.bucket),
            summaries: SnsRunSummaries::from_sdk(sdk, calls, config.topic_arn),
            calls: calls.clone(),
            policy,
            limits: Limits {
                shard_size: config.shard_size,
                default_budget: config.budget,
                budgets: BTreeMap::new(),
            },
        }
    }

    /// List the accounts the policy names too, through their roles (credentials on first use). A
    /// named account whose id is not 12 digits fails init, naming it.
    pub async fn with_named_accounts(mut self, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        for account in self.policy.accounts().to_vec() {
            let id = AccountId::new(account.id.as_str()).map_err(|_| ConfigError::Invalid {
                name: "the policy's accounts[].id",
                value: account.id.clone(),
                expected: "a 12-digit account id",
            })?;
            let assumed = assume_role(sdk, &account.role_arn, account.external_id.as_deref()).await;
            self.named
                .push((id, EcrRegistry::from_sdk(&assumed, &self.calls)));
        }
        Ok(self)
    }

    /// The places a job lists: this account, and for a cleanup or a sweep every named account
    /// (janitor and tag-guard act there through their roles; the replicator copies from its own
    /// registry only).
    fn places(&self, job: Job, own: AccountId, region: &Region) -> Vec<Place<'_>> {
        let at = |account: AccountId| AccountRegion {
            account,
            region: region.clone(),
        };
        let mut places = vec![Place {
            at: at(own),
            registry: &self.here,
        }];
        if job != Job::Backfill {
            places.extend(self.named.iter().map(|(id, registry)| Place {
                at: at(id.clone()),
                registry,
            }));
        }
        places
    }

    async fn plan(&self, request: &PlanRequest, own: Option<&str>) -> Result<Handled, PortError> {
        let unknown = |what: &str| PortError::Invalid {
            operation: "fanout:plan",
            message: format!(
                "the function's own {what} is unknown: it plans the account and region it runs in"
            ),
        };
        let own = own.ok_or_else(|| unknown("account (no function ARN)"))?;
        let own = AccountId::new(own).map_err(|_| unknown("account"))?;
        let region = self.region.as_ref().ok_or_else(|| unknown("region"))?;
        let places = self.places(request.job, own, region);
        let planned =
            fanout::plan_run(request, &self.policy, &places, &self.limits, &self.files).await?;
        let response = serde_json::to_value(&planned).unwrap_or(Value::Null);
        Ok(Handled {
            decision: format!(
                "{} {}: {} repositories of {} accounts in {} shards on {} lanes",
                planned.job,
                planned.run,
                planned.repositories,
                planned.accounts,
                planned.shards,
                planned.lanes
            ),
            outcomes: BTreeMap::from([("shards", planned.shards), ("lanes", planned.lanes)]),
            response,
            ..Handled::default()
        })
    }

    async fn summarize(&self, request: &SummarizeRequest) -> Result<Handled, PortError> {
        let summary = fanout::summarize_run(request, &self.files, &self.summaries).await?;
        let failed: u64 = summary.accounts.values().map(|a| a.failed).sum();
        Ok(Handled {
            decision: format!(
                "{} {}: {} lanes succeeded, {} failed; {failed} failures reported",
                summary.job, summary.run, summary.lanes_succeeded, summary.lanes_failed
            ),
            outcomes: BTreeMap::from([
                ("lanes_succeeded", summary.lanes_succeeded),
                ("lanes_failed", summary.lanes_failed),
            ]),
            response: serde_json::to_value(&summary).unwrap_or(Value::Null),
            ..Handled::default()
        })
    }
}

/// The state machine's `{"plan": ...}` or `{"summarize": ...}`.
impl Function for FanOut {
    type Input = Request;

    async fn invoke(
        &self,
        payload: Payload<Request>,
        invocation: Invocation,
    ) -> Result<Value, InvocationError> {
        let own = invocation.account();
        frame(&self.calls, payload, None, None, |request| async move {
            match request {
                Request::Plan(plan) => self.plan(&plan, own).await,
                Request::Summarize(summarize) => self.summarize(&summarize).await,
            }
        })
        .await
    }
}
