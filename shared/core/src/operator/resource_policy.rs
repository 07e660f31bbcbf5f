//! What an ECR repository policy (a resource-based IAM policy) says about one principal and one
//! action, following IAM's policy evaluation logic as far as the policy alone decides it:
//! - an explicit `Deny` that applies overrides any `Allow` ("IAM JSON policy elements: Effect";
//!   "Policy evaluation logic": an explicit deny in any policy overrides an allow);
//! - a statement applies when its `Principal` names the caller (`"*"`, `{"AWS": "*"}`, the
//!   account — as `"<id>"` or `arn:aws:iam::<id>:root`, which stands for every principal of that
//!   account — or the caller's own ARN; an assumed-role session is its role), or its `NotPrincipal`
//!   does not; and its `Action` matches (case-insensitive, `*` and `?` wildcards), or its
//!   `NotAction` does not;
//! - a `Condition` depends on the request; such a statement is reported as conditional.
//!
//! For a principal in the registry's own account, no statement leaves the decision to the
//! principal's IAM policies; for another account's principal the repository policy must allow it
//! ("Private repository policies" in the ECR User Guide).

use serde::Serialize;
use serde_json::Value;

/// A principal, by ARN (`arn:aws:iam::<account>:role/…`, `…:user/…`, `…:root`, or an assumed-role
/// session `arn:aws:sts::<account>:assumed-role/<role>/<session>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    arn: String,
    account: String,
    /// For an assumed-role session: the role's ARN (what policies name).
    role: Option<String>,
}

impl Principal {
    pub fn parse(arn: &str) -> Result<Self, String> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, partition, service, _region, account, resource] = parts.as_slice() else {
            return Err(format!(
                "{arn}: not an IAM principal ARN (arn:aws:iam::<account>:role/<name>)"
            ));
        };
        let twelve_digits = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
        if *prefix != "arn" || !matches!(*service, "iam" | "sts") || !twelve_digits {
            return Err(format!(
                "{arn}: not an IAM principal ARN (arn:aws:iam::<account>:role/<name>)"
            ));
        }
        let role = resource
            .strip_prefix("assumed-role/")
            .and_then(|r| r.split('/').next())
            .map(|role| format!("arn:{partition}:iam::{account}:role/{role}"));
        Ok(Self {
            arn: arn.to_owned(),
            account: (*account).to_owned(),
            role,
        })
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn arn(&self) -> &str {
        &self.arn
    }

    fn is_named_by(&self, value: &str) -> bool {
        value == "*"
            || value == self.account
            || value.ends_with(&format!(":iam::{}:root", self.account))
            || value == self.arn
            || self.role.as_deref() == Some(value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// A `Deny` statement applies (`conditional`: only when its Condition holds).
    Denied {
        sid: Option<String>,
        conditional: bool,
    },
    /// An `Allow` statement applies and no `Deny` does.
    Allowed {
        sid: Option<String>,
        conditional: bool,
    },
    /// No statement applies: an implicit deny for another account's principal; for the registry's
    /// own account, its IAM policies decide.
    NoStatement,
}

/// Evaluate `policy` (the repository policy's JSON text) for `principal` calling `action`.
pub fn evaluate(policy: &str, principal: &Principal, action: &str) -> Result<Decision, String> {
    let doc: Value = serde_json::from_str(policy)
        .map_err(|e| format!("the repository policy is not JSON: {e}"))?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => return Err("the repository policy has no Statement".into()),
    };
    let mut allowed = None;
    for statement in &statements {
        if !applies(statement, principal, action)? {
            continue;
        }
        let sid = statement
            .get("Sid")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let conditional = statement.get("Condition").is_some();
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return Ok(Decision::Denied { sid, conditional }),
            Some("Allow") => {
                // An unconditional Allow is the stronger answer to report.
                if allowed.as_ref().is_none_or(|a| {
                    matches!(
                        a,
                        Decision::Allowed {
                            conditional: true,
                            ..
                        }
                    )
                }) {
                    allowed = Some(Decision::Allowed { sid, conditional });
                }
            }
            other => {
                return Err(format!(
                    "a statement's Effect is {other:?}, not Allow or Deny"
                ));
            }
        }
    }
    Ok(allowed.unwrap_or(Decision::NoStatement))
}

fn applies(statement: &Value, principal: &Principal, action: &str) -> Result<bool, String> {
    let principal_ok = match (statement.get("Principal"), statement.get("NotPrincipal")) {
        (Some(p), _) => names(p, principal),
        (None, Some(p)) => !names(p, principal),
        (None, None) => return Err("a statement has neither Principal nor NotPrincipal".into()),
    };
    let action_ok = match (statement.get("Action"), statement.get("NotAction")) {
        (Some(a), _) => strings(a).iter().any(|p| wildcard(p, action)),
        (None, Some(a)) => !strings(a).iter().any(|p| wildcard(p, action)),
        (None, None) => return Err("a statement has neither Action nor NotAction".into()),
    };
    Ok(principal_ok && action_ok)
}

