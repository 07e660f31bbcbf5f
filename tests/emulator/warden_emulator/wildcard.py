"""ECR's tag wildcard grammar: `*` matches any run of characters; every other character is literal.

How a pattern without `*` matches is not written down for mutability exclusion filters (the
`exclusion_filter_without_wildcard` reading): `exact` (the grammar above), `prefix` or `substring`.
"""

import re


def matches(pattern: str, tag: str, plain: str = "exact") -> bool:
    if "*" not in pattern and plain == "prefix":
        return tag.startswith(pattern)
    if "*" not in pattern and plain == "substring":
        return pattern in tag
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, tag) is not None
