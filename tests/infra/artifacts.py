"""What `make infra-build` produced: one arm64 Lambda bootstrap per function from `sam build`
(infra/.aws-sam/build/<Function>/bootstrap; FanOutFunction too: sam build builds every function,
whatever its condition) and one per function the CDK app synthesized
(infra/cdk/cdk.out/asset.*/bootstrap, each matched to its function through the synthesized
template's `Code.S3Key`; the app has the fan-out planner only with context `fanOut=enabled`), each an
AArch64 ELF executable — non-PIE where its function's folder asks for it
(functions/<name>/.cargo/config.toml, as `make bench` measures them), position independent where it
does not (fanout) — that links exactly its own function's AWS SDK crates (read from the crate paths the binary carries:
`aws-sdk-<service>`), as tests/infra/features.py predicts from the dependency graph.

Usage: python tests/infra/artifacts.py
"""

from __future__ import annotations

import json
import re
import struct
import sys
from pathlib import Path

from deployment import BINARIES, ROOT, _binary
from features import declared, resolved, sam_functions, sdks_of

EM_AARCH64 = 183


def non_pie(binary: str) -> bool:
    """Whether `binary`'s folder asks for a non-PIE bootstrap (its .cargo/config.toml)."""
    config = ROOT / "functions" / binary / ".cargo" / "config.toml"
    return config.exists() and "relocation-model=static" in config.read_text()


def aarch64_executable(path: Path, static: bool | None) -> str | None:
    """Why `path` is not an AArch64 ELF executable of the relocation model asked for (`static`:
    non-PIE; None: either), or None."""
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return "not an ELF file"
    if header[4] != 2 or header[5] != 1:
        return "not a 64-bit little-endian ELF file"
    kind, machine = struct.unpack_from("<HH", header, 16)
    if machine != EM_AARCH64:
        return f"machine {machine}, not AArch64 ({EM_AARCH64})"
    if kind not in (2, 3):  # ET_EXEC, ET_DYN (position independent)
        return f"ELF type {kind}, not an executable"
    if static is True and kind == 3:
        return "position independent (ET_DYN): its .cargo/config.toml's relocation model did not reach the build"
    if static is False and kind == 2:
        return "non-PIE (ET_EXEC) though its folder asks for no relocation model"
    return None


def sdk_crates(path: Path) -> set[str]:
    """The aws-sdk-* crates whose paths the binary carries (panic locations, type names)."""
    return {m.decode() for m in set(re.findall(rb"aws-sdk-[a-z0-9]+(?=[-/])", path.read_bytes()))}


def expected_sdks() -> dict[str, set[str]]:
    """Per function (binary name), the SDK crates its own features link."""
    _, baseline = resolved(ROOT / "shared" / "aws")
    return {b: sdks_of(declared(ROOT / "functions" / b)) | baseline for b in BINARIES}


def cdk_assets(cdk_out: Path) -> dict[str, str]:
    """The functions the CDK app synthesized: each one's asset folder (`asset.<hash>`, the hash its
    `Code.S3Key` names) → its binary."""
    template = json.loads((cdk_out / "ecr-warden.template.json").read_text())
    found = {}
    for logical, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        key = resource["Properties"].get("Code", {}).get("S3Key")
        binary = _binary(resource["Properties"].get("FunctionName"))
        m = re.fullmatch(r"([0-9a-f]{64})\.zip", key) if isinstance(key, str) else None
        if m and binary:
            found[f"asset.{m.group(1)}"] = binary
    return found


def main() -> int:
    problems = []
    expected = expected_sdks()
    binary_of = {logical: binary for logical, binary, _ in sam_functions(ROOT / "infra" / "template.yaml")}
    sam = ROOT / "infra" / ".aws-sam" / "build"
    sam_built = sorted(p.parent.name for p in sam.glob("*/bootstrap"))
    if len(sam_built) != len(BINARIES):
        problems.append(f"sam build: {len(sam_built)} bootstraps for {len(BINARIES)} functions")
    cdk_out = ROOT / "infra" / "cdk" / "cdk.out"
    cdk = sorted(cdk_out.glob("asset.*/bootstrap"))
    synthesized = cdk_assets(cdk_out) if (cdk_out / "ecr-warden.template.json").exists() else {}
    if not synthesized:
        problems.append(f"cdk synth: no function in {cdk_out / 'ecr-warden.template.json'}")
    binary_of |= synthesized
    for asset, binary in sorted(synthesized.items()):
        if not (cdk_out / asset / "bootstrap").exists():
            problems.append(f"cdk synth: {binary}: no bootstrap in {cdk_out / asset}")
    # `make synth` synthesizes with the fan-out engine (context fanOut=enabled): every function.
    for binary in sorted(set(BINARIES) - set(synthesized.values())):
        problems.append(f"cdk synth: no {binary} function in {cdk_out / 'ecr-warden.template.json'}")
    for path in sorted(sam.glob("*/bootstrap")) + cdk:
        binary = binary_of.get(path.parent.name)
        static = non_pie(binary) if binary else None
        why = aarch64_executable(path, static)
        linked = sdk_crates(path)
        kind = {True: "non-PIE ", False: "PIE ", None: ""}[static]
        print(
            f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e6:.1f} MB {why or kind + 'AArch64 executable'}; "
            f"{', '.join(sorted(linked))}"
        )
        if why:
            problems.append(f"{path}: {why}")
        if binary is not None and linked != expected[binary]:
            problems.append(f"{path}: links {sorted(linked)}, {binary} needs {sorted(expected[binary])}")
        if binary is None and linked not in expected.values():
            problems.append(f"{path}: links {sorted(linked)}, which is no function's own set")
    if not (sam / "template.yaml").exists():
        problems.append("sam build wrote no template (infra/.aws-sam/build/template.yaml)")
    for problem in problems:
        print("  PROBLEM  " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
