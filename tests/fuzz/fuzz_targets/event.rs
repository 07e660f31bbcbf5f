//! Any bytes as a Lambda payload: an EventBridge event of any kind (ECR, Inspector, CloudTrail), an
//! SQS batch or an SNS delivery. Parsing never panics; what parses is described (as `warden
//! explain` and every summary line do) without panicking, and each queued record's event is parsed
//! the way scan-gate parses it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_core::event::{Incoming, QueuedEvent, parse_incoming};
use warden_core::explain::describe;

fuzz_target!(|data: &[u8]| {
    if let Ok(incoming) = parse_incoming(data) {
        let _ = describe(&incoming);
        if let Incoming::Queue(batch) = &incoming {
            for record in &batch.records {
                let _ = record.event();
            }
        }
    }
});
