//! Property: events about one image — its scans (basic and Inspector counts), Inspector finding
//! changes, and pushes of its tags (a re-tag after the scan, and scan-gate's own quarantine and
//! release pushes) — delivered in any order and any number of times converge to the end state of
//! in-order delivery: the same tags on every image and the same recorded verdict. scan-gate's real
//! decision loop (`scan_gate::handle_event`) runs over the in-memory ports of `kit`.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

mod kit;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use warden_core::event::{Event, parse_event};
use warden_core::names::{AccountId, Digest, Region, Tag};
use warden_core::policy::Policy;
use warden_core::records::Manifest;
use warden_core::scan_gate::{Context, Ports, handle_event};
use warden_core::severity::Severity;
use warden_core::verdict::{Finding, Verdict};

use kit::{POLICY, Registry, Scanners, Topic, Verdicts};

const REPOSITORY: &str = "team-a/api";
const ACCOUNT: &str = "123456789012";

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn image() -> Manifest {
    let bytes = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000001","size":1},"layers":[]}"#;
    Manifest {
        digest: Digest::of_bytes(bytes.as_bytes()),
        media_type: Some("application/vnd.oci.image.manifest.v1+json".to_owned()),
        bytes: bytes.to_owned(),
    }
}

fn critical(id: &str) -> Finding {
    Finding {
        id: id.to_owned(),
        severity: Severity::Critical,
        package: None,
        installed_version: None,
        fixed_in: None,
        fix_available: Some(true),
        uri: None,
    }
}

fn at(second: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000 + second, 0).unwrap()
}

