"""SAM and CDK deploy the same thing: the same functions with the same settings, triggers (event
patterns, schedules, queue mappings, subscriptions, retries and dead letters) and IAM actions.

Usage: python tests/infra/compare.py infra/template.yaml infra/cdk/cdk.out/ecr-warden.template.json
"""

from __future__ import annotations

import sys

from deployment import functions, load


def main(sam_path: str, cdk_path: str) -> int:
    sam, cdk = functions(load(sam_path)), functions(load(cdk_path))
    differences = []
    if set(sam) != set(cdk):
        differences.append(f"functions: SAM {sorted(sam)} vs CDK {sorted(cdk)}")
    for binary in sorted(set(sam) & set(cdk)):
        a, b = sam[binary], cdk[binary]
        for key in sorted(set(a.settings) | set(b.settings)):
            if a.settings.get(key) != b.settings.get(key):
                differences.append(
                    f"{binary}: {key} is {a.settings.get(key)!r} in SAM, {b.settings.get(key)!r} in CDK"
                )
        for what, left, right in (
            ("environment", a.env, b.env),
            ("IAM actions", a.actions, b.actions),
            ("triggers", a.triggers, b.triggers),
        ):
            for only in sorted(left - right):
                differences.append(f"{binary}: {what}: only in SAM: {only}")
            for only in sorted(right - left):
                differences.append(f"{binary}: {what}: only in CDK: {only}")
        print(
            f"{binary}: {len(a.actions)} IAM actions, {len(a.triggers)} triggers, "
            f"{len(a.env)} variables, {len(a.settings)} settings"
        )
    for line in differences:
        print("  DIFFERS  " + line)
    if differences:
        print(f"SAM and CDK differ in {len(differences)} place(s)")
        return 1
    print("SAM and CDK deploy the same functions, triggers and IAM actions")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
