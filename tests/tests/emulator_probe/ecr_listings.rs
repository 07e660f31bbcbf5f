//! ECR's listings: pages, filters, seeded scans, the image-status filter.

use super::*;

/// Cites the DescribeImages and ListImages references (Amazon ECR API Reference), maxResults: "This
/// value can be between 1 and 1000. If this parameter is not used, then DescribeImages returns up to
/// 100 results and a nextToken value, if applicable." — and DescribeImagesFilter.tagStatus: "You can
/// filter results based on whether they are TAGGED or UNTAGGED."
#[tokio::test]
async fn listings_page_and_filter_and_calls_are_counted() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/pages").await;
    for seed in ["a", "b", "c"] {
        acct.push("probe/pages", seed, Some(seed)).await;
    }
    acct.push("probe/pages", "untagged", None).await;
    let before = acct.clients.calls.count("ECR.DescribeImages");
    let mut sizes = Vec::new();
    let mut token = None;
    loop {
        let page = acct
            .clients
            .ecr
            .describe_images()
            .repository_name("probe/pages")
            .filter(
                aws_sdk_ecr::types::DescribeImagesFilter::builder()
                    .tag_status(TagStatus::Tagged)
                    .build(),
            )
            .max_results(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        sizes.push(page.image_details().len());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(sizes, [1, 1, 1], "three tagged images, one per page");
    assert_eq!(
        acct.clients.calls.count("ECR.DescribeImages") - before,
        3,
        "the interceptor counts each page: {:?}",
        acct.clients.calls.snapshot()
    );

    let first = acct
        .clients
        .ecr
        .list_images()
        .repository_name("probe/pages")
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.image_ids().len(), 2);
    assert!(first.next_token().is_some());
    let err = acct
        .clients
        .ecr
        .describe_images()
        .repository_name("probe/pages")
        .max_results(1001)
        .send()
        .await;
    assert!(err.is_err(), "maxResults above 1000 is refused as ECR does");
}

/// Cites the DescribeImageScanFindings reference (Amazon ECR API Reference), maxResults: "This value
/// can be between 1 and 1000. If this parameter is not used, then DescribeImageScanFindings returns
/// up to 100 results and a nextToken value, if applicable." — and ImageScanFindingsSummary, "A
/// summary of the last completed image scan." Where DescribeImages reports the scan is a reading
/// (`scan_no_findings_counts`): where it gives the summary, it counts every finding.
#[tokio::test]
async fn a_finished_scan_pages_its_findings_and_counts_every_one() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/scan").await;
    let (digest, _) = acct.push("probe/scan", "a", Some("v1")).await;
    let findings: Vec<_> = (0..250)
        .map(|i| json!({"name": format!("CVE-2026-{i:04}"), "severity": if i == 0 { "CRITICAL" } else { "LOW" }, "uri": "https://example.invalid", "attributes": []}))
        .collect();
    acct.seed_scan("probe/scan", &digest, "COMPLETE", findings, false)
        .await;
    let detail = acct
        .clients
        .ecr
        .describe_images()
        .repository_name("probe/scan")
        .image_ids(
            ImageIdentifier::builder()
                .image_digest(digest.as_str())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let detail = &detail.image_details()[0];
    let critical = aws_sdk_ecr::types::FindingSeverity::Critical;
    let low = aws_sdk_ecr::types::FindingSeverity::Low;
    if acct.reading("scan_no_findings_counts").await == "not_in_describe_images" {
        assert!(detail.image_scan_status().is_none());
        assert!(detail.image_scan_findings_summary().is_none());
    } else {
        let status = detail.image_scan_status().unwrap().status().unwrap();
        assert_eq!(status.as_str(), "COMPLETE");
        let summary = detail.image_scan_findings_summary().unwrap();
        let counts = summary.finding_severity_counts().unwrap();
        assert_eq!(counts.get(&critical), Some(&1));
        assert_eq!(counts.get(&low), Some(&249));
    }

    let page = acct
        .clients
        .ecr
        .describe_image_scan_findings()
        .repository_name("probe/scan")
        .image_id(
            ImageIdentifier::builder()
                .image_digest(digest.as_str())
                .build(),
        )
        .max_results(100)
        .send()
        .await
        .unwrap();
    let status = page.image_scan_status().unwrap().status().unwrap();
    assert_eq!(status.as_str(), "COMPLETE");
    assert_eq!(page.image_scan_findings().unwrap().findings().len(), 100);
    assert!(
        page.next_token().is_some(),
        "250 findings take 3 pages of 100"
    );
}

/// Cites DescribeImagesFilter.imageStatus and ListImagesFilter.imageStatus (Amazon ECR API
/// Reference): "If not specified, only images with ACTIVE status are returned."
#[tokio::test]
async fn describe_images_lists_active_images_unless_the_status_filter_says_otherwise() {
    let acct = Emulator::shared().account().await;
    acct.create_repository("probe/archive").await;
    let (old, _) = acct.push("probe/archive", "old", Some("v0")).await;
    acct.push("probe/archive", "new", Some("v1")).await;
    acct.archive_image("probe/archive", &old, 10, false).await;
    let stock = acct
        .clients
        .ecr
        .describe_images()
        .repository_name("probe/archive")
        .send()
        .await
        .unwrap();
    assert_eq!(stock.image_details().len(), 1, "ACTIVE only by default");
    let listed = acct
        .clients
        .ecr
        .list_images()
        .repository_name("probe/archive")
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.image_ids().len(),
        1,
        "ListImages: ACTIVE only by default"
    );
    let registry = EcrRegistry::new(acct.clients.ecr.clone());
    let page = warden_core::ports::ImageCatalog::images(&registry, &name("probe/archive"), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2, "the adapter asks for every status");
    let archived = page.items.iter().find(|i| i.digest == old).unwrap();
    assert_eq!(archived.status.as_deref(), Some("ARCHIVED"));
    assert!(archived.archived_at.is_some());
}
