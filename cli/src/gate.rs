//! `warden gate IMAGE`: an existing image evaluated now, as scan-gate would on its next scan event —
//! its scan state, the verdict with its reasons, and what scan-gate would do (`--apply` does it).
//!
//! Exit: 0 PASS, 1 FAIL, 3 no verdict yet (never scanned, scan in progress, no gate for the
//! repository, or closed Inspector findings on an image no longer scanned), 2 input or AWS errors.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;
use warden_aws::adapters::ecr::EcrRegistry;
use warden_aws::functions::scan_gate::{ScanGate, ScanGateConfig};
use warden_aws::{ApiCalls, load_sdk_config};
use warden_core::message::Body;
use warden_core::operator::image_arg::{ImageArg, parse_image_arg};
use warden_core::plan::Action;
use warden_core::policy::{Policy, Signatures};
use warden_core::records::ImageState;
use warden_core::scan_gate::{Report, Subject, image_subject};
use warden_core::signature::{SignatureEvidence, SignatureVerdict};
use warden_core::verdict::Verdict;

use crate::aws::{Place, for_image};
use crate::signature_evidence::{SignatureRead, signature_evidence};
use crate::{emit, load_policy};

/// Exit code for "no verdict yet".
const NO_VERDICT: u8 = 3;

#[derive(clap::Args)]
pub(crate) struct GateArgs {
    /// The image: repo:tag, repo@sha256:<digest>, or its full URI (which names account and region).
    image: String,
    /// The policy file.
    #[arg(long, env = "WARDEN_POLICY_FILE")]
    policy: PathBuf,
    /// scan-gate's state table: the verdict it recorded decides whether a PASS releases.
    #[arg(long, env = "WARDEN_TABLE")]
    table: String,
    /// The warden topic (messages go where the policy routes them, else here).
    #[arg(long, env = "WARDEN_TOPIC_ARN")]
    topic_arn: Option<String>,
    /// Act: record the verdict, quarantine or release, publish — as scan-gate would.
    #[arg(long)]
    apply: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &GateArgs, calls: &ApiCalls) -> anyhow::Result<ExitCode> {
    let image = parse_image_arg(&args.image).map_err(anyhow::Error::msg)?;
    let policy = load_policy(&args.policy)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(gate_image(args, calls, &image, policy))
}

/// The image as ECR describes it now, its verdict as scan-gate would decide it (acted on with
/// `--apply`), printed; the exit code says the verdict.
async fn gate_image(
    args: &GateArgs,
    calls: &ApiCalls,
    image: &ImageArg,
    policy: Policy,
) -> anyhow::Result<ExitCode> {
    let sdk = load_sdk_config().await?;
    let place = for_image(&sdk, image, Some(&policy)).await?;
    let registry = EcrRegistry::from_sdk(&place.sdk, calls).in_registry(&place.account);
    let where_ = format!("{}/{}", place.account, place.region);
    let state = registry
        .image_state(&image.repository, &image.reference)
        .await
        .with_context(|| format!("{image} in {where_}"))?
        .with_context(|| format!("{image}: no such image in {where_}"))?;
    let digest = state.entry.digest.clone();
    let scan = json!({
        "status": state.scan_status,
        "description": state.scan_description,
        "counts": state.counts,
    });
    let subject = match image_subject(
        image.repository.clone(),
        digest.clone(),
        state.entry.tags.clone(),
        state.scan_status.as_deref(),
        state.counts.clone(),
        // What ECR says now: the read is the evidence's time.
        None,
    ) {
        Ok(subject) => subject,
        Err(why) => {
            no_verdict(args.json, &image.to_string(), &digest, &scan, &why)?;
            return Ok(ExitCode::from(NO_VERDICT));
        }
    };
    let signatures = policy
        .for_repository(&image.repository)
        .signatures
        .map(|s| s.value.clone());
    // Read first: the signatures are shown whatever `--apply` then does.
    let signature = match &signatures {
        Some(policy) => {
            Some(shown_signature(policy, &registry, &place, calls, image, &state).await)
        }
        None => None,
    };
    let (report, verdict) = scan_verdict(args, calls, &place, policy, &subject).await?;
    let seen = Seen {
        image: image.to_string(),
        tags: &state.entry.tags,
        digest: &digest,
        scan: &scan,
        signature: signature.as_ref(),
    };
    print_result(args, &seen, verdict, &report)?;
    Ok(exit_code(verdict, &report))
}

