//! scan-gate's verdict on one image as Slack blocks: the verdict and what was done, the summary,
//! the counts and the first findings with "and N more", the exceptions used, and console links.

use serde_json::Value;

use super::{
    Links, MAX_LISTED_FINDINGS, MAX_SECTION_TEXT, buttons, context, esc, fields, finding_link,
    header, image_ref, section,
};
use crate::message::{Did, Message, VerdictBody};
use crate::verdict::{Finding, Verdict};

/// The fallback text and blocks of a verdict message.
pub(super) fn verdict(
    m: &Message,
    v: &VerdictBody,
    links: &Links,
    dry: &str,
) -> (String, Vec<Value>) {
    let icon = match v.verdict {
        Verdict::Fail => ":no_entry:",
        Verdict::Pass => ":white_check_mark:",
    };
    let did = match &m.action.did {
        Did::None => String::new(),
        did => format!(" · {}", did.as_str()),
    };
    let image = image_ref(m, &v.tags, &v.digest);
    let mut blocks = vec![header(&format!(
        "{icon} {dry}{}{did} — {}",
        v.verdict.as_str(),
        image
    ))];
    blocks.push(section(&verdict_summary(v, &image)));
    blocks.extend(finding_blocks(v, links));
    let notes = exception_notes(v);
    if !notes.is_empty() {
        blocks.push(context(&notes.join("\n")));
    }
    blocks.push(buttons(&[
        ("Image in ECR", links.image(&v.digest)),
        ("Scan results", links.scan_results(&v.digest)),
    ]));
    let fallback = format!("{dry}{}{did}: {image}", v.verdict.as_str());
    (fallback, blocks)
}

/// A verdict's summary: the image, the scan, why, and which tags were quarantined, restored or not.
fn verdict_summary(v: &VerdictBody, image: &str) -> String {
    let mut summary = format!("*Image* `{}`\n*Scan* {}", image, v.scan);
    if let Some(max) = &v.max_severity {
        summary.push_str(&format!(" · *max severity* {max}"));
    }
    if !v.reasons.is_empty() {
        summary.push_str(&format!("\n*Why* {}", esc(&v.reasons.join("; "))));
    }
    if !v.quarantined_tags.is_empty() {
        let tags = v
            .quarantined_tags
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        summary.push_str(&format!(
            "\n*Quarantined* {tags} (tags moved to the quarantine prefix)"
        ));
    }
    if !v.restored_tags.is_empty() {
        summary.push_str(&format!(
            "\n*Restored* {}",
            v.restored_tags
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !v.tags_taken.is_empty() {
        summary.push_str(&format!(
            "\n*Not restored* {} — a newer image has the tag",
            v.tags_taken
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    summary
}

/// A verdict's findings: the counts per severity, the first [`MAX_LISTED_FINDINGS`] one per line,
/// and "and N more" with a link to the rest.
fn finding_blocks(v: &VerdictBody, links: &Links) -> Vec<Value> {
    let mut blocks = Vec::new();
    let counts: Vec<(String, String)> = v
        .counts
        .0
        .iter()
        .map(|(s, n)| (s.to_string(), n.to_string()))
        .collect();
    if counts.is_empty() {
        blocks.push(section("*Findings* none"));
    } else {
        blocks.push(fields(&counts));
    }
    let lines: Vec<String> = v
        .findings
        .iter()
        .take(MAX_LISTED_FINDINGS)
        .map(finding_line)
        .collect();
    for chunk in chunk_lines(&lines, MAX_SECTION_TEXT) {
        blocks.push(section(&chunk));
    }
    let more = v.findings_total.saturating_sub(lines.len());
    if more > 0 {
        blocks.push(section(&format!(
            "…and {more} more — <{}|see all in the scan results>",
            links.scan_results(&v.digest)
        )));
    }
    blocks
}

/// The exceptions a verdict applied (until when, why) and those that expired, one note each.
fn exception_notes(v: &VerdictBody) -> Vec<String> {
    let mut notes = Vec::new();
    for e in &v.exceptions_applied {
        notes.push(format!(
            "exception {} applied until {} ({})",
            esc(&e.cve),
            e.expires,
            esc(&e.reason)
        ));
    }
    for e in &v.exceptions_expired {
        notes.push(format!(
            ":hourglass: exception {} *expired* on {}",
            esc(&e.cve),
            e.expires
        ));
    }
    notes
}

fn finding_line(f: &Finding) -> String {
    let id = match finding_link(f) {
        Some(url) => format!("<{}|{}>", url, esc(&f.id)),
        None => esc(&f.id),
    };
    let package = f
        .package
        .as_deref()
        .map(|p| format!(" `{}`", esc(p)))
        .unwrap_or_default();
    let installed = f
        .installed_version
        .as_deref()
        .map(|v| format!(" {}", esc(v)))
        .unwrap_or_default();
    let fixed = f
        .fixed_in
        .as_deref()
        .map_or_else(String::new, |v| format!(" → fixed in {}", esc(v)));
    format!("• *{}* {id}{package}{installed}{fixed}", f.severity)
}

/// Join lines into texts of at most `max` characters each.
fn chunk_lines(lines: &[String], max: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for line in lines {
        if !current.is_empty() && current.chars().count() + line.chars().count() + 1 > max {
            chunks.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(line);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}
