"""The replicator binary copying one large single-layer image between two regions of the local AWS
emulator, served one EventBridge push through a loopback Lambda Runtime API (the harness of
cold_start.py): wall time and the process's peak RSS (VmHWM). The copy holds one part per layer in
flight, never a layer, so the peak does not grow with the layer.

usage: python copy_rss.py MIB BINARY   (WARDEN_EMULATOR_URL: a running emulator)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).parent))
import cold_start  # noqa: E402  (the loopback Runtime API)

PART = 10 * 1024 * 1024
REPOSITORY = "bench/big"
POLICY = """version: 1
repositories:
  - match: "bench/**"
    replication: { require_pass: false, destinations: [{ region: eu-west-1 }] }
"""


def seed(url: str, mib: int) -> str:
    """A single-layer image of `mib` MiB in us-east-1, uploaded a part at a time."""
    ecr = boto3.client("ecr", endpoint_url=url, region_name="us-east-1",
                       aws_access_key_id="bench", aws_secret_access_key="bench")
    ecr.create_repository(repositoryName=REPOSITORY)

    def blob(parts) -> tuple[str, int]:
        upload = ecr.initiate_layer_upload(repositoryName=REPOSITORY)["uploadId"]
        digest, first = hashlib.sha256(), 0
        for part in parts:
            digest.update(part)
            ecr.upload_layer_part(repositoryName=REPOSITORY, uploadId=upload, partFirstByte=first,
                                  partLastByte=first + len(part) - 1, layerPartBlob=part)
            first += len(part)
        name = "sha256:" + digest.hexdigest()
        ecr.complete_layer_upload(repositoryName=REPOSITORY, uploadId=upload, layerDigests=[name])
        return name, first

    config = b'{"architecture":"amd64","os":"linux"}'
    config_digest, _ = blob([config])
    pattern = bytes(range(256)) * (PART // 256)
    total = mib * 2**20
    layer_digest, size = blob(pattern[: min(PART, total - first)] for first in range(0, total, PART))
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": size}],
    })
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest, imageTag="v1")
    return "sha256:" + hashlib.sha256(manifest.encode()).hexdigest(), size


def main() -> None:
    mib, binary = int(sys.argv[1]), sys.argv[2]
    url = os.environ["WARDEN_EMULATOR_URL"]
    digest, size = seed(url, mib)
    event = json.loads((cold_start.EVENTS / "ecr-image-action.push.json").read_text())
    event["account"] = "123456789012"
    event["region"] = "us-east-1"
    event["detail"].update({"repository-name": REPOSITORY, "image-digest": digest, "image-tag": "v1"})
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as policy:
        policy.write(POLICY)
    topic = boto3.client("sns", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                         aws_secret_access_key="bench").create_topic(Name="ecr-warden")["TopicArn"]
    env = {"AWS_ENDPOINT_URL": url, "WARDEN_POLICY_FILE": policy.name, "WARDEN_TOPIC_ARN": topic,
           "AWS_LAMBDA_LOG_LEVEL": "ERROR"}
    seconds, peak_kib = cold_start.once([binary], json.dumps(event).encode(), env=env, timeout=1800)
    west = boto3.client("ecr", endpoint_url=url, region_name="eu-west-1", aws_access_key_id="bench",
                        aws_secret_access_key="bench")
    copied = west.describe_images(repositoryName=REPOSITORY)["imageDetails"]
    if [i["imageDigest"] for i in copied] != [digest]:
        sys.exit(f"the copy is missing in eu-west-1: {copied}")
    print(f"| replicator (ECR API, emulator us-east-1 → eu-west-1) | {size / 2**20:.0f} MiB layer | "
          f"{seconds:.1f} s | {size / 2**20 / seconds:.1f} MiB/s | peak RSS {peak_kib / 1024:.1f} MiB |")


if __name__ == "__main__":
    main()