/// The verdict scan-gate gives `subject` now, as its `decide` and (with `--apply`) its executor
/// would.
async fn scan_verdict(
    args: &GateArgs,
    calls: &ApiCalls,
    place: &Place,
    policy: Policy,
    subject: &Subject,
) -> anyhow::Result<(Report, Option<Verdict>)> {
    let config = ScanGateConfig {
        table: args.table.clone(),
        topic_arn: args.topic_arn.clone(),
        dry_run: false,
    };
    let gate = ScanGate::new(&place.home, calls, policy, config)
        .with_named_accounts(&place.home)
        .await;
    let (account, region) = (place.account.clone(), place.region.clone());
    Ok(gate.gate(subject, account, region, args.apply).await?)
}

/// What the gate shows of the image's signatures: the evidence, or why there is none to show.
enum SignatureShown {
    Evidence(SignatureEvidence),
    Unread { unread: String },
}

impl SignatureShown {
    /// The `signature` of `--json`: the evidence as is, or `{"unread": why}`.
    fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Evidence(evidence) => {
                serde_json::to_value(evidence).unwrap_or_else(|e| json!({"unread": e.to_string()}))
            }
            Self::Unread { unread } => json!({ "unread": unread }),
        }
    }
}

/// The signature evidence of the image `state` describes, read where `place` says.
async fn shown_signature(
    policy: &Signatures,
    registry: &EcrRegistry,
    place: &Place,
    calls: &ApiCalls,
    image: &ImageArg,
    state: &ImageState,
) -> SignatureShown {
    let read = SignatureRead::new(registry, place, calls);
    let entry = &state.entry;
    match signature_evidence(
        policy,
        &read,
        &image.repository,
        &entry.digest,
        entry.pushed_at,
    )
    .await
    {
        Ok(evidence) => SignatureShown::Evidence(evidence),
        Err(unread) => SignatureShown::Unread { unread },
    }
}

/// What was read of the image.
struct Seen<'a> {
    image: String,
    tags: &'a [warden_core::names::Tag],
    digest: &'a warden_core::names::Digest,
    scan: &'a serde_json::Value,
    /// What the image's cosign signatures prove, when its repository has a `signatures` policy.
    signature: Option<&'a SignatureShown>,
}

/// The verdict and what it did, as JSON or as the summary.
fn print_result(
    args: &GateArgs,
    seen: &Seen<'_>,
    verdict: Option<Verdict>,
    report: &Report,
) -> anyhow::Result<()> {
    if args.json {
        return emit(&serde_json::to_string_pretty(&json!({
            "image": seen.image,
            "digest": seen.digest,
            "tags": seen.tags,
            "scan": seen.scan,
            "signature": seen.signature.map(SignatureShown::to_json),
            "verdict": verdict.map(Verdict::as_str),
            "applied": args.apply,
            "report": report,
        }))?);
    }
    emit(&summary(seen, verdict, report, args.apply))
}

/// 0 PASS, 1 FAIL, 2 PASS with errors, NO_VERDICT when the facts gave none.
fn exit_code(verdict: Option<Verdict>, report: &Report) -> ExitCode {
    match verdict {
        Some(Verdict::Pass) if report.errors.is_empty() => ExitCode::SUCCESS,
        Some(Verdict::Fail) => ExitCode::from(1),
        Some(Verdict::Pass) => ExitCode::from(2),
        None => ExitCode::from(NO_VERDICT),
    }
}

/// Why there is no verdict yet (a scan not finished, none made), as text or JSON.
fn no_verdict(
    json: bool,
    image: &str,
    digest: &warden_core::names::Digest,
    scan: &serde_json::Value,
    why: &str,
) -> anyhow::Result<()> {
    if json {
        emit(&serde_json::to_string_pretty(&json!({
            "image": image, "digest": digest, "scan": scan, "verdict": null, "why": why,
        }))?)
    } else {
        emit(&format!("{image} → {digest}\nno verdict: {why}"))
    }
}

