//! Lambda plumbing every function shares.

pub mod calls;
pub mod config;
pub mod env;
pub mod errors;
pub mod lambda;
pub mod pace;
pub mod policy_source;
pub mod telemetry;
pub mod tls;
