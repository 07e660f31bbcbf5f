"""infra/samconfig.toml is shared by every deployment: it must hold nothing about one account or
environment, and no parameter override — above all not DryRun, which would turn enforcement off on
every upgrade. Checked with SAM CLI's own parameter merge: a parameter the file leaves out keeps its
deployed value (UsePreviousValue) on an existing stack.

usage: samconfig_check.py SAMCONFIG TEMPLATE (run with the aws-sam-cli venv's python)
"""

from __future__ import annotations

import re
import sys
import tomllib

from samcli.commands.deploy.deploy_context import DeployContext
from samcli.yamlhelper import yaml_parse

# Keys that name one account, region or environment: they belong in samconfig.local.toml.
LOCAL = {"region", "profile", "s3_bucket", "s3_prefix", "image_repository", "image_repositories", "parameter_overrides", "tags"}


def overrides(raw: object) -> dict[str, str]:
    """`parameter_overrides` as sam reads it: `Key=Value` pairs (values may be quoted), or a list."""
    if isinstance(raw, list):
        raw = " ".join(str(r) for r in raw)
    if not isinstance(raw, str):
        return {}
    pairs = re.findall(r'(\w+)=(?:"([^"]*)"|(\S+))', raw)
    return {key: quoted or bare for key, quoted, bare in pairs}


def main(samconfig_path: str, template_path: str) -> int:
    with open(samconfig_path, "rb") as fh:
        config = tomllib.load(fh)
    problems = []
    for env, commands in config.items():
        if not isinstance(commands, dict):
            continue
        for command, section in commands.items():
            for key in (section.get("parameters") or {}):
                if key in LOCAL:
                    problems.append(f"[{env}.{command}.parameters] {key}: belongs in samconfig.local.toml")
    with open(template_path) as fh:
        template = yaml_parse(fh.read())
    raw = config.get("default", {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides")
    merged = DeployContext.merge_parameters(template, overrides(raw))
    dry_run = next(p for p in merged if p["ParameterKey"] == "DryRun")
    if not dry_run.get("UsePreviousValue"):
        problems.append(f"an upgrade would send DryRun {dry_run}: it must keep the deployed value")
    if template["Parameters"]["DryRun"]["Default"] != "true":
        problems.append("a new stack must start in dry-run (DryRun default \"true\")")
    for p in problems:
        print(f"  {p}")
    print("samconfig: shared settings only; DryRun keeps its deployed value on upgrade" if not problems else "samconfig check failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
