//! Vulnerability findings of one image ([`ImageFindings`]): ECR basic scanning and Inspector.

use async_trait::async_trait;
use aws_sdk_ecr::types::{ImageIdentifier, ImageScanFinding};
use aws_sdk_inspector2::types::{
    CoverageFilterCriteria, CoverageStringComparison, CoverageStringFilter, FilterCriteria,
    FixAvailable, StringComparison, StringFilter,
};
use warden_core::names::{Digest, RepositoryName};
use warden_core::ports::{ImageFindings, Page, PortError};
use warden_core::records::{ImageResource, ScanCoverage};
use warden_core::severity::Severity;
use warden_core::verdict::Finding;

use crate::adapters::ecr::invalid;
use crate::runtime::errors::port_error;

/// ECR's page limit for DescribeImageScanFindings.
pub const SCAN_FINDINGS_PAGE: i32 = 1000;
/// Inspector's page limit for ListFindings.
pub const INSPECTOR_PAGE: i32 = 100;

#[derive(Debug, Clone)]
pub struct Scanners {
    ecr: aws_sdk_ecr::Client,
    inspector: aws_sdk_inspector2::Client,
}

impl Scanners {
    pub fn from_sdk(sdk: &aws_config::SdkConfig, calls: &crate::ApiCalls) -> Self {
        Self::new(
            crate::counted!(aws_sdk_ecr, sdk, calls),
            crate::counted!(aws_sdk_inspector2, sdk, calls),
        )
    }

    pub fn new(ecr: aws_sdk_ecr::Client, inspector: aws_sdk_inspector2::Client) -> Self {
        Self { ecr, inspector }
    }
}

fn basic(f: &ImageScanFinding) -> Finding {
    let attribute = |key: &str| {
        f.attributes()
            .iter()
            .find(|a| a.key() == key)
            .and_then(|a| a.value())
            .map(str::to_owned)
    };
    Finding {
        id: f.name().unwrap_or_default().to_owned(),
        severity: Severity::parse(f.severity().map(|s| s.as_str()).unwrap_or("UNDEFINED")),
        package: attribute("package_name"),
        installed_version: attribute("package_version"),
        fixed_in: None,
        fix_available: None, // basic scanning does not say
        uri: f.uri().map(str::to_owned),
    }
}

fn inspector(f: &aws_sdk_inspector2::types::Finding) -> Finding {
    let details = f.package_vulnerability_details();
    let package = details.and_then(|d| d.vulnerable_packages().first());
    Finding {
        id: details.map_or_else(
            || f.title().unwrap_or_default().to_owned(),
            |d| d.vulnerability_id().to_owned(),
        ),
        severity: Severity::parse(f.severity().as_str()),
        package: package.map(|p| p.name().to_owned()),
        installed_version: package.map(|p| p.version().to_owned()),
        fixed_in: package
            .and_then(|p| p.fixed_in_version())
            .map(str::to_owned),
        fix_available: f
            .fix_available()
            .map(|fix| !matches!(fix, FixAvailable::No)),
        uri: details.and_then(|d| d.source_url()).map(str::to_owned),
    }
}

fn equals(value: &str) -> Result<StringFilter, PortError> {
    StringFilter::builder()
        .comparison(StringComparison::Equals)
        .value(value)
        .build()
        .map_err(|e| invalid("inspector2:ListFindings", e))
}

#[async_trait]
impl ImageFindings for Scanners {
    async fn scan_findings(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        next: Option<String>,
    ) -> Result<Page<Finding>, PortError> {
        let out = self
            .ecr
            .describe_image_scan_findings()
            .repository_name(repository.as_str())
            .image_id(
                ImageIdentifier::builder()
                    .image_digest(digest.as_str())
                    .build(),
            )
            .max_results(SCAN_FINDINGS_PAGE)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| port_error("ecr:DescribeImageScanFindings", e))?;
        // Findings are evidence only of a finished scan: a listing of a scan that is running again,
        // or that failed, is no ground for a verdict (above all for a PASS).
        let status = out.image_scan_status().and_then(|s| s.status());
        if status.map(|s| s.as_str()) != Some("COMPLETE") {
            return Err(PortError::Transient {
                operation: "ecr:DescribeImageScanFindings",
                message: format!(
                    "{repository}@{}: the scan is {}, not COMPLETE: no verdict on its findings yet",
                    digest.short(),
                    status.map_or("of unknown status", |s| s.as_str())
                ),
            });
        }
        let items = out
            .image_scan_findings()
            .map(|f| f.findings().iter().map(basic).collect())
            .unwrap_or_default();
        Ok(Page {
            items,
            next: out.next_token().map(str::to_owned),
        })
    }

    async fn coverage(&self, image: &ImageResource) -> Result<Option<ScanCoverage>, PortError> {
        const OP: &str = "inspector2:ListCoverage";
        let arn = image.arn();
        let id = CoverageStringFilter::builder()
            .comparison(CoverageStringComparison::Equals)
            .value(&arn)
            .build()
            .map_err(|e| invalid(OP, e))?;
        let out = self
            .inspector
            .list_coverage()
            .filter_criteria(CoverageFilterCriteria::builder().resource_id(id).build())
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        // The image's own entry, whatever else the filter let through.
        let entry = out
            .covered_resources()
            .iter()
            .find(|r| r.resource_id() == arn);
        Ok(entry.map(|r| ScanCoverage {
            status: r
                .scan_status()
                .map(|s| s.status_code().as_str().to_owned())
                .unwrap_or_else(|| "UNKNOWN".to_owned()),
            reason: r.scan_status().map(|s| s.reason().as_str().to_owned()),
        }))
    }

    async fn inspector_findings(
        &self,
        image: &ImageResource,
        next: Option<String>,
    ) -> Result<Page<Finding>, PortError> {
        let account = image.account.as_str();
        let criteria = FilterCriteria::builder()
            .aws_account_id(equals(account)?)
            .ecr_image_registry(equals(account)?)
            .ecr_image_repository_name(equals(image.repository.as_str())?)
            .ecr_image_hash(equals(image.digest.as_str())?)
            .finding_status(equals("ACTIVE")?)
            .build();
        let out = self
            .inspector
            .list_findings()
            .filter_criteria(criteria)
            .max_results(INSPECTOR_PAGE)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| port_error("inspector2:ListFindings", e))?;
        Ok(Page {
            items: out
                .findings()
                .iter()
                .filter(|f| about(f, image))
                .map(inspector)
                .collect(),
            next: out.next_token().map(str::to_owned),
        })
    }
}

/// Whether a finding ListFindings returned is an ACTIVE finding of this image. How Inspector
/// combines filters on several keys is not written down (docs/emulator.md,
/// `inspector_filter_combination`): each answer is checked here, so every reading yields the same
/// findings.
fn about(f: &aws_sdk_inspector2::types::Finding, image: &ImageResource) -> bool {
    let account = image.account.as_str();
    let this_image = |r: &aws_sdk_inspector2::types::Resource| {
        r.details()
            .and_then(|d| d.aws_ecr_container_image())
            .is_some_and(|i| {
                i.repository_name() == image.repository.as_str()
                    && i.image_hash() == image.digest.as_str()
                    && i.registry() == account
            })
    };
    f.aws_account_id() == account
        && f.status().as_str() == "ACTIVE"
        && f.resources().iter().any(this_image)
}
