//! The verdict: PASS or FAIL for one image from its findings (or just their counts) and the gate.
//!
//! Counting rules (documented in docs/scan-gate.md):
//! - `max_findings` caps each severity; a severity not listed is unlimited.
//! - UNTRIAGED, UNDEFINED and severities this version does not know count as `untriaged_as`
//!   (default HIGH: an unknown is treated as serious); Inspector's `TOTAL` never counts.
//! - A CVE exception (optionally for one package) removes matching findings until its `expires` day
//!   ends (UTC); after that it no longer applies and is reported as expired.
//! - `only_fixable` counts only findings with a fix available; a finding whose fix status is unknown
//!   (basic scanning does not say) counts.
//! - A failed or unsupported scan is FAIL unless `on_scan_failure: pass` (fail closed).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::policy::{CveException, Gate, OnScanFailure, UntriagedAs};
use crate::severity::{Severity, SeverityCounts};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Pass,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
        }
    }
}

/// One vulnerability finding on an image, from basic scanning or Inspector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// CVE (or other vulnerability) id.
    pub id: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_in: Option<String>,
    /// `None`: the scanner does not say (basic scanning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_available: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// An exception as it applied (or failed to, having expired) to this image's findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionUse {
    pub cve: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    pub expires: NaiveDate,
    pub reason: String,
    /// How many findings it matched.
    pub findings: usize,
}

/// The verdict and everything needed to explain it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_severity: Option<Severity>,
    /// Findings per severity as counted (after exceptions, filters and the untriaged rule).
    pub counted: SeverityCounts,
    /// Why it failed (empty on PASS).
    pub reasons: Vec<String>,
    pub exceptions_applied: Vec<ExceptionUse>,
    pub exceptions_expired: Vec<ExceptionUse>,
    /// The counted findings, most severe first (all of them: truncation is the renderer's job).
    pub findings: Vec<Finding>,
    /// Identifies (verdict, finding set): equal fingerprints are the same news.
    pub fingerprint: String,
}

/// Which severity a finding counts as, or `None` when it does not count.
fn counted_as(gate: &Gate, severity: &Severity) -> Option<Severity> {
    match severity {
        Severity::Other(raw) if raw.eq_ignore_ascii_case("TOTAL") => None,
        Severity::Untriaged | Severity::Undefined | Severity::Other(_) => {
            match &gate.untriaged_as {
                Some(UntriagedAs::Ignore(_)) => None,
                Some(UntriagedAs::As(s)) => Some(s.clone()),
                None => Some(Severity::High),
            }
        }
        known => Some(known.clone()),
    }
}

fn thresholds(gate: &Gate, counted: &SeverityCounts) -> Vec<String> {
    gate.max_findings
        .iter()
        .filter_map(|(severity, max)| {
            let n = counted.get(severity);
            (n > *max).then(|| {
                format!(
                    "{n} {severity} finding{} (at most {max} allowed)",
                    if n == 1 { "" } else { "s" }
                )
            })
        })
        .collect()
}

fn fingerprint(verdict: Verdict, parts: impl IntoIterator<Item = String>) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(verdict.as_str());
    let mut parts: Vec<String> = parts.into_iter().collect();
    parts.sort();
    for part in parts {
        hasher.update(b"\n");
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

fn verdict_of(reasons: &[String]) -> Verdict {
    if reasons.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail
    }
}

fn is_total(severity: &Severity) -> bool {
    matches!(severity, Severity::Other(raw) if raw.eq_ignore_ascii_case("TOTAL"))
}

/// Where a findings listing shows fewer findings than the scan's counts announced, per severity
/// and in all (`TOTAL`): `None` when the listing accounts for every counted finding. A listing that
/// falls short lags the counts (or is partial): it is no complete evidence, never a PASS.
pub fn listing_shortfall(counts: &SeverityCounts, findings: &[Finding]) -> Option<String> {
    let short: Vec<String> = counts
        .0
        .iter()
        .filter_map(|(severity, &counted)| {
            let listed = if is_total(severity) {
                findings.len()
            } else {
                findings.iter().filter(|f| f.severity == *severity).count()
            };
            let listed = u64::try_from(listed).unwrap_or(u64::MAX);
            (listed < counted)
                .then(|| format!("{} {counted} counted, {listed} listed", severity.as_str()))
        })
        .collect();
    (!short.is_empty()).then(|| short.join(", "))
}

