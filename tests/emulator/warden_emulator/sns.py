"""SNS made faithful where ecr-warden relies on it.

Real SNS delivers to HTTP(S) subscribers asynchronously: Publish succeeds whatever the endpoint does,
and a failed delivery is retried by SNS, never reported to the publisher. Stock moto 5.2.5 posts
inline and answers HTTP 500 to Publish when the subscriber is unreachable.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from moto.sns import models

from .patching import patch

log = logging.getLogger("warden_emulator.sns")


class _DeliveryOnly:
    """Stands in for the `requests` module inside moto.sns.models: a failed HTTP delivery is logged."""

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)

    @staticmethod
    def post(url: str, **kwargs: Any) -> Any:
        try:
            return requests.post(url, timeout=5, **kwargs)
        except requests.RequestException as err:
            log.warning("SNS delivery to %s failed: %s", url, err)
            return None


def apply() -> None:
    patch(models, "requests", _DeliveryOnly())
