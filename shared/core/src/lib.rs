//! ecr-warden's pure core: the event model, the policy model, and the decisions
//! (event + policy + facts → a plan of actions). No AWS SDK, no I/O: facts arrive through the
//! [`ports`], and plans are plain data the adapters carry out.

pub mod budget;
pub mod certificate;
pub mod destination;
pub mod event;
pub mod execute;
pub mod explain;
pub mod fanout;
pub mod image_ref;
pub mod janitor;
pub mod manifest;
pub mod message;
pub mod mutability;
pub mod names;
pub mod notify;
pub mod operator;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod records;
pub mod replicate;
pub mod report;
pub mod scan_gate;
pub mod severity;
pub mod signature;
pub mod tag_guard;
pub mod trusted_key;
pub mod verdict;
