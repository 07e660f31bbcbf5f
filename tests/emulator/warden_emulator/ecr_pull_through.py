"""ECR's pull through cache rules, which stock moto 5.2.5 does not implement: a rule maps a
repository prefix (`ecrRepositoryPrefix`, e.g. `docker-hub`) to an upstream registry, and a pull of
`<prefix>/<upstream repository>` creates and fills that repository on first use (API reference:
CreatePullThroughCacheRule, DescribePullThroughCacheRules). Only the rules are kept here; nothing is
fetched from an upstream."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.ecr import responses

from .ecr_responses import page
from .patching import patch

# CreatePullThroughCacheRule's upstreamRegistryUrl, "the syntax to use for each supported upstream
# registry"; any other URL is UnsupportedUpstreamRegistryException.
UPSTREAMS = {
    "public.ecr.aws": "ecr-public",
    "ecr-premium.aws.com": "ecr-public-premium",
    "registry.k8s.io": "k8s",
    "quay.io": "quay",
    "registry-1.docker.io": "docker-hub",
    "ghcr.io": "github-container-registry",
    "registry.gitlab.com": "gitlab-container-registry",
}
PATTERNS = (
    (re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com"), "ecr"),
    (re.compile(r"[a-z0-9-]+\.azurecr\.io"), "azure-container-registry"),
)


def upstream_of(url: str) -> str | None:
    if url in UPSTREAMS:
        return UPSTREAMS[url]
    return next((name for pattern, name in PATTERNS if pattern.fullmatch(url)), None)


class UnsupportedUpstreamRegistryException(JsonRESTError):
    code = 400

    def __init__(self, url: str) -> None:
        super().__init__("UnsupportedUpstreamRegistryException", f"The upstream registry '{url}' isn't supported")


class PullThroughCacheRuleAlreadyExistsException(JsonRESTError):
    code = 400

    def __init__(self, prefix: str) -> None:
        super().__init__("PullThroughCacheRuleAlreadyExistsException", f"A pull through cache rule with the prefix '{prefix}' already exists")


class PullThroughCacheRuleNotFoundException(JsonRESTError):
    code = 400

    def __init__(self, prefix: str) -> None:
        super().__init__("PullThroughCacheRuleNotFoundException", f"The pull through cache rule with the prefix '{prefix}' does not exist")


def _rules(response: responses.ECRResponse) -> dict[str, dict[str, Any]]:
    backend = response.ecr_backend
    rules = getattr(backend, "warden_pull_through_rules", None)
    if rules is None:
        rules = backend.warden_pull_through_rules = {}
    return rules


def _create_pull_through_cache_rule(self: responses.ECRResponse) -> ActionResult:
    prefix = self._get_param("ecrRepositoryPrefix")
    url = self._get_param("upstreamRegistryUrl")
    rules = _rules(self)
    if prefix in rules:
        raise PullThroughCacheRuleAlreadyExistsException(prefix)
    upstream = upstream_of(url or "")
    if upstream is None:
        raise UnsupportedUpstreamRegistryException(url)
    rule = {
        "ecrRepositoryPrefix": prefix,
        "upstreamRegistryUrl": url,
        "createdAt": datetime.now(timezone.utc),
        "registryId": self.ecr_backend.account_id,
        "upstreamRegistry": self._get_param("upstreamRegistry") or upstream,
    }
    if self._get_param("credentialArn"):
        rule["credentialArn"] = self._get_param("credentialArn")
    rules[prefix] = rule
    return ActionResult(dict(rule))


def _describe_pull_through_cache_rules(self: responses.ECRResponse) -> ActionResult:
    rules = _rules(self)
    wanted = self._get_param("ecrRepositoryPrefixes")
    if wanted:
        for prefix in wanted:
            if prefix not in rules:
                raise PullThroughCacheRuleNotFoundException(prefix)
        found = [rules[p] for p in wanted]
    else:
        found = sorted(rules.values(), key=lambda r: r["ecrRepositoryPrefix"])
    chunk, token = page(found, self._get_param("maxResults"), self._get_param("nextToken"), 100, 1000)
    result: dict[str, Any] = {"pullThroughCacheRules": chunk}
    if token:
        result["nextToken"] = token
    return ActionResult(result)


def apply() -> None:
    patch(responses.ECRResponse, "create_pull_through_cache_rule", _create_pull_through_cache_rule)
    patch(responses.ECRResponse, "describe_pull_through_cache_rules", _describe_pull_through_cache_rules)
