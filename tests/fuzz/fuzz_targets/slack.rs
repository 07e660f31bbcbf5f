//! Any warden message (JSON, seeded with real ones) rendered as Slack Block Kit stays within
//! Slack's limits: at most 50 blocks, header text 150 characters, section and context text 3000,
//! 10 fields per section (each 2000), button text 75, the fallback text 3000.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use warden_core::message::Message;
use warden_core::notify::slack::{
    MAX_BLOCKS, MAX_BUTTON_TEXT, MAX_FIELDS, MAX_HEADER, MAX_SECTION_TEXT, render,
};

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

fuzz_target!(|data: &[u8]| {
    let Ok(message) = serde_json::from_slice::<Message>(data) else {
        return;
    };
    let rendered = render(&message);
    assert!(
        chars(&rendered["text"]) <= MAX_SECTION_TEXT,
        "fallback text too long"
    );
    let blocks = rendered["blocks"].as_array().expect("blocks");
    assert!(blocks.len() <= MAX_BLOCKS, "{} blocks", blocks.len());
    for block in blocks {
        match block["type"].as_str() {
            Some("header") => assert!(
                chars(&block["text"]["text"]) <= MAX_HEADER,
                "header too long"
            ),
            Some("section") => {
                assert!(
                    chars(&block["text"]["text"]) <= MAX_SECTION_TEXT,
                    "section text too long"
                );
                if let Some(fields) = block["fields"].as_array() {
                    assert!(fields.len() <= MAX_FIELDS, "{} fields", fields.len());
                    for field in fields {
                        assert!(chars(&field["text"]) <= 2000, "field too long");
                    }
                }
            }
            Some("context") => {
                for element in block["elements"].as_array().into_iter().flatten() {
                    assert!(
                        chars(&element["text"]) <= MAX_SECTION_TEXT,
                        "context too long"
                    );
                }
            }
            Some("actions") => {
                let elements = block["elements"].as_array().expect("elements");
                assert!(elements.len() <= 25, "{} actions", elements.len());
                for button in elements {
                    assert!(
                        chars(&button["text"]["text"]) <= MAX_BUTTON_TEXT,
                        "button text too long"
                    );
                }
            }
            Some("divider") => {}
            other => panic!("unknown block type {other:?}"),
        }
    }
});
