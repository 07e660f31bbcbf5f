"""ECR's tag wildcard grammar: `*` matches any run of characters; every other character is literal."""

import re


def matches(pattern: str, tag: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, tag) is not None