/// Whether the counts account for every finding, so a verdict may rest on them alone. Basic
/// scanning lists every severity present. An `Inspector2 Scan` event breaks out only CRITICAL,
/// HIGH and MEDIUM besides `TOTAL` (AWS's example: TOTAL 158, 130 broken out): its counts are
/// complete only when `TOTAL` is given and equals the listed sum — otherwise LOW, INFORMATIONAL or
/// UNTRIAGED findings hide in the difference, and those may count (`untriaged_as`, or a cap).
pub fn counts_complete(counts: &SeverityCounts, enhanced: bool) -> bool {
    let listed: u64 = counts
        .0
        .iter()
        .filter(|(s, _)| !is_total(s))
        .map(|(_, n)| n)
        .sum();
    match counts.0.iter().find(|(s, _)| is_total(s)).map(|(_, n)| *n) {
        Some(total) => total == listed,
        None => !enhanced,
    }
}

/// Could reading the findings change a verdict made from counts? Only exceptions (active or
/// expired: an expired one must be reported) and the fixable filter look at individual findings.
pub fn findings_matter(gate: &Gate) -> bool {
    !gate.exceptions.is_empty() || gate.only_fixable
}

/// Verdict from the severity counts an event carries (0 reads).
pub fn from_counts(gate: &Gate, counts: &SeverityCounts) -> Evaluation {
    let mut counted = BTreeMap::new();
    for (severity, n) in &counts.0 {
        if let Some(as_) = counted_as(gate, severity) {
            *counted.entry(as_).or_insert(0) += n;
        }
    }
    let counted = SeverityCounts(counted);
    let reasons = thresholds(gate, &counted);
    let verdict = verdict_of(&reasons);
    Evaluation {
        verdict,
        max_severity: counted.max_severity(),
        fingerprint: fingerprint(verdict, counted.0.iter().map(|(s, n)| format!("{s}={n}"))),
        counted,
        reasons,
        exceptions_applied: Vec::new(),
        exceptions_expired: Vec::new(),
        findings: Vec::new(),
    }
}

fn matches(exception: &CveException, finding: &Finding) -> bool {
    exception.cve.eq_ignore_ascii_case(&finding.id)
        && exception
            .package
            .as_ref()
            .is_none_or(|p| finding.package.as_deref() == Some(p.as_str()))
}

fn exception_use(e: &CveException, findings: usize) -> ExceptionUse {
    ExceptionUse {
        cve: e.cve.clone(),
        package: e.package.clone(),
        expires: e.expires,
        reason: e.reason.clone(),
        findings,
    }
}

/// Verdict from the individual findings, on `today` (UTC) for exception expiry.
pub fn from_findings(gate: &Gate, findings: &[Finding], today: NaiveDate) -> Evaluation {
    let (active, expired): (Vec<&CveException>, Vec<&CveException>) =
        gate.exceptions.iter().partition(|e| today <= e.expires);
    let mut applied: BTreeMap<usize, usize> = BTreeMap::new();
    let mut lapsed: BTreeMap<usize, usize> = BTreeMap::new();
    let mut kept: Vec<(Severity, &Finding)> = Vec::new();
    for finding in findings {
        if let Some(i) = active.iter().position(|e| matches(e, finding)) {
            *applied.entry(i).or_default() += 1;
            continue;
        }
        if let Some(i) = expired.iter().position(|e| matches(e, finding)) {
            *lapsed.entry(i).or_default() += 1;
        }
        if gate.only_fixable && finding.fix_available == Some(false) {
            continue;
        }
        if let Some(as_) = counted_as(gate, &finding.severity) {
            kept.push((as_, finding));
        }
    }
    kept.sort_by(|(a, fa), (b, fb)| b.rank().cmp(&a.rank()).then(fa.id.cmp(&fb.id)));
    let mut counted = BTreeMap::new();
    for (severity, _) in &kept {
        *counted.entry(severity.clone()).or_insert(0) += 1;
    }
    let counted = SeverityCounts(counted);
    let mut reasons = thresholds(gate, &counted);
    let exceptions_expired: Vec<ExceptionUse> = lapsed
        .iter()
        .map(|(i, n)| exception_use(expired[*i], *n))
        .collect();
    if !reasons.is_empty() {
        for e in &exceptions_expired {
            reasons.push(format!(
                "the exception for {} expired on {}",
                e.cve, e.expires
            ));
        }
    }
    let verdict = verdict_of(&reasons);
    Evaluation {
        verdict,
        max_severity: counted.max_severity(),
        fingerprint: fingerprint(
            verdict,
            kept.iter()
                .map(|(s, f)| format!("{}|{}|{s}", f.id, f.package.as_deref().unwrap_or_default())),
        ),
        counted,
        reasons,
        exceptions_applied: applied
            .iter()
            .map(|(i, n)| exception_use(active[*i], *n))
            .collect(),
        exceptions_expired,
        findings: kept.into_iter().map(|(_, f)| f.clone()).collect(),
    }
}

