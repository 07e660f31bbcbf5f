//! What a scan-gate decision works from: the facts read so far ([`Facts`]) and the reads it asks
//! for next ([`Need`]), each with its API-call contract.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::names::{Digest, RepositoryName, Tag};
use crate::records::{
    ImageResource, ImageView, IndexClaim, IndexRecord, Manifest, ScanCoverage, SigningStatus,
    VerdictClaim, VerdictRecord,
};
use crate::signature::cosign::SignedPayload;
use crate::signature::notation::{NotationSignature, RevocationQuery};
use crate::trusted_key::TrustedKey;
use crate::verdict::{Finding, Verdict};

/// Facts read so far. `None` = not read yet.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub findings: Option<Vec<Finding>>,
    pub claim: Option<VerdictClaim>,
    /// The fingerprint the image's claim wrote (what a restore may replace).
    pub claimed: Option<String>,
    /// The image's current tags (release only).
    pub current_tags: Option<Option<Vec<Tag>>>,
    /// The image's manifest and where the asked tags point.
    pub image: Option<ImageView>,
    /// Inspector's coverage of the image (`Some(None)`: not covered).
    pub coverage: Option<Option<ScanCoverage>>,
    /// The repository's indexes that name the image as a child, and where every tag points.
    pub parents: Option<Parents>,
    /// The recorded verdicts of the parents' other platform images.
    pub sibling_verdicts: Option<Vec<(Digest, Option<Verdict>)>>,
    /// The recorded verdicts of a pushed index's platform images.
    pub child_verdicts: Option<Vec<(Digest, Option<Verdict>)>>,
    /// The verdict recorded for the image (a tag pushed onto it; `Some(None)`: none).
    pub recorded: Option<Option<VerdictRecord>>,
    /// The claims of the parents' derived verdicts, per index, with the fingerprint each wrote.
    pub index_claims: Option<Vec<(Digest, IndexClaim, String)>>,
    /// The claims were read as a dry run reads them, not written: nothing to put back.
    pub read_only: bool,
    /// The image's cosign signatures (its signature manifest's payloads).
    pub signatures: Option<Vec<SignedPayload>>,
    /// The cosign signatures of the indexes naming the image as a platform image.
    pub index_signatures: Option<Vec<(Digest, Vec<SignedPayload>)>>,
    /// When the image was pushed (`Some(None)`: ECR does not say).
    pub pushed_at: Option<Option<DateTime<Utc>>>,
    /// ECR managed signing's status of the image, per signing profile.
    pub managed_signing: Option<Vec<SigningStatus>>,
    /// The policy's KMS keys, their public keys read.
    pub kms_keys: Option<Vec<TrustedKey>>,
    /// The image's Notation signatures.
    pub notation: Option<Vec<NotationSignature>>,
    /// The Notation signatures of the indexes naming the image as a platform image.
    pub index_notation: Option<Vec<(Digest, Vec<NotationSignature>)>>,
    /// AWS Signer's answers so far: per query, the entities it reports revoked.
    pub revocations: Vec<(RevocationQuery, Vec<String>)>,
}

/// A multi-arch index naming the image as one of its platform images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentIndex {
    pub manifest: Manifest,
    pub tags: Vec<Tag>,
    /// Its platform images ([`crate::manifest::platform_children`]): attestations are not gated
    /// and never hold an index back.
    pub children: Vec<Digest>,
}

/// The image's parent indexes, and the owner of every tag in the repository (read in one listing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parents {
    pub indexes: Vec<ParentIndex>,
    pub owners: std::collections::BTreeMap<Tag, Digest>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "need", rename_all = "snake_case")]
pub enum Need {
    /// All the image's findings: basic (`DescribeImageScanFindings` pages of 1000) or Inspector's
    /// ACTIVE ones (`ListFindings` pages).
    Findings {
        image: ImageResource,
        enhanced: bool,
    },
    /// The indexes naming this image as a child: the repository listed (DescribeImages pages of
    /// 1000) and its indexes' manifests read (BatchGetImage, 100 per call).
    ParentIndexes {
        repository: RepositoryName,
        digest: Digest,
    },
    /// The recorded verdicts of these images, the parents' other platform images (1 GetItem each).
    Verdicts {
        repository: RepositoryName,
        digests: Vec<Digest>,
    },
    /// The recorded verdicts of a pushed index's platform images (1 GetItem each).
    ChildVerdicts {
        repository: RepositoryName,
        digests: Vec<Digest>,
    },
    /// Whether Inspector still scans the image (1 ListCoverage).
    Coverage { image: ImageResource },
    /// Record the verdict unless unchanged (1 conditional write).
    VerdictClaim { record: VerdictRecord },
    /// Record a pushed index's verdict, derived from its platform images' records, while they
    /// hold (as an index's verdict is: 1 GetItem and 1 transaction).
    IndexClaim { index: IndexRecord },
    /// Record each index's verdict derived from its platform images while the records it rests
    /// on hold (1 transaction each; in dry-run, 1 read each and no write).
    IndexVerdicts {
        records: Vec<IndexRecord>,
        dry: bool,
    },
    /// The verdict recorded for the image (1 GetItem).
    RecordedVerdict {
        repository: RepositoryName,
        digest: Digest,
    },
    /// Read the recorded verdict and compare with this record as a claim would (dry-run; 1 read).
    VerdictRead { record: VerdictRecord },
    /// The image's current tags (1 DescribeImages).
    CurrentTags {
        repository: RepositoryName,
        digest: Digest,
    },
    /// The image's cosign signatures: its `sha256-<hex>.sig` manifest (1 BatchGetImage) and each
    /// signature layer's payload (1 GetDownloadUrlForLayer and one download each).
    Signatures {
        repository: RepositoryName,
        digest: Digest,
    },
    /// These indexes' cosign signatures (as [`Need::Signatures`], per index).
    IndexSignatures {
        repository: RepositoryName,
        digests: Vec<Digest>,
    },
    /// The public keys of the policy's KMS keys, (name, key id) each (1 kms:GetPublicKey per key
    /// the first time a container asks, none after).
    KmsKeys { keys: Vec<(String, String)> },
    /// The image's Notation signatures (1 ListImageReferrers, 1 BatchGetImage, and per envelope
    /// 1 GetDownloadUrlForLayer and one download).
    NotationSignatures {
        repository: RepositoryName,
        digest: Digest,
    },
    /// These indexes' Notation signatures (as [`Need::NotationSignatures`], per index).
    IndexNotationSignatures {
        repository: RepositoryName,
        digests: Vec<Digest>,
    },
    /// Whether AWS Signer revoked these trusted signatures (1 GetRevocationStatus each).
    Revocations { queries: Vec<RevocationQuery> },
    /// ECR managed signing's status of the image (1 DescribeImageSigningStatus).
    ManagedSigning {
        repository: RepositoryName,
        digest: Digest,
    },
    /// When the image was pushed (1 DescribeImages).
    PushedAt {
        repository: RepositoryName,
        digest: Digest,
    },
    /// The image's manifest and where these tags point (1 BatchGetImage).
    ImageTags {
        repository: RepositoryName,
        digest: Digest,
        tags: Vec<Tag>,
    },
}
