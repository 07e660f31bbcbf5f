//! The emulator is evidence only where it repeats AWS's words (docs/emulator.md). This holds the
//! fidelity ledger to the patch layer: every behaviour the layer changes or adds has a row with a
//! verdict, every reading switch is described with each of its readings, every probe names the
//! documented sentence it asserts — and the harness keeps tests apart (one account each).
#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::path::Path;

use warden_tests::{Emulator, repo_root};

const VERDICTS: [&str; 3] = ["documented", "gap filled", "undocumented"];

fn ledger() -> String {
    std::fs::read_to_string(repo_root().join("docs/emulator.md")).unwrap()
}

/// The ledger's section for one heading, up to the next heading of the same or a higher level.
fn section<'a>(ledger: &'a str, heading: &str) -> Option<&'a str> {
    let start = ledger.find(heading)?;
    let rest = &ledger[start + heading.len()..];
    let end = rest
        .find("\n### ")
        .or_else(|| rest.find("\n## "))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

#[tokio::test]
async fn every_patched_behaviour_has_a_ledger_row_with_a_verdict() {
    let ledger = ledger();
    let patches = Emulator::shared().patches().await;
    assert!(
        patches.len() >= 20,
        "the emulator names its patches: {patches:?}"
    );
    let mut missing = Vec::new();
    for patch in &patches {
        let heading = format!("### `{patch}`");
        let Some(row) = section(&ledger, &heading) else {
            missing.push(format!("{patch}: no row"));
            continue;
        };
        let verdict = row
            .lines()
            .find_map(|l| l.trim().strip_prefix("- **Verdict:**"));
        let known = verdict.is_some_and(|v| VERDICTS.iter().any(|k| v.trim_start().starts_with(k)));
        if !known {
            missing.push(format!("{patch}: no verdict ({})", VERDICTS.join(" | ")));
        }
        let quoted = row.lines().any(|l| l.trim_start().starts_with("> "));
        if !quoted && !row.contains("no AWS sentence") {
            missing.push(format!(
                "{patch}: neither AWS's words nor 'no AWS sentence'"
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/emulator.md:\n{}",
        missing.join("\n")
    );
}

#[tokio::test]
async fn every_reading_switch_is_described_with_each_reading() {
    let ledger = ledger();
    let mut missing = Vec::new();
    for (switch, readings) in Emulator::shared().switches().await {
        let heading = format!("### reading `{switch}`");
        match section(&ledger, &heading) {
            None => missing.push(format!("{switch}: no section")),
            Some(text) => missing.extend(
                readings
                    .iter()
                    .filter(|r| !text.contains(&format!("`{r}`")))
                    .map(|r| format!("{switch}: reading `{r}` not described")),
            ),
        }
    }
    assert!(
        missing.is_empty(),
        "docs/emulator.md:\n{}",
        missing.join("\n")
    );
}

/// Every probe test's doc comment cites (`Cites …`) the sentence it asserts and where AWS wrote
/// it, and every sentence it quotes stands in the ledger too, word for word. A probe that can only
/// assert the patch's own choice is no evidence.
#[test]
fn every_probe_cites_the_sentence_it_asserts() {
    let root = repo_root().join("tests/tests");
    let mut files: Vec<_> = std::fs::read_dir(root.join("emulator_probe"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(root.join("emulator_probe_registry.rs"));
    let ledger = flat(&ledger());
    let mut uncited = Vec::new();
    let mut probes = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.trim_start().starts_with("#[tokio::test]") && line.trim() != "#[test]" {
                continue;
            }
            probes += 1;
            let name = lines.get(i + 1).copied().unwrap_or_default().trim();
            let docs: Vec<&str> = lines[..i]
                .iter()
                .rev()
                .take_while(|l| l.trim_start().starts_with("///"))
                .map(|l| l.trim_start().trim_start_matches("///").trim())
                .collect();
            if !docs.iter().any(|l| l.contains("Cites ")) {
                uncited.push(format!("{}: {name}: no citation", short(file)));
            }
            let comment: Vec<&str> = docs.into_iter().rev().collect();
            for quote in quotes(&comment.join(" ")) {
                if !ledger.contains(&quote) {
                    uncited.push(format!(
                        "{}: {name}: not in the ledger: \"{quote}\"",
                        short(file)
                    ));
                }
            }
        }
    }
    assert!(probes >= 15, "{probes} probes found");
    assert!(uncited.is_empty(), "probes:\n{}", uncited.join("\n"));
}

/// The ledger as one line of words: quote markers and line breaks gone.
fn flat(text: &str) -> String {
    let lines = text.lines().map(|l| l.trim_start().trim_start_matches('>'));
    lines
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `"…"` quotations in a doc comment, of four words or more (a name in quotes is no quote).
fn quotes(text: &str) -> Vec<String> {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let quoted = flat.split('"').skip(1).step_by(2);
    quoted
        .filter(|q| q.split_whitespace().count() >= 4)
        .map(str::to_owned)
        .collect()
}

fn short(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The harness, not AWS: each test acts in an account of its own, so tests on one emulator never
/// see each other's state.
#[tokio::test]
async fn accounts_are_isolated() {
    let emulator = Emulator::shared();
    let one = emulator.account().await;
    let two = emulator.account().await;
    assert_ne!(one.id, two.id);
    one.create_repository("probe/isolated").await;
    assert!(
        two.repository_names().await.is_empty(),
        "account {} sees account {}'s repository",
        two.id,
        one.id
    );
}
