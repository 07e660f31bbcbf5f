//! Any text as a policy file: parsing and validation (schema, ECR's limits, lifecycle rules) never
//! panic, and a policy that is accepted resolves for any repository name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_core::names::RepositoryName;
use warden_core::policy::Policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = Policy::from_yaml(text) {
        for name in ["team-a/api", "legacy/monolith", "sandbox/web", "a/b/c"] {
            if let Ok(repository) = RepositoryName::new(name) {
                let _ = policy.for_repository(&repository);
            }
        }
    }
});
