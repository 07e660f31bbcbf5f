"""Start the emulator: `python -m warden_emulator [--port N] [--port-file F]`.

Binds 127.0.0.1 only. With --port 0 (the default) the OS picks a free port; the port is written to
--port-file once the server accepts connections, so a launcher can wait for the file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from typing import Any, Callable, Iterable

import moto
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from . import (
    PINNED_MOTO,
    ecr,
    ecr_creation_templates,
    ecr_pull_through,
    ecr_referrers,
    ecr_replication,
    ecr_responses,
    ecr_seed,
    ecr_signing,
    ecs,
    inspector,
    lambda_,
    readings,
    signer_revocation,
    sns,
    stepfunctions,
)
from .patching import PATCHES

Seeder = Callable[[dict[str, Any]], dict[str, Any]]

SEEDERS: dict[str, Seeder] = {
    "/_warden/seed/ecr-scan": ecr_seed.seed_scan,
    "/_warden/seed/inspector-findings": inspector.seed_findings,
    "/_warden/seed/image-times": ecr_seed.seed_image_times,
    "/_warden/seed/images": ecr_seed.seed_images,
    "/_warden/seed/readings": readings.seed_readings,
    "/_warden/seed/corrupt-layer": ecr_seed.seed_corrupt_layer,
    "/_warden/seed/push-before-delete": ecr_seed.seed_push_before_delete,
    "/_warden/seed/signing-status": ecr_signing.seed_signing_status,
    "/_warden/seed/signer-revoked-certificates": signer_revocation.seed_revoked_certificates,
    "/_warden/seed/stepfunctions-map-run": stepfunctions.seed_map_run,
}


class WardenRoutes:
    """Test-only routes in front of moto: seeding, and the layer downloads GetDownloadUrlForLayer names."""

    def __init__(self, inner: Any):
        self.inner = inner

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_warden/"):
            return self.inner(environ, start_response)
        request = Request(environ)
        return self.route(request)(environ, start_response)

    def route(self, request: Request) -> Response:
        path = request.path
        if path == "/_warden/health":
            return Response(json.dumps({"moto": moto.__version__}), mimetype="application/json")
        if path == "/_warden/patches":
            return Response(json.dumps({"patches": PATCHES}), mimetype="application/json")
        if path == "/_warden/readings":
            chosen = readings.active(request.args.get("account"), request.args.get("region"))
            return Response(json.dumps(chosen), mimetype="application/json")
        if path in SEEDERS and request.method == "POST":
            try:
                body = json.loads(request.get_data(as_text=True))
                result = SEEDERS[path](body)
            except Exception as err:  # a bad seed is the test's bug: say what it was
                return Response(json.dumps({"error": f"{type(err).__name__}: {err}"}), status=400, mimetype="application/json")
            return Response(json.dumps(result), mimetype="application/json")
        if path.startswith("/_warden/layers/") and request.method == "GET":
            parts = path[len("/_warden/layers/") :].split("/")
            if len(parts) >= 4:
                account, region, digest = parts[0], parts[1], parts[-1]
                repository = "/".join(parts[2:-1])
                blob = ecr.layer_blob(account, region, repository, digest)
                if blob is not None:
                    return Response(blob, mimetype="application/octet-stream")
            return Response("NoSuchKey", status=404)
        return Response("unknown warden route", status=404)


def build_app() -> Any:
    if moto.__version__ != PINNED_MOTO:
        sys.exit(f"warden_emulator is written for moto {PINNED_MOTO}, found {moto.__version__}")
    ecr.apply()
    ecr_responses.apply()
    ecr_replication.apply()
    ecr_pull_through.apply()
    ecr_referrers.apply()
    ecr_creation_templates.apply()
    ecr_signing.apply()
    ecs.apply()
    inspector.apply()
    lambda_.apply()
    signer_revocation.apply()
    sns.apply()
    stepfunctions.apply()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return WardenRoutes(DomainDispatcherApplication(create_backend_app))


def _exit_with_parent(pid: int) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(prog="warden_emulator")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone (test runs)")
    args = parser.parse_args()
    if args.parent_pid:
        threading.Thread(target=_exit_with_parent, args=(args.parent_pid,), daemon=True).start()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    server = make_server("127.0.0.1", args.port, build_app(), threaded=True, request_handler=MotoRequestHandler)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(str(server.port))
        os.replace(tmp, args.port_file)
    print(f"warden emulator (moto {moto.__version__}) on http://127.0.0.1:{server.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
