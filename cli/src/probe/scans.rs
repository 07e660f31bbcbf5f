//! The probe's questions about scanning: how a clean basic scan is reported, and how Inspector
//! combines coverage filters.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use aws_sdk_inspector2::types::{
    CoverageFilterCriteria, CoverageStringComparison, CoverageStringFilter,
};

use super::image::{by_digest, push};
use super::steps::one_line;
use super::{Observation, Probe, Promise};

/// What DescribeImages and DescribeImageScanFindings say of one image's scan.
enum Scan {
    Pending,
    Reported { counts: Option<usize> },
    OnlyInFindings,
    Ended(String),
}

impl Probe {
    async fn scan_now(&self, digest: &warden_core::names::Digest) -> anyhow::Result<Scan> {
        let repo = &self.mutable;
        let described = self
            .ecr
            .describe_images()
            .repository_name(repo)
            .image_ids(by_digest(digest))
            .send()
            .await
            .context("ecr:DescribeImages")?;
        let detail = described
            .image_details()
            .first()
            .context("the probe's image is gone")?;
        let status = detail
            .image_scan_status()
            .and_then(|s| s.status())
            .map(|s| s.as_str().to_owned());
        if let Some(status) = status {
            return Ok(match status.as_str() {
                "IN_PROGRESS" | "PENDING" => Scan::Pending,
                "COMPLETE" => Scan::Reported {
                    counts: detail
                        .image_scan_findings_summary()
                        .and_then(|s| s.finding_severity_counts())
                        .map(|c| c.values().map(|n| usize::try_from(*n).unwrap_or(0)).sum()),
                },
                other => Scan::Ended(format!(
                    "{other} {}",
                    detail
                        .image_scan_status()
                        .and_then(|s| s.description())
                        .unwrap_or_default()
                )),
            });
        }
        self.scan_in_findings(digest).await
    }

