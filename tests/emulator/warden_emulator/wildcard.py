"""ECR's tag wildcard grammar: `*` matches any run of characters; every other character is literal.

How a mutability exclusion filter is anchored is not written down (the `exclusion_filter_anchoring`
reading): the whole tag (`exact`), its start (`prefix`) or anywhere in it (`substring`).
"""

import re


def matches(pattern: str, tag: str, anchoring: str = "exact") -> bool:
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*")))
    if anchoring == "prefix":
        return regex.match(tag) is not None
    if anchoring == "substring":
        return regex.search(tag) is not None
    return regex.fullmatch(tag) is not None
