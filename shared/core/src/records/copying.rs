//! What the copying port is asked to do: one copy to one destination.

use crate::destination::Target;
use crate::mutability::TagMutability;
use crate::names::{Digest, RepositoryName, Tag};

/// One copy of an image, read once from its source, to one destination.
pub struct CopyOrder<'a> {
    pub repository: &'a RepositoryName,
    pub digest: &'a Digest,
    /// The tags the copy gets; none: the image is copied by digest.
    pub tags: &'a [Tag],
    pub target: &'a Target,
    /// The policy's tag mutability for the destination repository's name, over the source's.
    pub mutability: Option<&'a TagMutability>,
}
