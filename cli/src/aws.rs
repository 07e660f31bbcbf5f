//! Where the CLI acts: the configured region, the credentials' account, and the registry an image
//! argument names — with one clear line when the region or the credentials are missing.

use anyhow::Context as _;
use warden_aws::assume_role;
use warden_aws::functions::janitor::caller_account;
use warden_core::names::{AccountId, Region};
use warden_core::operator::image_arg::ImageArg;
use warden_core::policy::Policy;
use warden_core::replicate::Registry;

/// The region the standard configuration names (`AWS_REGION`, the profile); empty counts as none.
/// `or` says what else would do, for the message.
pub(crate) fn configured_region(sdk: &aws_config::SdkConfig, or: &str) -> anyhow::Result<Region> {
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .filter(|r| !r.is_empty())
        .with_context(|| format!("no AWS region: set AWS_REGION{or}"))?;
    Ok(Region::new(region)?)
}

/// The account the credentials act in (sts:GetCallerIdentity).
pub(crate) async fn caller(sdk: &aws_config::SdkConfig) -> anyhow::Result<AccountId> {
    caller_account(sdk).await.map_err(|e| {
        if e.to_string().contains("no credentials found") {
            anyhow::anyhow!(
                "no AWS credentials found (environment, profile, web identity, container or instance metadata)"
            )
        } else {
            anyhow::Error::new(e).context("the credentials' account (sts:GetCallerIdentity)")
        }
    })
}

/// The registry the credentials act in: `account` (`--account`) or the caller's, in the configured
/// region.
pub(crate) async fn registry(
    sdk: &aws_config::SdkConfig,
    account: Option<&str>,
) -> anyhow::Result<Registry> {
    let region = configured_region(sdk, "")?;
    let account = match account {
        Some(a) => AccountId::new(a)?,
        None => caller(sdk)
            .await
            .context("finding the account (or pass --account)")?,
    };
    Ok(Registry { account, region })
}

/// Where an image lives, and how to reach it: the SDK configuration for its region, acting in its
/// account (the credentials' own, or a role the policy names for that account).
pub(crate) struct Place {
    /// The credentials' own configuration, in the image's region (where the state table is).
    pub home: aws_config::SdkConfig,
    /// Acting in the image's account, in its region.
    pub sdk: aws_config::SdkConfig,
    pub account: AccountId,
    pub region: Region,
}

/// The image's registry: the account and region its URI names, else the credentials' account (STS)
/// and the configured region. Another account is reached through the role the policy names for it;
/// without one, with the caller's credentials (as a cross-account pull is).
pub(crate) async fn for_image(
    sdk: &aws_config::SdkConfig,
    image: &ImageArg,
    policy: Option<&Policy>,
) -> anyhow::Result<Place> {
    let region = match &image.region {
        Some(region) => region.clone(),
        None => configured_region(sdk, " (or give the image's full URI)")?,
    };
    let here = sdk
        .to_builder()
        .region(aws_config::Region::new(region.as_str().to_owned()))
        .build();
    let own = caller(&here).await?;
    let account = image.account.clone().unwrap_or_else(|| own.clone());
    let role = policy
        .and_then(|p| p.accounts().iter().find(|a| a.id == account.as_str()))
        .filter(|_| account != own);
    let sdk = match role {
        Some(named) => assume_role(&here, &named.role_arn, named.external_id.as_deref()).await,
        None => here.clone(),
    };
    Ok(Place {
        home: here,
        sdk,
        account,
        region,
    })
}
