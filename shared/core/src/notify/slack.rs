//! Slack Block Kit for every warden message, within Slack's limits: at most 50 blocks, header text
//! 150 characters, section text 3000, 10 fields per section, button text 75. Long lists are
//! truncated with an "and N more" line and a link to the full list — never silently dropped.

use serde_json::{Value, json};

use crate::message::{Body, CleanupBody, Did, Message, ReplicationBody, VerdictBody};
use crate::names::{Digest, Tag};
use crate::verdict::{Finding, Verdict};

pub const MAX_BLOCKS: usize = 50;
pub const MAX_HEADER: usize = 150;
pub const MAX_SECTION_TEXT: usize = 3000;
pub const MAX_FIELDS: usize = 10;
pub const MAX_BUTTON_TEXT: usize = 75;
/// Findings listed one per line before "and N more".
pub const MAX_LISTED_FINDINGS: usize = 20;

/// Console deep links for the message's repository and image.
pub struct Links {
    base: String,
    region: String,
}

impl Links {
    pub fn for_message(m: &Message) -> Self {
        Self {
            base: format!(
                "https://{0}.console.aws.amazon.com/ecr/repositories/private/{1}/{2}",
                m.region, m.account, m.repository
            ),
            region: m.region.to_string(),
        }
    }
    pub fn repository(&self) -> String {
        format!("{}?region={}", self.base, self.region)
    }
    pub fn image(&self, digest: &Digest) -> String {
        format!(
            "{}/_/image/{digest}/details?region={}",
            self.base, self.region
        )
    }
    pub fn scan_results(&self, digest: &Digest) -> String {
        format!(
            "{}/_/image/{digest}/scan-results?region={}",
            self.base, self.region
        )
    }
}

/// A vulnerability's page: the scanner's link, else NVD for CVEs.
pub fn finding_link(f: &Finding) -> Option<String> {
    f.uri.clone().or_else(|| {
        f.id.starts_with("CVE-")
            .then(|| format!("https://nvd.nist.gov/vuln/detail/{}", f.id))
    })
}

/// Slack mrkdwn escaping (the three characters Slack requires).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn header(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": cut(text, MAX_HEADER), "emoji": true}})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION_TEXT)}})
}

fn fields(pairs: &[(String, String)]) -> Value {
    let fields: Vec<Value> = pairs
        .iter()
        .take(MAX_FIELDS)
        .map(|(k, v)| json!({"type": "mrkdwn", "text": cut(&format!("*{}*\n{}", esc(k), v), 2000)}))
        .collect();
    json!({"type": "section", "fields": fields})
}

fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, MAX_SECTION_TEXT)}]})
}

fn buttons(links: &[(&str, String)]) -> Value {
    let elements: Vec<Value> = links
        .iter()
        .map(|(text, url)| json!({"type": "button", "text": {"type": "plain_text", "text": cut(text, MAX_BUTTON_TEXT)}, "url": url}))
        .collect();
    json!({"type": "actions", "elements": elements})
}

fn image_ref(m: &Message, tags: &[Tag], digest: &Digest) -> String {
    match tags.first() {
        Some(tag) => format!("{}:{tag}@sha256:{}", m.repository, digest.short()),
        None => format!("{}@sha256:{} (untagged)", m.repository, digest.short()),
    }
}