/// `"*"`, or `{"AWS": …}` naming the principal (`Service`/`Federated` entries never name an IAM
/// principal).
fn names(value: &Value, principal: &Principal) -> bool {
    match value {
        Value::String(s) => s == "*",
        Value::Object(map) => map
            .get("AWS")
            .is_some_and(|aws| strings(aws).iter().any(|v| principal.is_named_by(v))),
        _ => false,
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// IAM's action matching: case-insensitive, `*` any run of characters, `?` one character.
fn wildcard(pattern: &str, action: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let a: Vec<char> = action.to_ascii_lowercase().chars().collect();
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < a.len() {
        if i < p.len() && (p[i] == '?' || p[i] == a[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const CI: &str = "arn:aws:iam::210987654321:role/ci";

    fn ci() -> Principal {
        Principal::parse(CI).unwrap()
    }

    fn policy(statements: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
    }

    const ALLOW_ACCOUNT: &str = r#"{"Sid":"pull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}"#;

    #[test]
    fn an_explicit_deny_overrides_an_allow() {
        let p = policy(&format!(
            r#"{ALLOW_ACCOUNT},{{"Sid":"no-ci","Effect":"Deny","Principal":{{"AWS":"{CI}"}},"Action":"ecr:*"}}"#
        ));
        assert_eq!(
            evaluate(&p, &ci(), "ecr:BatchGetImage").unwrap(),
            Decision::Denied {
                sid: Some("no-ci".into()),
                conditional: false
            }
        );
    }

    #[test]
    fn the_account_root_names_every_principal_of_that_account() {
        let p = policy(ALLOW_ACCOUNT);
        assert!(matches!(
            evaluate(&p, &ci(), "ecr:BatchGetImage").unwrap(),
            Decision::Allowed { .. }
        ));
        let other = Principal::parse("arn:aws:iam::111122223333:role/ci").unwrap();
        assert_eq!(
            evaluate(&p, &other, "ecr:BatchGetImage").unwrap(),
            Decision::NoStatement
        );
    }

    #[test]
    fn an_assumed_role_session_is_named_by_its_role() {
        let p = policy(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":["{CI}"]}},"Action":"ecr:Batch*"}}"#
        ));
        let session =
            Principal::parse("arn:aws:sts::210987654321:assumed-role/ci/build-7").unwrap();
        assert!(matches!(
            evaluate(&p, &session, "ecr:BatchGetImage").unwrap(),
            Decision::Allowed { .. }
        ));
        assert_eq!(
            evaluate(&p, &session, "ecr:GetDownloadUrlForLayer").unwrap(),
            Decision::NoStatement
        );
    }

    #[test]
    fn action_matching_is_case_insensitive_with_wildcards() {
        assert!(wildcard("ecr:*", "ecr:BatchGetImage"));
        assert!(wildcard("ECR:batch?etimage", "ecr:BatchGetImage"));
        assert!(wildcard("ecr:*Layer*", "ecr:GetDownloadUrlForLayer"));
        assert!(!wildcard("ecr:Put*", "ecr:BatchGetImage"));
        assert!(!wildcard("ecr:BatchGetImage", "ecr:BatchGetImages"));
    }

    #[test]
    fn not_principal_and_not_action_apply_to_what_they_do_not_name() {
        let p = policy(&format!(
            r#"{{"Sid":"only-ci","Effect":"Deny","NotPrincipal":{{"AWS":"{CI}"}},"NotAction":"ecr:Describe*"}}"#
        ));
        assert_eq!(
            evaluate(&p, &ci(), "ecr:BatchGetImage").unwrap(),
            Decision::NoStatement
        );
        let other = Principal::parse("arn:aws:iam::210987654321:user/dev").unwrap();
        assert!(matches!(
            evaluate(&p, &other, "ecr:BatchGetImage").unwrap(),
            Decision::Denied { .. }
        ));
        assert_eq!(
            evaluate(&p, &other, "ecr:DescribeImages").unwrap(),
            Decision::NoStatement
        );
    }

    #[test]
    fn a_statement_with_a_condition_is_reported_as_conditional() {
        let p = policy(
            r#"{"Effect":"Deny","Principal":"*","Action":"ecr:*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-abc"}}}"#,
        );
        assert_eq!(
            evaluate(&p, &ci(), "ecr:BatchGetImage").unwrap(),
            Decision::Denied {
                sid: None,
                conditional: true
            }
        );
    }

    #[test]
    fn what_is_not_a_policy_or_a_principal_is_refused() {
        assert!(evaluate("nope", &ci(), "ecr:BatchGetImage").is_err());
        assert!(
            evaluate(
                r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"*"}]}"#,
                &ci(),
                "ecr:X"
            )
            .is_err()
        );
        assert!(Principal::parse("arn:aws:s3:::bucket").is_err());
        assert!(Principal::parse("ci-role").is_err());
    }
}
