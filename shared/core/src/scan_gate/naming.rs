//! Quarantine tag names: unique per image, and read back to the tag they stand for.

use super::Subject;
use crate::names::{Digest, Tag};

/// ECR's longest tag.
const MAX_TAG: usize = 128;

fn suffix(digest: &Digest) -> String {
    format!("-{}", digest.short())
}

/// The quarantine name of `tag` on image `digest`: `<prefix><tag>-<short digest>`. Unique per
/// image, so two images' quarantines never collide (in an immutable repository a reused name would
/// be refused; in a mutable one it would steal the other image's tag). A tag too long for ECR's 128
/// characters is cut to fit. `None` only when the prefix leaves no room.
pub fn quarantine_tag(prefix: &str, tag: &Tag, digest: &Digest) -> Option<Tag> {
    let suffix = suffix(digest);
    let room = MAX_TAG.checked_sub(prefix.len() + suffix.len())?;
    let kept: String = tag.as_str().chars().take(room).collect();
    Tag::new(format!("{prefix}{kept}{suffix}")).ok()
}

/// Which original tag a quarantine tag of image `digest` stands for. `Err` for one of this image's
/// quarantine tags whose original name was cut to fit (it cannot be told); `Ok(None)` for any other
/// tag.
pub fn original_tag(prefix: &str, tag: &Tag, digest: &Digest) -> Result<Option<Tag>, String> {
    let suffix = suffix(digest);
    let Some(middle) = tag
        .as_str()
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix.as_str()))
    else {
        return Ok(None);
    };
    if prefix.len() + middle.len() + suffix.len() >= MAX_TAG {
        return Err(format!(
            "{tag}: the original name was cut to fit 128 characters; restore it by hand"
        ));
    }
    Ok(Tag::new(middle).ok())
}

/// The image's tags that a quarantine would move (not its quarantine tags).
pub(super) fn candidates(subject: &Subject, prefix: &str) -> Vec<Tag> {
    subject
        .tags
        .iter()
        .filter(|t| !t.as_str().starts_with(prefix))
        .cloned()
        .collect()
}
