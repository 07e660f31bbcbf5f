"""AWS Signer revocation, which stock moto 5.2.5 does not implement: RevokeSigningProfile on moto's
signing profiles, RevokeSignature (recorded by job ARN: moto has no signing jobs), and
GetRevocationStatus, which answers which of the supplied profile version, job and certificate
hashes are revoked. AWS revokes its own certificates through no public API: a test seeds them
(`/_warden/seed/signer-revoked-certificates`).

Times are kept exact (Decimal epoch seconds): a signature made at the very instant a profile
version's revocation takes effect counts as revoked."""

from __future__ import annotations

import calendar
import json
import re
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.signer import models, responses, urls

from .patching import patch, route


class ValidationException(ServiceException):
    code = "ValidationException"


class ResourceNotFoundException(ServiceException):
    code = "ResourceNotFoundException"


# GetRevocationStatusRequest: profileVersionArn and jobArn "Length Constraints: Minimum length of 20.
# Maximum length of 2048."; the ARN forms are Signer's resource ARNs.
PROFILE_VERSION_ARN = re.compile(
    r"arn:[^:]+:signer:(?P<region>[^:]+):(?P<account>\d{12}):/signing-profiles/"
    r"(?P<name>[a-zA-Z0-9_]{2,64})/(?P<version>[a-zA-Z0-9]{10})"
)
JOB_ARN = re.compile(r"arn:[^:]+:signer:(?P<region>[^:]+):(?P<account>\d{12}):/signing-jobs/(?P<job>[^/]+)")
PROFILE_VERSION = re.compile(r"[a-zA-Z0-9]{10}")  # ProfileVersion: "^[a-zA-Z0-9]{10}$"
JOB_OWNER = re.compile(r"[0-9]{12}")  # RevokeSignatureRequest jobOwner: "^[0-9]{12}$"
# A query-string timestamp is RFC 3339 date-time (what the Rust SDK and botocore send: ...T..Z).
DATE_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?(?:([Zz])|([+-])(\d\d):(\d\d))"
)


def _missing(name: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
    )


def _date_time(value: str) -> Decimal:
    """An RFC 3339 date-time as exact epoch seconds; anything else is refused."""
    m = DATE_TIME.fullmatch(value)
    if m is None:
        raise ValidationException(f"signatureTimestamp {value!r} is not an ISO 8601 date-time")
    try:
        whole = calendar.timegm(datetime(*(int(g) for g in m.groups()[:6])).timetuple())
    except (ValueError, OverflowError) as err:
        raise ValidationException(f"signatureTimestamp {value!r}: {err}") from err
    offset = 0 if m.group(8) else (int(m.group(10)) * 3600 + int(m.group(11)) * 60) * (1 if m.group(9) == "+" else -1)
    return Decimal(whole - offset) + (Decimal(m.group(7)) if m.group(7) else Decimal(0))


def _reason(body: dict[str, Any]) -> str:
    reason = body.get("reason")
    if reason is None:
        raise _missing("reason")
    if not isinstance(reason, str) or not 1 <= len(reason) <= 500:
        raise ValidationException("reason: Member must have length between 1 and 500")
    return reason


def _store(backend: models.SignerBackend, name: str, empty: Any) -> Any:
    """Revocation state kept on moto's signer backend of one account and region (reset with it)."""
    if not hasattr(backend, name):
        setattr(backend, name, empty)
    return getattr(backend, name)


def _revoked_profiles(backend: models.SignerBackend) -> dict[tuple[str, str], dict[str, Any]]:
    """(profile name, profile version) -> {effectiveFrom: Decimal, revokedAt: float, reason}."""
    return _store(backend, "warden_revoked_profiles", {})


def _revoked_jobs(backend: models.SignerBackend) -> dict[str, dict[str, Any]]:
    """job id -> {revokedAt: float, reason}."""
    return _store(backend, "warden_revoked_jobs", {})


