//! Every environment variable a function reads, parsed in one place with one failure policy: a
//! variable that is required and missing, or set to a value that does not parse, fails init with an
//! error naming the variable. An unset (or empty) optional variable takes its documented default.

use std::str::FromStr;

/// Configuration read from the environment at init.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name}={value:?}: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// The variable's value, when it is set and not empty.
pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The variable's value; missing or empty is an error.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name).ok_or(ConfigError::Missing(name))
}

/// A yes/no switch: `true`/`1`/`yes` or `false`/`0`/`no` (any case); unset is `false`.
pub fn flag(name: &'static str) -> Result<bool, ConfigError> {
    parse_flag(name, optional(name))
}

/// A number (`expected` says of what, for the error), or `default` when unset.
pub fn number<T: FromStr>(
    name: &'static str,
    default: T,
    expected: &'static str,
) -> Result<T, ConfigError> {
    parse_number(name, optional(name), default, expected)
}

fn parse_flag(name: &'static str, value: Option<String>) -> Result<bool, ConfigError> {
    let Some(value) = value else {
        return Ok(false);
    };
    match value.to_ascii_lowercase().as_str() {
        "false" | "0" | "no" => Ok(false),
        "true" | "1" | "yes" => Ok(true),
        _ => Err(ConfigError::Invalid {
            name,
            value,
            expected: "true or false",
        }),
    }
}

fn parse_number<T: FromStr>(
    name: &'static str,
    value: Option<String>,
    default: T,
    expected: &'static str,
) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            value,
            expected,
        }),
    }
}

/// What tag-guard and scan-gate read from the environment: the state table (`WARDEN_TABLE`,
/// required), the warden topic (`WARDEN_TOPIC_ARN`) and the global dry-run (`WARDEN_DRY_RUN`).
#[derive(Debug, Clone)]
pub struct StateConfig {
    pub table: String,
    pub topic_arn: Option<String>,
    pub dry_run: bool,
}

impl StateConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: required("WARDEN_TABLE")?,
            topic_arn: optional("WARDEN_TOPIC_ARN"),
            dry_run: flag("WARDEN_DRY_RUN")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(value: &str) -> Option<String> {
        Some(value.to_owned())
    }

    #[test]
    fn an_unset_variable_takes_its_default() {
        assert!(matches!(parse_flag("F", None), Ok(false)));
        assert!(matches!(parse_number("N", None, 7_u64, "a number"), Ok(7)));
        assert!(matches!(
            required("WARDEN_TEST_NEVER_SET"),
            Err(ConfigError::Missing("WARDEN_TEST_NEVER_SET"))
        ));
    }

    #[test]
    fn a_value_that_parses_is_taken() {
        assert!(matches!(parse_flag("F", set("YES")), Ok(true)));
        assert!(matches!(parse_flag("F", set("0")), Ok(false)));
        assert!(matches!(
            parse_number("N", set(" 250 "), 7_u64, "a number"),
            Ok(250)
        ));
    }

    #[test]
    fn a_value_that_does_not_parse_is_an_error_naming_the_variable() {
        let error = parse_flag("WARDEN_DRY_RUN", set("maybe")).map(|_| ());
        assert_eq!(
            error.map_err(|e| e.to_string()),
            Err(r#"environment variable WARDEN_DRY_RUN="maybe": true or false"#.to_owned())
        );
        let error = parse_number(
            "WARDEN_ATTEMPT_TIMEOUT_MS",
            set("5s"),
            5_000_u64,
            "milliseconds",
        );
        assert_eq!(
            error.map_err(|e| e.to_string()),
            Err(r#"environment variable WARDEN_ATTEMPT_TIMEOUT_MS="5s": milliseconds"#.to_owned())
        );
    }
}
