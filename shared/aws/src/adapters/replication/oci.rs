//! A registry's OCI distribution endpoint (`/v2/`) at either end of a copy: manifests by GET/PUT,
//! blobs by HEAD/GET and chunked uploads (POST, PATCH in order, PUT with the digest) — raw bytes,
//! where ECR's API carries parts base64-encoded in JSON. Works with CNCF distribution and with ECR's
//! own endpoint (`https://<account>.dkr.ecr.<region>.amazonaws.com`, Basic auth from
//! GetAuthorizationToken).

use std::collections::BTreeSet;

use async_trait::async_trait;
use reqwest::{Method, RequestBuilder, Response, StatusCode, header};
use warden_core::names::{Digest, RepositoryName, Tag};
use warden_core::ports::PortError;
use warden_core::records::Manifest;
use warden_core::replicate::image::NewRepository;
use warden_core::replicate::template::CreationTemplate;

use super::endpoint::{CopySource, CopyTarget, Put, UploadSession};

/// Every manifest type a copy must round-trip unchanged (asked for in `Accept`).
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.v1+prettyjws";
/// Upload part size: distribution takes any; ECR's endpoint wants 5–20 MiB.
const PART: usize = 10 * 1024 * 1024;
const OP: &str = "registry API";

/// One registry's `/v2/` endpoint.
#[derive(Clone)]
pub struct OciRegistry {
    base: String,
    authorization: Option<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for OciRegistry {
    // The authorization header is a credential: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OciRegistry")
            .field("base", &self.base)
            .finish()
    }
}

impl OciRegistry {
    /// `base` is `scheme://host[:port]`; `authorization` a ready `Authorization` header value
    /// (`Basic …` for ECR), or none.
    pub fn new(base: &str, authorization: Option<String>, http: reqwest::Client) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            authorization,
            http,
        }
    }

    fn request(&self, method: Method, url: &str) -> RequestBuilder {
        let request = self.http.request(method, url);
        match &self.authorization {
            Some(value) => request.header(header::AUTHORIZATION, value),
            None => request,
        }
    }

    fn url(&self, repository: &RepositoryName, path: &str) -> String {
        format!("{}/v2/{repository}/{path}", self.base)
    }

    /// A `Location` header resolved against the registry (distribution answers relative paths).
    fn location(&self, response: &Response) -> Result<String, PortError> {
        let raw = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| invalid("an upload answer without Location"))?;
        Ok(
            if raw.starts_with("http://") || raw.starts_with("https://") {
                raw.to_owned()
            } else {
                format!("{}{raw}", self.base)
            },
        )
    }

    /// The manifest `reference` (tag or digest) names, as stored; `None` when there is none. One GET.
    async fn manifest(
        &self,
        repository: &RepositoryName,
        reference: &str,
    ) -> Result<Option<Manifest>, PortError> {
        let response = send(
            self.request(
                Method::GET,
                &self.url(repository, &format!("manifests/{reference}")),
            )
            .header(header::ACCEPT, MANIFEST_TYPES),
        )
        .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = check(response)?;
        let media_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
        let bytes = response.text().await.map_err(transient)?;
        let digest = Digest::of_bytes(bytes.as_bytes());
        if reference.starts_with("sha256:") && digest.as_str() != reference {
            return Err(invalid(format!(
                "manifest {reference}: the registry's bytes hash to {digest}"
            )));
        }
        Ok(Some(Manifest {
            digest,
            media_type,
            bytes,
        }))
    }
}

