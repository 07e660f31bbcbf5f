//! The end of an image's signature grace as an EventBridge Scheduler one-time schedule
//! ([`GraceDeadlines`], docs/signatures.md): `at(...)` in UTC, no flexible window, scan-gate as its
//! target with `{"signature_deadline": ...}` as input, deleted once it ran. (Scheduler sends its
//! target the input as given, no `Scheduled Event` envelope: scan-gate takes that payload.)

use async_trait::async_trait;
use aws_sdk_scheduler::error::ProvideErrorMetadata;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use chrono::{DurationRound, TimeDelta};
use warden_core::names::Digest;
use warden_core::ports::{GraceDeadlines, PortError};
use warden_core::records::GraceDeadline;

use crate::runtime::errors::port_error;

const OP: &str = "scheduler:CreateSchedule";

/// Where the schedules go and what they invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleTarget {
    /// The schedule group (`default` unless the deployment made one).
    pub group: String,
    /// The role EventBridge Scheduler assumes to invoke scan-gate.
    pub role_arn: String,
    /// scan-gate's function ARN.
    pub function_arn: String,
}

pub struct SchedulerDeadlines {
    client: aws_sdk_scheduler::Client,
    target: ScheduleTarget,
}

impl SchedulerDeadlines {
    pub fn new(client: aws_sdk_scheduler::Client, target: ScheduleTarget) -> Self {
        Self { client, target }
    }
}

/// A schedule's name (at most 64 of `[0-9A-Za-z_.-]`): the same image and deadline always give
/// the same name, so a deadline scheduled twice is one schedule.
pub fn schedule_name(deadline: &GraceDeadline) -> String {
    let key = format!(
        "{}/{}/{}@{}@{}",
        deadline.account,
        deadline.region,
        deadline.repository,
        deadline.digest,
        deadline.at.timestamp()
    );
    let hash = Digest::of_bytes(key.as_bytes());
    let hex = hash.as_str().trim_start_matches("sha256:");
    format!("warden-grace-{}", &hex[..40])
}

/// `at(yyyy-mm-ddThh:mm:ss)`, rounded up to the second: the schedule never fires before the grace
/// ends.
pub fn at_expression(deadline: &GraceDeadline) -> String {
    let second = TimeDelta::seconds(1);
    let at = match deadline.at.duration_trunc(second) {
        Ok(t) if t == deadline.at => t,
        Ok(t) => t + second,
        Err(_) => deadline.at,
    };
    format!("at({})", at.format("%Y-%m-%dT%H:%M:%S"))
}

#[async_trait]
impl GraceDeadlines for SchedulerDeadlines {
    async fn schedule(&self, deadline: &GraceDeadline) -> Result<(), PortError> {
        let input = serde_json::json!({ "signature_deadline": deadline }).to_string();
        let invalid = |message: String| PortError::Invalid {
            operation: OP,
            message,
        };
        let target = Target::builder()
            .arn(&self.target.function_arn)
            .role_arn(&self.target.role_arn)
            .input(input)
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        let sent = self
            .client
            .create_schedule()
            .name(schedule_name(deadline))
            .group_name(&self.target.group)
            .schedule_expression(at_expression(deadline))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .description(format!(
                "ecr-warden: {}@{} signature grace ends",
                deadline.repository,
                deadline.digest.short()
            ))
            .target(target)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            // The same name is the same image and deadline: scheduled already.
            Err(e) if e.code() == Some("ConflictException") => Ok(()),
            Err(e) => Err(port_error(OP, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn deadline(at: &str) -> GraceDeadline {
        GraceDeadline {
            account: "111122223333".parse().expect("account"),
            region: "eu-west-1".parse().expect("region"),
            repository: warden_core::names::RepositoryName::new("app/api").expect("name"),
            digest: Digest::of_bytes(b"image"),
            at: at.parse::<DateTime<Utc>>().expect("time"),
        }
    }

    #[test]
    fn the_schedule_fires_at_the_grace_end_rounded_up_to_the_second() {
        assert_eq!(
            at_expression(&deadline("2026-12-06T21:00:00Z")),
            "at(2026-12-06T21:00:00)"
        );
        assert_eq!(
            at_expression(&deadline("2026-12-06T21:00:00.001Z")),
            "at(2026-12-06T21:00:01)"
        );
    }

    #[test]
    fn one_deadline_has_one_name_within_schedulers_limits() {
        let a = schedule_name(&deadline("2026-12-06T21:00:00Z"));
        assert_eq!(a, schedule_name(&deadline("2026-12-06T21:00:00Z")));
        assert_ne!(a, schedule_name(&deadline("2026-12-06T21:10:00Z")));
        assert!(a.len() <= 64);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
    }
}
