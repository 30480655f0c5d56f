"""GB/T 2260-style region codes and the paths built from them."""

from __future__ import annotations

from fengqiao.core.levels import Level, code_level


def expected_parent_prefix(code: str) -> str:
    """The part of a code its parent's code must match."""
    level = code_level(code)
    if level == Level.community:
        return code[:9]
    if level == Level.township:
        return code[:6]
    if level == Level.county:
        return code[:4]
    if level == Level.city:
        return code[:2]
    return ""


def is_child_code(parent: str, child: str) -> bool:
    """GB/T 2260 nesting: 330305 ⊃ 330305001 ⊃ 330305001003; 330300 ⊃ 330305; 330000 ⊃ 330300."""
    pl, cl = code_level(parent), code_level(child)
    if cl != pl - 1:
        return False
    prefix = expected_parent_prefix(child)
    return parent.startswith(prefix) if pl > Level.county else child.startswith(parent)
