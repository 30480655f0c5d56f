"""GB/T 2260-style region codes and the paths built from them."""

from __future__ import annotations

import re

from fengqiao.core.errors import Invalid

_CODE = re.compile(r"^\d{6}(\d{3}(\d{3})?)?$")


def level_of(code: str) -> int:
    """0 province, 1 city, 2 county (6 digits), 3 township (9), 4 community (12)."""
    if not _CODE.match(code):
        raise Invalid(
            "区划代码格式不正确：{code}（应为 6、9 或 12 位数字）",
            "Malformed region code {code} (6, 9 or 12 digits expected)",
            code=code,
        )
    if len(code) == 12:
        return 4
    if len(code) == 9:
        return 3
    if code.endswith("0000"):
        return 0
    if code.endswith("00"):
        return 1
    return 2


def expected_parent_prefix(code: str) -> str:
    """The part of a code its parent's code must match."""
    level = level_of(code)
    if level == 4:
        return code[:9]
    if level == 3:
        return code[:6]
    if level == 2:
        return code[:4]
    if level == 1:
        return code[:2]
    return ""


def is_child_code(parent: str, child: str) -> bool:
    """GB/T 2260 nesting: 330305 ⊃ 330305001 ⊃ 330305001003; 330300 ⊃ 330305; 330000 ⊃ 330300."""
    pl, cl = level_of(parent), level_of(child)
    if cl != pl + 1:
        return False
    prefix = expected_parent_prefix(child)
    return parent.startswith(prefix) if pl < 2 else child.startswith(parent)
