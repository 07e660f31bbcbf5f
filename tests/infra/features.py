"""Deployed = built alone: each function's bootstrap carries its own SDK features and no other's.

cargo unifies the features of every package one build selects. `sam build` runs
`cargo lambda build --bin <Binary>` in the function's `CodeUri` folder, and the CDK app in the
workspace with `--package <binary>`; either way cargo selects that one package. This check resolves
each function's dependency graph exactly there (`cargo tree -e features`, no build) and compares:

- the features enabled on `warden-aws` with those the function's Cargo.toml asks for: the
  tests-only `call-log` and the CLI's `cli` must never reach a Lambda;
- the `aws-sdk-*` crates linked with those the asked-for features enable (shared/aws/Cargo.toml),
  plus what warden-aws links without any (aws-config's STS client).

It fails on a template whose `CodeUri` is the workspace root (every function then carries every
function's SDKs) or on a function that pulls another's feature in.

Usage: python tests/infra/features.py TEMPLATE   (SAM YAML; run from anywhere)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from cfnlint.decode import decode
from deployment import ROOT

AWS_MANIFEST = ROOT / "shared" / "aws" / "Cargo.toml"
# What the deployed bootstraps are built for.
TARGET = "aarch64-unknown-linux-gnu"
# warden-aws features that must never reach a Lambda: the tests' call log and the CLI's surface.
NEVER = {"call-log", "cli"}


def declared(function_dir: Path) -> set[str]:
    """The warden-aws features a function's Cargo.toml asks for."""
    manifest = tomllib.loads((function_dir / "Cargo.toml").read_text())
    return set(manifest["dependencies"]["warden-aws"].get("features", []))


def sdks_of(features: set[str]) -> set[str]:
    """The aws-sdk-* crates those features of warden-aws enable (transitively)."""
    table = tomllib.loads(AWS_MANIFEST.read_text())["features"]
    found: set[str] = set()
    todo = list(features)
    seen: set[str] = set()
    while todo:
        feature = todo.pop()
        if feature in seen:
            continue
        seen.add(feature)
        for item in table.get(feature, []):
            if item.startswith("dep:"):
                if item[4:].startswith("aws-sdk-"):
                    found.add(item[4:])
            else:
                todo.append(item)
    return found


def resolved(function_dir: Path) -> tuple[set[str], set[str]]:
    """What cargo resolves in that folder: warden-aws's features and the aws-sdk-* crates."""
    out = subprocess.run(
        ["cargo", "tree", "-e", "features,normal", "--prefix", "none", "--target", TARGET],
        cwd=function_dir,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    features = set(re.findall(r'^warden-aws feature "([^"]+)"', out, re.M)) - {"default"}
    sdks = set(re.findall(r"^(aws-sdk-[a-z0-9]+) v", out, re.M))
    return features, sdks


def sam_functions(template_path: Path) -> list[tuple[str, str, Path]]:
    """Each SAM function as sam build builds it: its logical id (its folder under .aws-sam/build),
    its binary (`BuildProperties.Binary`) and its build folder (`CodeUri`, from the template's)."""
    template, errors = decode(str(template_path))
    if errors:
        raise ValueError("\n".join(str(e) for e in errors))
    globals_uri = template.get("Globals", {}).get("Function", {}).get("CodeUri")
    found = []
    for logical, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        uri = resource["Properties"].get("CodeUri", globals_uri)
        found.append((logical, binary, (template_path.parent / uri).resolve()))
    return found


def main(template_path: str) -> int:
    problems = []
    # What warden-aws links with no feature at all (aws-config's own STS client, for AssumeRole).
    _, baseline = resolved(ROOT / "shared" / "aws")
    for _, binary, folder in sorted(sam_functions(Path(template_path)), key=lambda f: f[1]):
        if not (folder / "Cargo.toml").exists():
            problems.append(f"{binary}: CodeUri {folder} has no Cargo.toml")
            continue
        manifest = tomllib.loads((folder / "Cargo.toml").read_text())
        if "package" not in manifest:
            problems.append(f"{binary}: CodeUri {folder} is the workspace, not the function's package")
            continue
        want = declared(folder)
        features, sdks = resolved(folder)
        print(f"{binary}: warden-aws [{', '.join(sorted(features))}]; {', '.join(sorted(sdks))}")
        if features & NEVER:
            problems.append(f"{binary}: warden-aws {sorted(features & NEVER)} reach the Lambda")
        if features != want:
            problems.append(f"{binary}: warden-aws features {sorted(features)}, its Cargo.toml asks {sorted(want)}")
        if sdks != sdks_of(want) | baseline:
            problems.append(
                f"{binary}: links {sorted(sdks)}, its features need {sorted(sdks_of(want) | baseline)}"
            )
    for problem in problems:
        print("  PROBLEM  " + problem)
    if problems:
        return 1
    print("every function is built alone: its bootstrap carries its own SDK features only")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
