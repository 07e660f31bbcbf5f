//! Seeding what the emulator cannot produce on its own: scan results, Inspector findings and
//! coverage, image ages and archive state, ECR response shapes.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use warden_core::names::Digest;

use crate::{REGION, TestAccount, http};

impl TestAccount {
    /// Give an image a finished scan with these findings (basic shape unless `enhanced`).
    pub async fn seed_scan(
        &self,
        repository: &str,
        digest: &Digest,
        status: &str,
        findings: Vec<Value>,
        enhanced: bool,
    ) {
        self.post(
            "/_warden/seed/ecr-scan",
            json!({"account": self.id, "region": REGION, "repository": repository, "digest": digest,
                   "status": status, "findings": findings, "enhanced": enhanced}),
        )
        .await;
    }

    /// End an image's ECR managed signing job for `profile` as AWS Signer would (`COMPLETE` or
    /// `FAILED`; the job exists when a signing rule matched its push).
    pub async fn seed_signing_status(
        &self,
        repository: &str,
        digest: &Digest,
        profile: &str,
        status: &str,
    ) {
        self.post(
            "/_warden/seed/signing-status",
            json!({"account": self.id, "region": REGION, "repository": repository, "digest": digest,
                   "profile": profile, "status": status,
                   "failureCode": "ACCESS_DENIED", "failureReason": "the pusher may not sign with the profile"}),
        )
        .await;
    }

    /// AWS revokes these certificates (per certificate: its TBS SHA-384 and its issuer's, hex), as
    /// only AWS can (no public API does it).
    pub async fn seed_revoked_certificates(&self, hashes: &[String]) {
        self.post(
            "/_warden/seed/signer-revoked-certificates",
            json!({"account": self.id, "region": REGION, "certificateHashes": hashes}),
        )
        .await;
    }

    /// AWS Signer's RevokeSignature of job `job_id` (`PUT /signing-jobs/{jobId}/revoke`), sent as
    /// the signer service's request (the emulator routes by the credential scope).
    pub async fn revoke_signing_job(&self, job_id: &str) {
        let var = |name: &str| {
            self.env
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let scope = format!(
            "{}/20261206/{REGION}/signer/aws4_request",
            var("AWS_ACCESS_KEY_ID")
        );
        let resp = http()
            .put(format!(
                "{}/signing-jobs/{job_id}/revoke",
                self.emulator_url
            ))
            .header("X-Amz-Security-Token", var("AWS_SESSION_TOKEN"))
            .header(
                "Authorization",
                format!("AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"),
            )
            .json(&json!({"jobOwner": self.id, "reason": "the build was compromised"}))
            .send()
            .await
            .expect("RevokeSignature");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "RevokeSignature failed: {status} {text}"
        );
    }

    /// Set images' push (and last pull) times, as seconds before now: registries are months old.
    pub async fn age_images(&self, repository: &str, ages: &[(&Digest, i64, Option<i64>)]) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let images: Vec<Value> = ages
            .iter()
            .map(|(d, pushed, pulled)| json!({"digest": d, "pushed_at": now - pushed, "last_pull": pulled.map(|p| now - p)}))
            .collect();
        self.post("/_warden/seed/image-times", json!({"account": self.id, "region": REGION, "repository": repository, "images": images}))
            .await;
    }

    /// Push many images into `repository` in `region` in one request (the emulator's bulk seed,
    /// each put as PutImage puts it): `(seed, tag, pushed seconds ago)` each, the image as
    /// [`TestAccount::push`] makes it. Answers the digests, in order.
    pub async fn push_many_in(
        &self,
        region: &str,
        repository: &str,
        images: &[(String, Option<String>, i64)],
    ) -> Vec<Digest> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let images: Vec<Value> = images
            .iter()
            .map(|(seed, tag, age)| json!({"manifest": crate::image_manifest(seed), "media_type": crate::OCI_MANIFEST, "tag": tag, "pushed_at": now - age}))
            .collect();
        let answer = self
            .post("/_warden/seed/images", json!({"account": self.id, "region": region, "repository": repository, "images": images}))
            .await;
        answer["digests"]
            .as_array()
            .expect("digests")
            .iter()
            .map(|d| Digest::new(d.as_str().expect("a digest")).expect("a digest"))
            .collect()
    }

    /// Put an image in ECR's archive storage class, archived `days_ago` days ago (or, with
    /// `activating`, being restored from it).
    pub async fn archive_image(
        &self,
        repository: &str,
        digest: &Digest,
        days_ago: i64,
        activating: bool,
    ) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let status = if activating { "ACTIVATING" } else { "ARCHIVED" };
        let image = json!({"digest": digest, "pushed_at": now - (days_ago + 30) * 86_400,
                           "status": status, "archived_at": now - days_ago * 86_400});
        self.post("/_warden/seed/image-times", json!({"account": self.id, "region": REGION, "repository": repository, "images": [image]}))
            .await;
    }

    /// Mark an image restored from archive `days_ago` days ago (its `lastActivatedAt`), ACTIVE.
    pub async fn restore_image(&self, repository: &str, digest: &Digest, days_ago: i64) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let image =
            json!({"digest": digest, "status": "ACTIVE", "activated_at": now - days_ago * 86_400});
        self.post("/_warden/seed/image-times", json!({"account": self.id, "region": REGION, "repository": repository, "images": [image]}))
            .await;
    }

    /// Set Inspector's coverage scan status of one image (as when it stops being eligible).
    pub async fn set_coverage(
        &self,
        repository: &str,
        digest: &Digest,
        status: &str,
        reason: &str,
    ) {
        let image = json!({"digest": digest, "coverage": {"statusCode": status, "reason": reason}});
        self.post("/_warden/seed/image-times", json!({"account": self.id, "region": REGION, "repository": repository, "images": [image]}))
            .await;
    }

    /// Choose, for this account, the readings of switches where AWS's words fit more than one
    /// behaviour (`tests/emulator/warden_emulator/readings.py`), e.g.
    /// `{"batch_delete_digest_and_tag": "tag"}`.
    pub async fn choose_readings(&self, readings: Value) {
        self.post(
            "/_warden/seed/readings",
            json!({"account": self.id, "region": REGION, "readings": readings}),
        )
        .await;
    }

    /// Arm a push that lands between a client's check and its next BatchDeleteImage in
    /// `repository`: just before that delete is answered, `tag` is put on the image `digest`.
    pub async fn push_before_next_delete(&self, repository: &str, tag: &str, digest: &Digest) {
        self.post(
            "/_warden/seed/push-before-delete",
            json!({"account": self.id, "region": REGION, "repository": repository, "tag": tag, "digest": digest}),
        )
        .await;
    }

    /// The reading of `switch` in force for this account (its own choice, else the server's).
    pub async fn reading(&self, switch: &str) -> String {
        let url = format!(
            "{}/_warden/readings?account={}&region={REGION}",
            self.emulator_url, self.id
        );
        let body: Value = crate::http()
            .get(url)
            .send()
            .await
            .expect("readings request")
            .json()
            .await
            .expect("readings JSON");
        body["switches"][switch]["active"]
            .as_str()
            .unwrap_or_else(|| panic!("no reading switch {switch}"))
            .to_owned()
    }

    /// Add (or replace, by findingArn) Inspector findings in this account.
    pub async fn seed_findings(&self, findings: Vec<Value>) {
        self.post(
            "/_warden/seed/inspector-findings",
            json!({"account": self.id, "region": REGION, "findings": findings}),
        )
        .await;
    }
}