/// What happened to the image, in the order it happened.
#[derive(Debug, Clone)]
enum Happening {
    /// A basic scan finished with this many CRITICAL findings.
    BasicScan { critical: u64 },
    /// Inspector's scan finished; `complete`: its counts break every finding out.
    InspectorScan { critical: u64, complete: bool },
    /// An Inspector finding changed (the current ACTIVE findings decide).
    Finding,
    /// A tag was pushed onto the image (`v1` first; `v4` a promotion by re-tag).
    Push { tag: &'static str },
}

/// The event each happening sends, at `second`.
fn event(happening: &Happening, digest: &Digest, second: i64) -> Event {
    let time = at(second).to_rfc3339();
    let mut e = match happening {
        Happening::BasicScan { critical } => {
            let mut e = fixture("ecr-image-scan.complete.json");
            e["detail"]["finding-severity-counts"] = if *critical > 0 {
                json!({"CRITICAL": critical})
            } else {
                json!({})
            };
            e["detail"]["image-tags"] = json!(["v1"]);
            e
        }
        Happening::InspectorScan { critical, complete } => {
            let mut e = fixture("inspector2-scan.initial-scan-complete.json");
            e["detail"]["finding-severity-counts"] = if *complete {
                json!({"CRITICAL": critical, "HIGH": 0, "MEDIUM": 0, "TOTAL": critical})
            } else {
                json!({"TOTAL": critical})
            };
            e["detail"]["image-tags"] = json!(["v1"]);
            e
        }
        Happening::Finding => {
            let mut e = fixture("inspector2-finding.active.json");
            let image = &mut e["detail"]["resources"][0]["details"]["awsEcrContainerImage"];
            image["imageHash"] = json!(digest);
            image["imageTags"] = json!(["v1"]);
            e
        }
        Happening::Push { tag } => {
            let mut e = fixture("ecr-image-action.push.json");
            e["detail"]["image-tag"] = json!(tag);
            e
        }
    };
    e["time"] = json!(time);
    e["account"] = json!(ACCOUNT);
    if e["detail"]["image-digest"].is_string() {
        e["detail"]["image-digest"] = json!(digest);
    }
    if e["detail"]["repository-name"]
        .as_str()
        .is_some_and(|r| !r.starts_with("arn:"))
    {
        e["detail"]["repository-name"] = json!(REPOSITORY);
    }
    parse_event(e).unwrap()
}

/// One world: the registry after every push happened, the scanners' final answers, an empty table.
struct World {
    registry: Registry,
    scanners: Scanners,
    verdicts: Verdicts,
    topic: Topic,
}

fn world(inspector_active: bool, basic_critical: u64) -> World {
    let registry = Registry::default();
    registry.push(&image(), &Tag::new("v1").unwrap());
    let scanners = Scanners {
        basic: (0..basic_critical)
            .map(|i| critical(&format!("CVE-B-{i}")))
            .collect(),
        inspector: if inspector_active {
            vec![critical("CVE-I-1")]
        } else {
            Vec::new()
        },
    };
    World {
        registry,
        scanners,
        verdicts: Verdicts::default(),
        topic: Topic::default(),
    }
}

/// Tags per image, and the recorded verdicts.
type EndState = (Vec<(Digest, Vec<Tag>)>, Vec<(Digest, Verdict)>);

/// Deliver `events` in this order, the re-tag (`v4` pushed onto the image) happening just before
/// the `retag_at`-th delivery; each evaluation's clock after every event's time. A retryable
/// failure puts the event back at the end (as EventBridge retries), at most twice.
fn deliver(world: &World, events: &[Event], retag_at: Option<usize>) -> EndState {
    let policy = Policy::from_yaml(POLICY).unwrap();
    let ports = Ports {
        images: &world.registry,
        catalog: &world.registry,
        findings: &world.scanners,
        verdicts: &world.verdicts,
        publisher: &world.topic,
        status: &world.registry,
        signatures: &world.registry,
        public_keys: &world.registry,
        revocations: &world.registry,
        deadlines: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut queue: Vec<(Event, u8)> = events.iter().cloned().map(|e| (e, 0)).collect();
    let mut clock = 1_000;
    let mut delivered = 0;
    while !queue.is_empty() {
        if retag_at == Some(delivered) {
            world.registry.push(&image(), &Tag::new("v4").unwrap());
        }
        delivered += 1;
        let (event, tries) = queue.remove(0);
        clock += 1;
        let ctx = Context {
            account: AccountId::new(ACCOUNT).unwrap(),
            region: Region::new("us-east-1").unwrap(),
            event_id: None,
            force_dry_run: false,
            now: at(clock),
        };
        let result = runtime.block_on(handle_event(&event, &policy, &ctx, &ports));
        match result {
            Ok(report) => assert!(report.errors.is_empty(), "{:?}", report.errors),
            Err(e) if e.is_retryable() && tries < 2 => queue.push((event, tries + 1)),
            Err(e) => panic!("{e}"),
        }
    }
    if retag_at.is_some_and(|k| k >= delivered) {
        world.registry.push(&image(), &Tag::new("v4").unwrap());
    }
    (world.registry.state(), world.verdicts.verdicts())
}

/// The end state's own promise: a FAIL leaves the image no tag but quarantine tags, a PASS (or no
/// verdict) leaves it none.
fn holds(state: &[(Digest, Vec<Tag>)], verdicts: &[(Digest, Verdict)]) -> Result<(), String> {
    for (digest, tags) in state {
        let verdict = verdicts.iter().find(|(d, _)| d == digest).map(|(_, v)| *v);
        let quarantined = tags
            .iter()
            .filter(|t| t.as_str().starts_with("quarantine-"))
            .count();
        match verdict {
            Some(Verdict::Fail) if quarantined != tags.len() => {
                return Err(format!("FAIL, yet deployable by {tags:?}"));
            }
            Some(Verdict::Pass) | None if quarantined > 0 => {
                return Err(format!("{verdict:?}, yet quarantined: {tags:?}"));
            }
            _ => {}
        }
    }
    Ok(())
}

fn happening() -> impl Strategy<Value = Happening> {
    prop_oneof![
        (0u64..2).prop_map(|critical| Happening::BasicScan { critical }),
        (0u64..2, any::<bool>())
            .prop_map(|(critical, complete)| Happening::InspectorScan { critical, complete }),
        Just(Happening::Finding),
        Just(Happening::Push { tag: "v1" }),
        Just(Happening::Push { tag: "v4" }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Any order, any duplication: the end state of in-order delivery.
    #[test]
    fn any_order_and_any_duplication_converge_to_in_order_delivery(
        history in prop::collection::vec(happening(), 1..7),
        retagged in any::<bool>(),
        inspector_active in any::<bool>(),
        shuffle in prop::collection::vec(any::<prop::sample::Index>(), 1..14),
    ) {
        let digest = image().digest;
        // Counts that disagree with the listing are retried until the listing catches up; here
        // the listing is final, so an incomplete Inspector count says what the listing shows.
        let listed = u64::from(inspector_active);
        let mut history: Vec<Happening> = history
            .into_iter()
            .filter(|h| retagged || !matches!(h, Happening::Push { tag: "v4" }))
            .map(|h| match h {
                Happening::InspectorScan { complete: false, .. } => {
                    Happening::InspectorScan { critical: listed, complete: false }
                }
                other => other,
            })
            .collect();
        // A re-tag is a push: ECR sends its event.
        if retagged && !history.iter().any(|h| matches!(h, Happening::Push { tag: "v4" })) {
            history.push(Happening::Push { tag: "v4" });
        }
        prop_assume!(!history.is_empty());
        let basic_critical = history
            .iter()
            .rev()
            .find_map(|h| match h {
                Happening::BasicScan { critical } => Some(*critical),
                _ => None,
            })
            .unwrap_or(0);
        let events: Vec<Event> = history
            .iter()
            .enumerate()
            .map(|(i, h)| event(h, &digest, i64::try_from(i).unwrap() * 10))
            .collect();

        // The re-tag happens just before its push event is delivered in order; in any order, at
        // a random moment no later than the first delivery of that event.
        let first_v4 = |list: &[Event]| {
            list.iter().position(|e| {
                matches!(&e.detail, warden_core::event::Detail::ImagePush(p)
                    if p.image_tag.as_ref().is_some_and(|t| t.as_str() == "v4"))
            })
        };
        let retag_in_order = if retagged { Some(first_v4(&events).unwrap_or(events.len())) } else { None };
        let in_order = deliver(&world(inspector_active, basic_critical), &events, retag_in_order);
        prop_assert_eq!(holds(&in_order.0, &in_order.1), Ok(()));

        // Any order, each event at least once: picks from the shuffle, then every event once more.
        let mut delivered: Vec<Event> = shuffle.iter().map(|i| events[i.index(events.len())].clone()).collect();
        let mut rest = events.clone();
        let rotate = shuffle[0].index(rest.len());
        rest.rotate_left(rotate);
        delivered.extend(rest.into_iter().rev());
        let retag_any = retagged.then(|| {
            let latest = first_v4(&delivered).unwrap_or(delivered.len());
            shuffle[shuffle.len() - 1].index(latest + 1)
        });
        let any_order = deliver(&world(inspector_active, basic_critical), &delivered, retag_any);

        prop_assert_eq!(any_order, in_order);
    }
}

#[test]
fn the_generator_reaches_quarantine_and_release() {
    // One concrete run of each end: a FAIL quarantines every tag the image holds; a newer PASS
    // gives them back.
    let digest = image().digest;
    let fail = event(&Happening::BasicScan { critical: 1 }, &digest, 0);
    let pass = event(
        &Happening::InspectorScan {
            critical: 0,
            complete: true,
        },
        &digest,
        10,
    );
    let w = world(false, 1);
    let (state, verdicts) = deliver(&w, std::slice::from_ref(&fail), Some(0));
    let q = |t: &str| Tag::new(format!("quarantine-{t}-{}", digest.short())).unwrap();
    assert_eq!(state, [(digest.clone(), vec![q("v1"), q("v4")])]);
    assert_eq!(verdicts, [(digest.clone(), Verdict::Fail)]);
    let (state, _) = deliver(&w, &[pass, fail], None);
    assert_eq!(
        state,
        [(
            digest,
            vec![Tag::new("v1").unwrap(), Tag::new("v4").unwrap()]
        )]
    );
}