def _revoked_certificates(backend: models.SignerBackend) -> set[str]:
    """Certificate hashes (lower-case hex) AWS has revoked, as seeded."""
    return _store(backend, "warden_revoked_certificates", set())


def _body(self: responses.SignerResponse) -> dict[str, Any]:
    try:
        body = json.loads(self.body or "{}", parse_float=Decimal)
    except ValueError as err:
        raise ValidationException(f"The request body is not JSON: {err}") from err
    if not isinstance(body, dict):
        raise ValidationException("The request body must be a JSON object")
    return body


def _revoke_signing_profile(self: responses.SignerResponse) -> str:
    """PUT /signing-profiles/{profileName}/revoke {profileVersion, reason, effectiveTime}: the
    version's signatures made at or after effectiveTime are revoked; the profile's status Revoked."""
    name = self.path.split("/")[-2]
    body = _body(self)
    version = body.get("profileVersion")
    if version is None:
        raise _missing("profileVersion")
    if not isinstance(version, str) or not PROFILE_VERSION.fullmatch(version):
        raise ValidationException("profileVersion: Member must satisfy regular expression pattern: ^[a-zA-Z0-9]{10}$")
    reason = _reason(body)
    effective = body.get("effectiveTime")
    if effective is None:
        raise _missing("effectiveTime")
    if isinstance(effective, bool) or not isinstance(effective, (int, Decimal)):
        raise ValidationException("effectiveTime must be a timestamp (epoch seconds)")
    effective = Decimal(effective)
    now = time.time()
    if effective > Decimal(str(now)):
        raise ValidationException("Revocation for a signing profile requires an effective start time in the past")
    backend = self.signer_backend
    profile = backend.signing_profiles.get(name)
    revoked = _revoked_profiles(backend)
    if profile is None or (version != profile.profile_version and (name, version) not in revoked):
        raise ResourceNotFoundException(f"Signing profile {name} version {version} does not exist")
    earlier = revoked.get((name, version))
    if earlier is not None and effective > earlier["effectiveFrom"]:
        raise ValidationException("The effective start time of a revocation cannot be revised to a later time")
    revoked[(name, version)] = {"effectiveFrom": effective, "revokedAt": now, "reason": reason}
    if version == profile.profile_version:
        profile.status = "Revoked"
    return ""  # "an HTTP 200 response with an empty HTTP body"


def _revoke_signature(self: responses.SignerResponse) -> str:
    """PUT /signing-jobs/{jobId}/revoke {jobOwner?, reason}: the job's signature is revoked, whenever
    it was made. The job's account is jobOwner, else the caller's; its region the caller's."""
    job_id = self.path.split("/")[-2]
    body = _body(self)
    reason = _reason(body)
    owner = body.get("jobOwner")
    if owner is not None and (not isinstance(owner, str) or not JOB_OWNER.fullmatch(owner)):
        raise ValidationException("jobOwner: Member must satisfy regular expression pattern: ^[0-9]{12}$")
    backend = models.signer_backends[owner or self.current_account][self.region]
    _revoked_jobs(backend).setdefault(job_id, {"revokedAt": time.time(), "reason": reason})
    return ""  # "an HTTP 200 response with an empty HTTP body"


def _one(self: responses.SignerResponse, name: str) -> str:
    values = self.querystring.get(name) or []
    if not values or not values[0]:
        raise _missing(name)
    return values[0]


def _arn(self: responses.SignerResponse, name: str, form: re.Pattern[str]) -> re.Match[str]:
    value = _one(self, name)
    if not 20 <= len(value) <= 2048:
        raise ValidationException(f"{name}: Member must have length between 20 and 2048")
    m = form.fullmatch(value)
    if m is None:
        raise ValidationException(f"{name} {value!r} is not a Signer ARN of that kind")
    return m


