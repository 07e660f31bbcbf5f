//! Slack Block Kit for every warden message, within Slack's limits: at most 50 blocks, header text
//! 150 characters, section text 3000, 10 fields per section, button text 75. Long lists are
//! truncated with an "and N more" line and a link to the full list — never silently dropped.

mod verdict;

use serde_json::{Value, json};

use crate::message::{Body, CleanupBody, Message, ReplicationBody};
use crate::mutability::TagMutability;
use crate::names::{Digest, Tag};
use crate::verdict::Finding;
use verdict::verdict;

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
            restored_digest: restored,
            offending_digest: offending,
            offender_kept_as: kept_as,
        } => tag_reverted(m, tag, restored, offending, kept_as.as_ref(), &links, dry),
        Body::TagAccepted {
            tag,
            previous_digest: previous,
            accepted_digest: accepted,
            reason,
        } => tag_accepted(m, tag, previous, accepted, reason, &links, dry),
        Body::TagRevertImpossible {
            tag,
            recorded_digest: recorded,
            offending_digest: offending,
            reason,
        } => tag_revert_impossible(m, tag, recorded, offending, reason, &links, dry),
        Body::RepositoryFixed {
            before,
            after,
            trigger,
        } => repository_fixed(m, before.as_ref(), after, trigger, &links, dry),
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

/// A protected tag pointed back: where it had moved, where the offender is kept and where it is now.
fn tag_reverted(
    m: &Message,
    tag: &Tag,
    restored_digest: &Digest,
    offending_digest: &Digest,
    offender_kept_as: Option<&Tag>,
    links: &Links,
    dry: &str,
) -> (String, Vec<Value>) {
    let kept =
        offender_kept_as.map_or_else(|| "left untagged".to_owned(), |k| format!("kept as `{k}`"));
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

/// A protected tag moved off a failed image and left there: the new image, the old one and why.
fn tag_accepted(
    m: &Message,
    tag: &Tag,
    previous_digest: &Digest,
    accepted_digest: &Digest,
    reason: &str,
    links: &Links,
    dry: &str,
) -> (String, Vec<Value>) {
    (
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
    )
}

/// A protected tag moved and could not be pointed back: where it is, where it was and why not.
fn tag_revert_impossible(
    m: &Message,
    tag: &Tag,
    recorded_digest: &Digest,
    offending_digest: &Digest,
    reason: &str,
    links: &Links,
    dry: &str,
) -> (String, Vec<Value>) {
    (
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
    )
}

/// A repository's tag mutability set to the policy's: from what, to what (with its exclusion
/// filters) and what noticed it.
fn repository_fixed(
    m: &Message,
    before: Option<&TagMutability>,
    after: &TagMutability,
    trigger: &str,
    links: &Links,
    dry: &str,
) -> (String, Vec<Value>) {
    let before = before.map_or_else(|| "unknown".to_owned(), |b| b.mode.as_str().to_owned());
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