fn summary(seen: &Seen<'_>, verdict: Option<Verdict>, report: &Report, applied: bool) -> String {
    let (image, digest, scan) = (seen.image.as_str(), seen.digest, seen.scan);
    let tags: Vec<&str> = seen.tags.iter().map(|t| t.as_str()).collect();
    let tags = if tags.is_empty() {
        "none".to_owned()
    } else {
        tags.join(", ")
    };
    let named = if image.contains('@') {
        image.to_owned()
    } else {
        format!("{image} → {digest}")
    };
    let mut out = format!("image     {named} (tags: {tags})\n");
    let counts = counts_line(scan, report);
    out.push_str(&format!(
        "scan      {} {counts}\n",
        scan["status"].as_str().unwrap_or("none")
    ));
    match seen.signature {
        Some(SignatureShown::Evidence(evidence)) => out.push_str(&signature_line(evidence)),
        Some(SignatureShown::Unread { unread }) => {
            out.push_str(&format!("signature not shown: {unread}\n"));
        }
        None => {}
    }
    out.push_str(&format!(
        "verdict   {}\n",
        verdict.map_or("none (see decision)", Verdict::as_str)
    ));
    for plan in &report.plans {
        out.push_str(&format!("decision  {}\n", plan.decision));
        for action in &plan.actions {
            out.push_str(&action_lines(action));
        }
    }
    for error in &report.errors {
        out.push_str(&format!("error     {error}\n"));
    }
    out.push_str(if applied {
        "applied: as scan-gate would have"
    } else {
        "plan only: nothing was changed (--apply acts)"
    });
    out
}

/// The counts ECR gave, else those the verdict counted from the whole findings listing.
fn counts_line(scan: &serde_json::Value, report: &Report) -> String {
    let listed = |m: &serde_json::Map<String, serde_json::Value>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let counted = report
        .plans
        .iter()
        .flat_map(|p| &p.actions)
        .find_map(|a| match a {
            Action::Publish { message, .. } => match &message.body {
                Body::Verdict(body) => serde_json::to_value(&body.counts).ok(),
                _ => None,
            },
            _ => None,
        });
    match (scan["counts"].as_object(), counted) {
        (Some(given), _) => listed(given),
        (None, Some(serde_json::Value::Object(counted))) => {
            format!("{} (counted from the findings)", listed(&counted))
        }
        _ => String::new(),
    }
}

/// One planned action as the summary shows it: each tag move, a message's reasons, anything else
/// as JSON.
fn action_lines(action: &Action) -> String {
    let mut out = String::new();
    match action {
        Action::MoveTags { moves, .. } => {
            for m in moves {
                out.push_str(&format!("action    move tag {} → {}\n", m.from, m.to));
            }
        }
        Action::Publish { message, .. } => {
            if let Body::Verdict(body) = &message.body {
                for reason in &body.reasons {
                    out.push_str(&format!("reason    {reason}\n"));
                }
            }
            out.push_str(&format!("action    tell: {}\n", message.action));
        }
        other => out.push_str(&format!(
            "action    {}\n",
            serde_json::to_string(other).unwrap_or_default()
        )),
    }
    out
}

/// What the image's own signatures prove, in one line (the verdict includes it, and an index's
/// signature covering the image: docs/signatures.md).
fn signature_line(evidence: &SignatureEvidence) -> String {
    let shown = match &evidence.verdict {
        SignatureVerdict::Pass { key } => format!("PASS signed by {key}"),
        SignatureVerdict::Pending { until } => format!(
            "PENDING {} until {} (grace)",
            evidence.check.reason().unwrap_or("unsigned"),
            until.to_rfc3339()
        ),
        SignatureVerdict::Fail { reason } => format!("FAIL {reason}"),
    };
    let unchecked = if evidence.not_checked.is_empty() {
        String::new()
    } else {
        let kinds: Vec<String> = evidence
            .not_checked
            .iter()
            .map(|k| {
                serde_json::to_value(k).map_or_else(
                    |_| format!("{k:?}"),
                    |v| v.as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        format!(" (not checked yet: {})", kinds.join(", "))
    };
    format!("signature {shown}{unchecked}\n")
}