def _get_revocation_status(self: responses.SignerResponse) -> ActionResult:
    """GET /revocations?signatureTimestamp&platformId&profileVersionArn&jobArn&certificateHashes...:
    the supplied entities that are revoked, in the order supplied (profile version, job, hashes)."""
    signed_at = _date_time(_one(self, "signatureTimestamp"))
    _one(self, "platformId")
    profile_arn = _arn(self, "profileVersionArn", PROFILE_VERSION_ARN)
    job_arn = _arn(self, "jobArn", JOB_ARN)
    hashes = [h for h in self.querystring.get("certificateHashes") or [] if h]
    if not hashes:
        raise _missing("certificateHashes")
    revoked: list[str] = []
    owner = models.signer_backends[profile_arn["account"]][profile_arn["region"]]
    record = _revoked_profiles(owner).get((profile_arn["name"], profile_arn["version"]))
    if record is not None and signed_at >= record["effectiveFrom"]:
        revoked.append(profile_arn.group(0))
    if job_arn["job"] in _revoked_jobs(models.signer_backends[job_arn["account"]][job_arn["region"]]):
        revoked.append(job_arn.group(0))
    certificates = _revoked_certificates(self.signer_backend)
    for h in hashes:
        if h.lower() in certificates and h not in revoked:
            revoked.append(h)
    return ActionResult({"revokedEntities": revoked})


def _get_signing_profile(self: responses.SignerResponse) -> str:
    """Stock GetSigningProfile, with ResourceNotFoundException for a profile that is not there and
    the revocation record of a revoked current version."""
    name = self.path.split("/")[-1]
    profile = self.signer_backend.signing_profiles.get(name)
    if profile is None:
        raise ResourceNotFoundException(f"Signing profile {name} does not exist")
    result = profile.to_dict()
    record = _revoked_profiles(self.signer_backend).get((name, profile.profile_version))
    if record is not None:
        result["revocationRecord"] = {
            "revocationEffectiveFrom": float(record["effectiveFrom"]),
            "revokedAt": record["revokedAt"],
        }
    return json.dumps(result)


def seed_revoked_certificates(body: dict[str, Any]) -> dict[str, Any]:
    """Revoke certificates as AWS would its own. body: account, region, certificateHashes (hex)."""
    hashes = body["certificateHashes"]
    if not isinstance(hashes, list) or not all(isinstance(h, str) and re.fullmatch(r"[0-9a-fA-F]+", h) for h in hashes):
        raise ValueError("certificateHashes must be a list of hex strings")
    certificates = _revoked_certificates(models.signer_backends[body["account"]][body["region"]])
    certificates.update(h.lower() for h in hashes)
    return {"revokedCertificates": sorted(certificates)}


class RevocationsResponse(responses.SignerResponse):
    """`GET /revocations` is GetRevocationStatus whatever its query: moto's router matches an
    operation only when every required query parameter is there, and answers 404 with no body
    otherwise, where AWS answers ValidationException."""

    def _get_action(self) -> str:
        if self.method == "GET":
            self.uri_match = {}
            return "GetRevocationStatus"
        return super()._get_action()


def apply() -> None:
    patch(responses.SignerResponse, "revoke_signing_profile", _revoke_signing_profile)
    patch(responses.SignerResponse, "revoke_signature", _revoke_signature)
    patch(responses.SignerResponse, "get_revocation_status", _get_revocation_status)
    patch(responses.SignerResponse, "get_signing_profile", _get_signing_profile)
    dispatch = responses.SignerResponse.dispatch
    route(urls.url_paths, "{0}/revocations$", RevocationsResponse.dispatch, "Signer route GetRevocationStatus")
    route(
        urls.url_paths,
        "{0}/signing-profiles/(?P<profile_name>[^/]+)/revoke$",
        dispatch,
        "Signer route RevokeSigningProfile",
    )
    route(urls.url_paths, "{0}/signing-jobs/(?P<job_id>[^/]+)/revoke$", dispatch, "Signer route RevokeSignature")