/// The Slack payload (`text` fallback and `blocks`) for one message.
pub fn render(m: &Message) -> Value {
    let links = Links::for_message(m);
    let dry = if m.dry_run { "[dry-run] would: " } else { "" };
    let (fallback, mut blocks) = match &m.body {
        Body::Verdict(v) => verdict(m, v, &links, dry),
        Body::TagReverted {
            tag,
            restored_digest,
            offending_digest,
            offender_kept_as,
        } => {
            let kept = offender_kept_as
                .as_ref()
                .map_or_else(|| "left untagged".to_owned(), |k| format!("kept as `{k}`"));
            let text = format!(
                "*Image* `{}:{tag}`\n*Moved to* `{offending_digest}` — {kept}\n*Restored to* `{restored_digest}`",
                m.repository
            );
            (
                format!("{dry}tag {}:{tag} reverted", m.repository),
                vec![
                    header(&format!(":rewind: {dry}Protected tag reverted")),
                    section(&text),
                    buttons(&[
                        ("Restored image", links.image(restored_digest)),
                        ("Offending image", links.image(offending_digest)),
                    ]),
                ],
            )
        }
        Body::TagAccepted {
            tag,
            previous_digest,
            accepted_digest,
            reason,
        } => (
            format!("{dry}tag {}:{tag} moved and stands", m.repository),
            vec![
                header(&format!(
                    ":shield: {dry}Protected tag moved off a failed image — not reverted"
                )),
                section(&format!(
                    "*Image* `{}:{tag}`\n*Now* `{accepted_digest}`\n*Was* `{previous_digest}`\n{}",
                    m.repository,
                    esc(reason)
                )),
                buttons(&[
                    ("New image", links.image(accepted_digest)),
                    ("Failed image", links.image(previous_digest)),
                ]),
            ],
        ),
        Body::TagRevertImpossible {
            tag,
            recorded_digest,
            offending_digest,
            reason,
        } => (
            format!(
                "{dry}tag {}:{tag} moved and cannot be reverted",
                m.repository
            ),
            vec![
                header(&format!(
                    ":warning: {dry}Protected tag moved — cannot revert"
                )),
                section(&format!(
                    "*Image* `{}:{tag}`\n*Now* `{offending_digest}`\n*Recorded* `{recorded_digest}`\n{}",
                    m.repository,
                    esc(reason)
                )),
                buttons(&[("Repository", links.repository())]),
            ],
        ),
        Body::RepositoryFixed {
            before,
            after,
            trigger,
        } => {
            let before = before
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), |b| b.mode.as_str().to_owned());
            let filters = after
                .exclusions
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let filters = if filters.is_empty() {
                String::new()
            } else {
                format!(" (except {filters})")
            };
            (
                format!(
                    "{dry}{} tag mutability set to {}",
                    m.repository,
                    after.mode.as_str()
                ),
                vec![
                    header(&format!(":lock: {dry}Repository setting fixed")),
                    section(&format!(
                        "*Repository* `{}`\n*Tag mutability* {before} → *{}*{filters}\n*Noticed by* {}",
                        m.repository,
                        after.mode.as_str(),
                        esc(trigger)
                    )),
                    buttons(&[("Repository", links.repository())]),
                ],
            )
        }
        Body::Cleanup(c) => cleanup(m, c, &links, dry),
        Body::Replication(r) => replication(m, r, &links, dry),
    };
    blocks.push(context(&format!(
        "ecr-warden · {} · {} · {}",
        m.function, m.account, m.region
    )));
    blocks.truncate(MAX_BLOCKS);
    json!({"text": cut(&fallback, MAX_SECTION_TEXT), "blocks": blocks})
}

fn verdict(m: &Message, v: &VerdictBody, links: &Links, dry: &str) -> (String, Vec<Value>) {
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
    blocks.push(section(&summary));
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

fn cleanup(m: &Message, c: &CleanupBody, links: &Links, dry: &str) -> (String, Vec<Value>) {
    let verb = if c.applied { "Deleted" } else { "Would delete" };
    let mut blocks = vec![
        header(&format!(
            ":broom: {dry}Cleanup {} — {}",
            if c.applied { "applied" } else { "plan" },
            m.repository
        )),
        fields(&[
            ("Images".to_owned(), c.images_total.to_string()),
            ("Kept".to_owned(), c.images_kept.to_string()),
            (verb.to_owned(), c.images_deleted.to_string()),
            ("Space freed".to_owned(), human_bytes(c.bytes_freed)),
        ]),
    ];
    if !c.kept_because.is_empty() {
        let lines: Vec<String> = c
            .kept_because
            .iter()
            .map(|(why, n)| format!("• {n} — {}", esc(why)))
            .collect();
        blocks.push(section(&format!("*Kept because*\n{}", lines.join("\n"))));
    }
    if !c.failures.is_empty() {
        let shown: Vec<String> = c
            .failures
            .iter()
            .take(10)
            .map(|f| format!("• {}", esc(f)))
            .collect();
        let more = c.failures.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!("\n…and {more} more")
        } else {
            String::new()
        };
        blocks.push(section(&format!(
            "*Not deleted*\n{}{more}",
            shown.join("\n")
        )));
    }
    blocks.push(buttons(&[("Repository", links.repository())]));
    (
        format!(
            "{dry}cleanup {}: {verb} {} of {} images",
            m.repository, c.images_deleted, c.images_total
        ),
        blocks,
    )
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn replication(m: &Message, r: &ReplicationBody, links: &Links, dry: &str) -> (String, Vec<Value>) {
    let image = image_ref(m, &r.tags, &r.digest);
    let icon = if r.failures.is_empty() {
        ":arrows_counterclockwise:"
    } else {
        ":warning:"
    };
    let mut lines: Vec<String> = r
        .copies
        .iter()
        .map(|c| {
            format!(
                "`{}` — {} layer(s) copied, {} skipped, {} bytes{}",
                c.target,
                c.layers_copied,
                c.layers_skipped,
                c.bytes_copied,
                if c.problems.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", esc(&c.problems.join("; ")))
                }
            )
        })
        .collect();
    lines.extend(r.planned.iter().map(|t| format!("`{t}` — planned")));
    lines.extend(r.failures.iter().map(|f| format!(":x: {}", esc(f))));
    let text = format!("*Image* `{image}`\n{}", lines.join("\n"));
    (
        format!("{dry}replicated {image}"),
        vec![
            header(&format!("{icon} {dry}Replicated — {image}")),
            section(&text),
            buttons(&[("Image", links.image(&r.digest))]),
        ],
    )
}
