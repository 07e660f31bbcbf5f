//! What the CLI's test files share: running `warden` as a user would, and reading what it printed.
// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use warden_tests::TestAccount;

/// The repository root (the fixtures and the example policy are named relative to it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `warden ARGS` with no AWS at hand.
pub fn warden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// `warden ARGS` acting in `acct` (only its credentials and the emulator: no profile, no instance
/// metadata), with `env` added — an empty value removes the variable.
pub fn warden_in(acct: &TestAccount, args: &[&str], env: &[(&str, &str)]) -> Output {
    command_in(acct, args, env).output().unwrap()
}

/// The command [`warden_in`] runs, for a test that spawns it and reads it while it runs.
pub fn command_in(acct: &TestAccount, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
    cmd.args(args)
        .current_dir(root())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .envs(acct.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    cmd
}

pub fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Exit code, stdout and stderr, for an assertion's message.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A policy file with this text, in a folder of its own.
pub fn policy_file(name: &str, yaml: &str) -> String {
    let dir = std::env::temp_dir().join(format!("warden-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.yaml");
    std::fs::write(&path, yaml).unwrap();
    path.to_str().unwrap().to_owned()
}
