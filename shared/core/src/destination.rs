//! Where images are copied: the registry a function runs in and a replication destination as
//! resolved from the policy. Shared by the replicator's decision and the copying port.

use serde::Serialize;

use crate::names::{AccountId, Region, RepositoryName};

/// The registry the replicator runs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registry {
    pub account: AccountId,
    pub region: Region,
}

/// One destination, resolved: where the copy goes and how to act there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Target {
    pub region: Region,
    /// `None`: the replicator's own account.
    pub account: Option<AccountId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Never shown: it guards the role like a shared secret.
    #[serde(skip)]
    pub external_id: Option<String>,
    pub repository: RepositoryName,
}

impl Target {
    /// `account/region/repository`, as reports and logs name a destination.
    pub fn label(&self, own: &AccountId) -> String {
        let account = self.account.as_ref().unwrap_or(own);
        format!("{account}/{}/{}", self.region, self.repository)
    }

    pub(crate) fn is(&self, here: &Registry, repository: &RepositoryName) -> bool {
        self.region == here.region
            && self.account.as_ref().is_none_or(|a| *a == here.account)
            && self.repository == *repository
    }
}