/// Verdict for a scan that did not complete (`FAILED`, `UNSUPPORTED_IMAGE`, ...).
pub fn from_scan_failure(gate: &Gate, status: &str) -> Evaluation {
    let verdict = match gate.on_scan_failure {
        Some(OnScanFailure::Pass) => Verdict::Pass,
        _ => Verdict::Fail,
    };
    let reasons = match verdict {
        Verdict::Fail => vec![format!("scan failed ({status})")],
        Verdict::Pass => Vec::new(),
    };
    Evaluation {
        verdict,
        max_severity: None,
        counted: SeverityCounts::default(),
        reasons,
        exceptions_applied: Vec::new(),
        exceptions_expired: Vec::new(),
        findings: Vec::new(),
        fingerprint: fingerprint(verdict, [format!("scan:{status}")]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(yaml: &str) -> Gate {
        serde_norway::from_str(yaml).unwrap()
    }
    fn finding(id: &str, severity: &str, package: &str, fix: Option<bool>) -> Finding {
        Finding {
            id: id.into(),
            severity: Severity::parse(severity),
            package: Some(package.into()),
            installed_version: None,
            fixed_in: None,
            fix_available: fix,
            uri: None,
        }
    }
    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn counts_against_thresholds_with_untriaged_as_high_and_total_ignored() {
        let g = gate("max_findings: {CRITICAL: 0, HIGH: 1}");
        let counts: SeverityCounts =
            serde_json::from_str(r#"{"MEDIUM": 9, "TOTAL": 11, "UNTRIAGED": 2}"#).unwrap();
        let e = from_counts(&g, &counts);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.reasons, ["2 HIGH findings (at most 1 allowed)"]);
        assert_eq!(e.max_severity, Some(Severity::High));
        let ignoring = gate("max_findings: {CRITICAL: 0, HIGH: 1}\nuntriaged_as: ignore");
        assert_eq!(from_counts(&ignoring, &counts).verdict, Verdict::Pass);
    }

    #[test]
    fn exceptions_apply_until_their_day_ends_then_are_reported_expired() {
        let g = gate(
            "max_findings: {CRITICAL: 0}\nexceptions:\n  - {cve: CVE-2026-0001, package: openssl, expires: 2026-11-28, reason: not reachable}",
        );
        let findings = [finding("CVE-2026-0001", "CRITICAL", "openssl", Some(true))];
        let on_the_day = from_findings(&g, &findings, day("2026-11-28"));
        assert_eq!(on_the_day.verdict, Verdict::Pass);
        assert_eq!(on_the_day.exceptions_applied[0].findings, 1);
        let after = from_findings(&g, &findings, day("2026-11-29"));
        assert_eq!(after.verdict, Verdict::Fail);
        assert_eq!(after.exceptions_expired[0].cve, "CVE-2026-0001");
        assert!(
            after
                .reasons
                .iter()
                .any(|r| r.contains("expired on 2026-11-28")),
            "{:?}",
            after.reasons
        );
        // The package must match when the exception names one.
        let other_pkg = [finding("CVE-2026-0001", "CRITICAL", "libssl", Some(true))];
        assert_eq!(
            from_findings(&g, &other_pkg, day("2026-11-01")).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn only_fixable_skips_known_unfixable_but_counts_unknown() {
        let g = gate("max_findings: {HIGH: 0}\nonly_fixable: true");
        let e = from_findings(
            &g,
            &[finding("CVE-1", "HIGH", "a", Some(false))],
            day("2026-01-01"),
        );
        assert_eq!(e.verdict, Verdict::Pass);
        let unknown = from_findings(
            &g,
            &[finding("CVE-1", "HIGH", "a", None)],
            day("2026-01-01"),
        );
        assert_eq!(unknown.verdict, Verdict::Fail);
    }

    #[test]
    fn fingerprints_follow_the_finding_set_not_its_order() {
        let g = gate("max_findings: {HIGH: 0}");
        let a = finding("CVE-1", "HIGH", "a", None);
        let b = finding("CVE-2", "LOW", "b", None);
        let one = from_findings(&g, &[a.clone(), b.clone()], day("2026-01-01"));
        let two = from_findings(&g, &[b, a.clone()], day("2026-01-01"));
        assert_eq!(one.fingerprint, two.fingerprint);
        assert_ne!(
            one.fingerprint,
            from_findings(&g, &[a], day("2026-01-01")).fingerprint
        );
        assert_eq!(one.findings[0].id, "CVE-1", "most severe first");
    }

    #[test]
    fn inspector_counts_are_complete_only_when_total_is_all_broken_out() {
        let counts = |json: &str| -> SeverityCounts { serde_json::from_str(json).unwrap() };
        // AWS's example: 158 findings, 130 broken out — 28 are LOW, INFORMATIONAL or UNTRIAGED.
        let aws = counts(r#"{"CRITICAL": 10, "HIGH": 20, "MEDIUM": 100, "TOTAL": 158}"#);
        assert!(!counts_complete(&aws, true));
        assert!(!counts_complete(&counts(r#"{"TOTAL": 2}"#), true));
        assert!(counts_complete(&counts(r#"{"HIGH": 2, "TOTAL": 2}"#), true));
        assert!(
            !counts_complete(&counts(r#"{"HIGH": 2}"#), true),
            "no TOTAL: unknown"
        );
        // Basic scanning lists every severity present.
        assert!(counts_complete(
            &counts(r#"{"LOW": 3, "UNDEFINED": 1}"#),
            false
        ));
        assert!(counts_complete(&counts("{}"), false));
    }

    /// Counts say CRITICAL 1; a listing showing only a LOW finding is partial, however many it shows.
    #[test]
    fn a_listing_short_of_the_counts_in_any_severity_is_a_shortfall() {
        let counts = |json: &str| -> SeverityCounts { serde_json::from_str(json).unwrap() };
        let low = finding("CVE-1", "LOW", "a", None);
        let critical = finding("CVE-2", "CRITICAL", "b", None);
        let shortfall = listing_shortfall(
            &counts(r#"{"CRITICAL": 1, "TOTAL": 2}"#),
            std::slice::from_ref(&low),
        );
        assert_eq!(
            shortfall.as_deref(),
            Some("CRITICAL 1 counted, 0 listed, TOTAL 2 counted, 1 listed")
        );
        assert!(
            listing_shortfall(&counts(r#"{"TOTAL": 2}"#), std::slice::from_ref(&low)).is_some()
        );
        assert_eq!(
            listing_shortfall(&counts(r#"{"CRITICAL": 1, "TOTAL": 2}"#), &[low, critical]),
            None
        );
        assert_eq!(listing_shortfall(&counts("{}"), &[]), None);
    }

    #[test]
    fn scan_failure_fails_closed_by_default() {
        assert_eq!(
            from_scan_failure(&gate("{}"), "FAILED").reasons,
            ["scan failed (FAILED)"]
        );
        assert_eq!(
            from_scan_failure(&gate("on_scan_failure: pass"), "FAILED").verdict,
            Verdict::Pass
        );
    }
}
