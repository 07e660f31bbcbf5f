//! Replication rules a schema cannot say: a destination in another account names the role that
//! acts there (in that account), and no destination is listed twice.

use std::collections::BTreeSet;

use serde_json::Value;

use super::validate::Problem;

pub(super) fn replication_problems(problems: &mut Vec<Problem>, at: &str, section: Option<&Value>) {
    let destinations = section
        .and_then(|s| s.get("destinations"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    for (j, destination) in destinations.iter().enumerate() {
        let path = format!("{at}.replication.destinations[{j}]");
        let field = |name: &str| destination.get(name).and_then(Value::as_str);
        let account = field("account");
        let role_account = field("role_arn").and_then(|arn| arn.split(':').nth(4));
        match (account, role_account) {
            (Some(account), None) => problems.push(Problem {
                path: format!("{path}.role_arn"),
                message: format!(
                    "a copy to account {account} needs the role to assume there (role_arn)"
                ),
            }),
            (Some(account), Some(role)) if role != account => problems.push(Problem {
                path: format!("{path}.role_arn"),
                message: format!("the role must be in account {account}, where it acts"),
            }),
            (None, Some(_)) => problems.push(Problem {
                path: format!("{path}.account"),
                message: "role_arn without account: name the account the role acts in".into(),
            }),
            _ => {}
        }
        if field("external_id").is_some() && role_account.is_none() {
            problems.push(Problem {
                path: format!("{path}.external_id"),
                message: "external_id is only used with role_arn".into(),
            });
        }
        let key = (
            field("region").unwrap_or_default().to_owned(),
            account.unwrap_or_default().to_owned(),
            field("repository").unwrap_or_default().to_owned(),
        );
        if !seen.insert(key) {
            problems.push(Problem {
                path,
                message: "this destination is listed twice".into(),
            });
        }
    }
}
