//! What an ECR repository policy (a resource-based IAM policy) says about one principal and one
//! action, following IAM's policy evaluation logic as far as the policy alone decides it:
//! - an explicit `Deny` that applies overrides any `Allow` ("IAM JSON policy elements: Effect";
//!   "Policy evaluation logic": an explicit deny in any policy overrides an allow);
//! - a statement applies when its `Principal` names the caller (`"*"`, `{"AWS": "*"}`, the
//!   account — as `"<id>"` or `arn:aws:iam::<id>:root`, which stands for every principal of that
//!   account — or the caller's own ARN; an assumed-role session is named by its role's ARN, path
//!   included: the session ARN carries only the role's name, unique within its account); and its
//!   `Action` matches (case-insensitive, `*` and `?` wildcards), or its `NotAction` does not;
//! - `NotPrincipal` as IAM reads it ("AWS JSON policy elements: NotPrincipal"): with `Deny`, "AWS
//!   might validate the account first, then the role, and then the assumed-role user", so a deny
//!   spares the caller only when its `NotPrincipal` names every one of them — the account, the
//!   role and the session (a user: the account and the user); with `Allow`, the statement grants
//!   the caller nothing once any of them is named;
//! - a `Condition` depends on the request; such a statement is reported as conditional.
//!
//! For a principal in the registry's own account, no statement leaves the decision to the
//! principal's IAM policies; for another account's principal the repository policy must allow it
//! ("Private repository policies" in the ECR User Guide).

use serde::Serialize;
use serde_json::Value;

/// A principal, by ARN (`arn:aws:iam::<account>:role/<path>/<name>`, `…:user/…`, `…:root`, or an
/// assumed-role session `arn:aws:sts::<account>:assumed-role/<role name>/<session>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    arn: String,
    account: String,
    /// The role's name: for a role, or an assumed-role session of it.
    role: Option<String>,
    session: bool,
}

impl Principal {
    pub fn parse(arn: &str) -> Result<Self, String> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, _partition, service, _region, account, resource] = parts.as_slice() else {
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
        let session = resource.strip_prefix("assumed-role/");
        let role = match session {
            Some(rest) => rest.split('/').next(),
            None => resource
                .strip_prefix("role/")
                .and_then(|r| r.rsplit('/').next()),
        };
        Ok(Self {
            arn: arn.to_owned(),
            account: (*account).to_owned(),
            role: role.filter(|r| !r.is_empty()).map(str::to_owned),
            session: session.is_some(),
        })
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn arn(&self) -> &str {
        &self.arn
    }

    fn names_account(&self, value: &str) -> bool {
        value == self.account || value.ends_with(&format!(":iam::{}:root", self.account))
    }

    /// `arn:<partition>:iam::<account>:role/<path>/<name>` naming the caller's role.
    fn names_role(&self, value: &str) -> bool {
        let Some(role) = &self.role else {
            return false;
        };
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        matches!(parts.as_slice(), ["arn", _, "iam", "", account, resource]
            if *account == self.account
                && resource.strip_prefix("role/").and_then(|r| r.rsplit('/').next())
                    == Some(role.as_str()))
    }

    /// Whether a `Principal` value names the caller.
    fn is_named_by(&self, value: &str) -> bool {
        value == "*" || self.names_account(value) || self.names_role(value) || value == self.arn
    }

    /// Whether `NotPrincipal` values spare the caller from a `Deny`: each level IAM may check —
    /// the account, the role, the session or user itself — is named (or `*`).
    fn is_wholly_excepted_by(&self, values: &[String]) -> bool {
        if values.iter().any(|v| v == "*") {
            return true;
        }
        let account = values.iter().any(|v| self.names_account(v));
        let role = self.role.is_none() || values.iter().any(|v| self.names_role(v));
        let itself = (self.role.is_some() && !self.session) || values.contains(&self.arn);
        account && role && itself
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
        (None, Some(p)) if statement.get("Effect").and_then(Value::as_str) == Some("Deny") => {
            !excepts(p, principal)
        }
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

/// Whether a `NotPrincipal` spares the principal from a `Deny` (see [`Principal::is_wholly_excepted_by`]).
fn excepts(value: &Value, principal: &Principal) -> bool {
    match value {
        Value::String(s) => s == "*",
        Value::Object(map) => map
            .get("AWS")
            .is_some_and(|aws| principal.is_wholly_excepted_by(&strings(aws))),
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
            r#"{{"Sid":"only-ci","Effect":"Deny","NotPrincipal":{{"AWS":["{CI}","arn:aws:iam::210987654321:root"]}},"NotAction":"ecr:Describe*"}}"#
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

    /// IAM: with `Deny`, "AWS might validate the account first, then the role, and then the
    /// assumed-role user" — a `NotPrincipal` naming the role alone may deny its whole account, and
    /// one naming the role and account still denies a session it does not name.
    #[test]
    fn a_deny_spares_a_session_only_when_not_principal_names_its_account_role_and_session() {
        let session = "arn:aws:sts::210987654321:assumed-role/ci/build-7";
        let deny = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            policy(&format!(
                r#"{{"Effect":"Deny","NotPrincipal":{{"AWS":[{}]}},"Action":"ecr:*"}}"#,
                names.join(",")
            ))
        };
        let caller = Principal::parse(session).unwrap();
        let root = "arn:aws:iam::210987654321:root";
        for named in [
            vec![CI],
            vec![CI, root],
            vec![session, root],
            vec![session, CI],
        ] {
            assert!(
                matches!(
                    evaluate(&deny(&named), &caller, "ecr:BatchGetImage").unwrap(),
                    Decision::Denied { .. }
                ),
                "{named:?}"
            );
        }
        assert_eq!(
            evaluate(&deny(&[session, CI, root]), &caller, "ecr:BatchGetImage").unwrap(),
            Decision::NoStatement
        );
        // With Allow, naming any level takes the caller out of the grant.
        let allow = policy(&format!(
            r#"{{"Effect":"Allow","NotPrincipal":{{"AWS":"{root}"}},"Action":"ecr:*"}}"#
        ));
        assert_eq!(
            evaluate(&allow, &caller, "ecr:BatchGetImage").unwrap(),
            Decision::NoStatement
        );
    }

    /// A session ARN carries its role's name only; the policy names the role with its path.
    #[test]
    fn a_session_is_named_by_its_roles_arn_with_its_path() {
        let p = policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:role/teams/build/ci"},"Action":"ecr:*"}"#,
        );
        let session =
            Principal::parse("arn:aws:sts::210987654321:assumed-role/ci/build-7").unwrap();
        assert!(matches!(
            evaluate(&p, &session, "ecr:BatchGetImage").unwrap(),
            Decision::Allowed { .. }
        ));
        let other_role =
            Principal::parse("arn:aws:sts::210987654321:assumed-role/cd/build-7").unwrap();
        assert_eq!(
            evaluate(&p, &other_role, "ecr:BatchGetImage").unwrap(),
            Decision::NoStatement
        );
        let with_path = Principal::parse("arn:aws:iam::210987654321:role/teams/build/ci").unwrap();
        assert!(matches!(
            evaluate(&p, &with_path, "ecr:BatchGetImage").unwrap(),
            Decision::Allowed { .. }
        ));
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