#[async_trait]
impl CopySource for OciRegistry {
    /// 1 GET for the image, 1 per tag asked.
    async fn image_and_tagged(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<(Option<Manifest>, Vec<(Tag, Manifest)>), PortError> {
        let image = self.manifest(repository, digest.as_str()).await?;
        let mut tagged = Vec::new();
        for tag in tags {
            if let Some(manifest) = self.manifest(repository, tag.as_str()).await? {
                tagged.push((tag.clone(), manifest));
            }
        }
        Ok((image, tagged))
    }

    /// A distribution registry keeps no repository settings to carry over.
    async fn repository_setup(
        &self,
        _repository: &RepositoryName,
    ) -> Result<Option<NewRepository>, PortError> {
        Ok(None)
    }

    /// 1 GET of the distribution spec's referrers API (`/v2/<name>/referrers/<digest>`); a
    /// registry without it (404) has none to offer.
    async fn referrers(
        &self,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<Digest>, PortError> {
        let response = send(
            self.request(
                Method::GET,
                &self.url(repository, &format!("referrers/{digest}")),
            )
            .header(header::ACCEPT, "application/vnd.oci.image.index.v1+json"),
        )
        .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        let bytes = check(response)?.text().await.map_err(transient)?;
        Ok(warden_core::manifest::manifest_links(&bytes).0)
    }

    /// 1 GET per digest.
    async fn manifests(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Vec<Manifest>, PortError> {
        let mut found = Vec::new();
        for digest in digests {
            found.extend(self.manifest(repository, digest.as_str()).await?);
        }
        Ok(found)
    }

    /// 1 GET (redirects followed; the credential is not sent to another host).
    async fn open_blob(
        &self,
        _http: &reqwest::Client,
        repository: &RepositoryName,
        digest: &Digest,
    ) -> Result<Response, PortError> {
        let response = self
            .request(
                Method::GET,
                &self.url(repository, &format!("blobs/{digest}")),
            )
            .send()
            .await
            .map_err(|e| super::download_error(digest, e))?;
        super::success(digest, response)
    }
}

#[async_trait]
impl CopyTarget for OciRegistry {
    /// 1 HEAD per blob. A repository exists as soon as something is pushed to it: never `None`.
    async fn available(
        &self,
        repository: &RepositoryName,
        digests: &[Digest],
    ) -> Result<Option<BTreeSet<Digest>>, PortError> {
        let mut available = BTreeSet::new();
        for digest in digests {
            let response = send(self.request(
                Method::HEAD,
                &self.url(repository, &format!("blobs/{digest}")),
            ))
            .await?;
            if response.status().is_success() {
                available.insert(digest.clone());
            } else if response.status() != StatusCode::NOT_FOUND {
                check(response)?;
            }
        }
        Ok(Some(available))
    }

    /// None: the OCI distribution API has no such thing.
    async fn creation_templates(&self) -> Result<Vec<CreationTemplate>, PortError> {
        Ok(Vec::new())
    }

    /// Nothing to do: the registry creates repositories on push (and has none of these settings).
    async fn create_repository(
        &self,
        _repository: &RepositoryName,
        _settings: &NewRepository,
    ) -> Result<Vec<String>, PortError> {
        Ok(Vec::new())
    }

    /// 1 POST.
    async fn start_upload(
        &self,
        repository: &RepositoryName,
    ) -> Result<Box<dyn UploadSession>, PortError> {
        let response = check(
            send(self.request(Method::POST, &self.url(repository, "blobs/uploads/"))).await?,
        )?;
        Ok(Box::new(OciUpload {
            registry: self.clone(),
            location: self.location(&response)?,
        }))
    }

    /// 1 HEAD (the manifest there already: present), else 1 PUT.
    async fn put(
        &self,
        repository: &RepositoryName,
        manifest: &Manifest,
        tag: Option<&Tag>,
    ) -> Result<Put, PortError> {
        let reference = tag.map_or(manifest.digest.as_str(), Tag::as_str);
        let url = self.url(repository, &format!("manifests/{reference}"));
        let head = send(
            self.request(Method::HEAD, &url)
                .header(header::ACCEPT, MANIFEST_TYPES),
        )
        .await?;
        let there = head
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok());
        if head.status().is_success() && there == Some(manifest.digest.as_str()) {
            return Ok(Put::Present);
        }
        let mut put = self.request(Method::PUT, &url).body(manifest.bytes.clone());
        if let Some(media_type) = &manifest.media_type {
            put = put.header(header::CONTENT_TYPE, media_type);
        }
        check(send(put).await?)?;
        Ok(Put::Put)
    }
}

struct OciUpload {
    registry: OciRegistry,
    location: String,
}

#[async_trait]
impl UploadSession for OciUpload {
    fn part_size(&self) -> usize {
        PART
    }

    /// 1 PATCH; the next part goes to the Location it answers.
    async fn part(&mut self, first: u64, bytes: Vec<u8>) -> Result<(), PortError> {
        let last = first + bytes.len() as u64 - 1;
        let response = check(
            send(
                self.registry
                    .request(Method::PATCH, &self.location)
                    .header(header::CONTENT_TYPE, "application/octet-stream")
                    .header(header::CONTENT_RANGE, format!("{first}-{last}"))
                    .body(bytes),
            )
            .await?,
        )?;
        self.location = self.registry.location(&response)?;
        Ok(())
    }

    /// 1 PUT with the digest; the registry checks it against the bytes.
    async fn finish(self: Box<Self>, digest: &Digest) -> Result<(), PortError> {
        let separator = if self.location.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{separator}digest={digest}", self.location);
        check(send(self.registry.request(Method::PUT, &url)).await?)?;
        Ok(())
    }

    /// 1 DELETE (best effort: a registry also expires abandoned uploads).
    async fn abandon(self: Box<Self>) {
        let _ = self
            .registry
            .request(Method::DELETE, &self.location)
            .send()
            .await;
    }
}

async fn send(request: RequestBuilder) -> Result<Response, PortError> {
    request.send().await.map_err(transient)
}

/// The response if it succeeded, else a typed error: 401/403 denied, 404 not found, 429 and 5xx
/// retryable, the rest refused.
fn check(response: Response) -> Result<Response, PortError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let message = format!("HTTP {status}");
    Err(match status.as_u16() {
        401 | 403 => PortError::Denied {
            operation: OP,
            message,
        },
        404 => PortError::NotFound {
            operation: OP,
            what: message,
        },
        429 => PortError::Throttled { operation: OP },
        s if s >= 500 => PortError::Transient {
            operation: OP,
            message,
        },
        _ => invalid(message),
    })
}

fn transient(error: reqwest::Error) -> PortError {
    PortError::Transient {
        operation: OP,
        message: error.without_url().to_string(),
    }
}

fn invalid(message: impl Into<String>) -> PortError {
    PortError::Invalid {
        operation: OP,
        message: message.into(),
    }
}