    /// The scan as DescribeImageScanFindings reports it, asked when DescribeImages gives no status.
    async fn scan_in_findings(&self, digest: &warden_core::names::Digest) -> anyhow::Result<Scan> {
        let findings = self
            .ecr
            .describe_image_scan_findings()
            .repository_name(&self.mutable)
            .image_id(by_digest(digest))
            .max_results(1)
            .send()
            .await;
        match findings {
            Ok(out) => Ok(
                match out
                    .image_scan_status()
                    .and_then(|s| s.status())
                    .map(|s| s.as_str())
                {
                    Some("COMPLETE") => Scan::OnlyInFindings,
                    Some("IN_PROGRESS" | "PENDING") | None => Scan::Pending,
                    Some(other) => Scan::Ended(other.to_owned()),
                },
            ),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_scan_not_found_exception()) =>
            {
                Ok(Scan::Pending)
            }
            Err(e) => Err(e).context("ecr:DescribeImageScanFindings"),
        }
    }

    /// A basic scan that finds nothing: `{}`, no counts, or nothing in DescribeImages at all?
    pub(super) async fn scan_no_findings_counts(
        &self,
        wait: Duration,
    ) -> anyhow::Result<Observation> {
        let image = push(&self.ecr, &self.mutable, "scan", "scan").await?;
        let unsettled =
            |why: String| Observation::new("scan_no_findings_counts", None, Promise::Unknown, why);
        let started = self
            .ecr
            .start_image_scan()
            .repository_name(&self.mutable)
            .image_id(by_digest(&image.digest))
            .send()
            .await;
        if let Err(e) = started {
            return Ok(unsettled(format!(
                "StartImageScan: {} (basic scanning off, or enhanced scanning on?)",
                one_line(&e)
            )));
        }
        let Some(scan) = self.finished_scan(&image.digest, wait).await? else {
            return Ok(unsettled(format!(
                "the scan had not finished after {}s (--scan-wait)",
                wait.as_secs()
            )));
        };
        let reading = match clean_reading(scan) {
            Ok(reading) => reading,
            Err(why) => return Ok(unsettled(why)),
        };
        self.gate_reading(&image.digest, reading).await
    }

    /// The image's scan once it is no longer pending, asked every 3s; `None` after `wait`.
    async fn finished_scan(
        &self,
        digest: &warden_core::names::Digest,
        wait: Duration,
    ) -> anyhow::Result<Option<Scan>> {
        let deadline = Instant::now() + wait;
        loop {
            match self.scan_now(digest).await? {
                Scan::Pending if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_secs(3)).await
                }
                Scan::Pending => return Ok(None),
                done => return Ok(Some(done)),
            }
        }
    }

    /// Whether `warden gate`'s read of the image keeps the promise, given the probe's `reading`.
    async fn gate_reading(
        &self,
        digest: &warden_core::names::Digest,
        reading: &'static str,
    ) -> anyhow::Result<Observation> {
        // The promise: what `warden gate` reads of this image gives counts only where ECR gave
        // them, so a verdict never rests on counts ECR left out.
        let reference = warden_core::image_ref::Reference::Digest(digest.clone());
        let repository = warden_core::names::RepositoryName::new(self.mutable.as_str())?;
        let state = self
            .registry
            .image_state(&repository, &reference)
            .await?
            .context("the probe's image is gone")?;
        let holds = state.scan_status.as_deref() == Some("COMPLETE")
            && (reading == "empty" || state.counts.is_none());
        Ok(Observation::new(
            "scan_no_findings_counts",
            Some(reading),
            Promise::from(holds),
            format!(
                "warden gate read status {:?} and counts {:?} (unknown where ECR gave none)",
                state.scan_status, state.counts
            ),
        ))
    }

    /// How ListCoverage combines filters on two keys.
    pub(super) async fn inspector_filter_combination(&self) -> anyhow::Result<Observation> {
        let filter = |value: &str| {
            CoverageStringFilter::builder()
                .comparison(CoverageStringComparison::Equals)
                .value(value)
                .build()
        };
        let ours = CoverageFilterCriteria::builder()
            .ecr_repository_name(filter(&self.mutable)?)
            .build();
        let unsettled = |why: String| {
            Observation::new("inspector_filter_combination", None, Promise::Unknown, why)
        };
        let covered = match self.covered(ours).await {
            Ok(n) => n,
            Err(e) => return Ok(unsettled(format!("inspector2:ListCoverage: {e:#}"))),
        };
        if covered == 0 {
            return Ok(unsettled(
                "Inspector covers none of the probe's images (enhanced scanning off, or not yet): nothing to compare".to_owned(),
            ));
        }
        let both = CoverageFilterCriteria::builder()
            .ecr_repository_name(filter(&self.mutable)?)
            .scan_type(filter("NETWORK")?)
            .build();
        let matched = self.covered(both).await?;
        let reading = if matched == 0 { "keys_and" } else { "all_or" };
        // The promise: scan-gate finds a probe image's own coverage entry by the resource id it
        // builds (the image's ARN), whatever else the filter lets through.
        let image = self.probe_image_resource().await?;
        let found = warden_core::ports::ImageFindings::coverage(&self.scanners, &image).await?;
        Ok(Observation::new(
            "inspector_filter_combination",
            Some(reading),
            Promise::from(found.is_some()),
            format!(
                "{covered} images covered by repository; {matched} by repository and scan type NETWORK; scan-gate's coverage read of {} found {}",
                image.arn(),
                found.map_or_else(
                    || "nothing (its resource id differs)".to_owned(),
                    |c| c.status
                )
            ),
        ))
    }

    /// One of the probe's images, as scan-gate names it to Inspector.
    async fn probe_image_resource(&self) -> anyhow::Result<warden_core::records::ImageResource> {
        let listed = self
            .ecr
            .describe_images()
            .repository_name(&self.mutable)
            .max_results(1)
            .send()
            .await
            .context("ecr:DescribeImages")?;
        let detail = listed
            .image_details()
            .first()
            .context("the probe's repository is empty")?;
        Ok(warden_core::records::ImageResource {
            account: self.account.clone(),
            region: self.region.clone(),
            repository: warden_core::names::RepositoryName::new(self.mutable.as_str())?,
            digest: warden_core::names::Digest::new(detail.image_digest().unwrap_or_default())?,
        })
    }

    /// How many resources ListCoverage returns for `criteria` (every page).
    async fn covered(&self, criteria: CoverageFilterCriteria) -> anyhow::Result<usize> {
        let mut total = 0;
        let mut next = None;
        loop {
            let out = self
                .inspector
                .list_coverage()
                .filter_criteria(criteria.clone())
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!(one_line(&e)))?;
            total += out.covered_resources().len();
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(total);
            }
        }
    }
}

/// How a finished scan that found nothing reads; why it does not settle the question otherwise.
fn clean_reading(scan: Scan) -> Result<&'static str, String> {
    match scan {
        Scan::Reported { counts: Some(0) } => Ok("empty"),
        Scan::Reported { counts: None } => Ok("absent"),
        Scan::OnlyInFindings => Ok("not_in_describe_images"),
        Scan::Reported { counts: Some(n) } => {
            Err(format!("the scan found {n} findings: not a clean result"))
        }
        Scan::Ended(status) => Err(format!(
            "the scan ended {status}: a scan of an image with an OS settles it"
        )),
        Scan::Pending => Err("the scan did not finish".to_owned()),
    }
}
