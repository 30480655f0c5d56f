"""The README's configuration table and `Settings` agree: every setting is documented, every
documented variable is a setting, and each default in the table is the setting's default."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from fengqiao.core.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
HEADING = "## Configuration"
VARIABLE = re.compile(r"`(FENGQIAO_[A-Z0-9_]+)`")
# A default cell holds one item per variable of its row, comma-separated: a `literal`,
# "N MiB", or "—" for empty (nothing set).
LITERAL, MEBIBYTES, NOTHING = re.compile(r"`([^`]*)`"), re.compile(r"(\d+) MiB"), "—"


def table_rows() -> list[list[str]]:
    """The cells of each row of the first table under the Configuration heading."""
    text = README.read_text("utf-8")
    assert HEADING in text, f"README.md has no {HEADING!r} section"
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    lines = [line.strip() for line in section.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.replace("\\|", "\0").strip("|").split("|")]
        rows.append([c.replace("\0", "|") for c in cells])
    header, rule, *body = rows
    assert [h.lower() for h in header[:2]] == ["variable", "default"], header
    assert set(rule[0]) <= {"-", ":"}, rule
    return body


def documented() -> dict[str, str]:
    """{variable: its default as the table states it}."""
    out: dict[str, str] = {}
    for cells in table_rows():
        names = VARIABLE.findall(cells[0])
        assert names, f"a row without a FENGQIAO_ variable: {cells}"
        defaults = [d.strip() for d in cells[1].split(",")]
        assert len(defaults) == len(names), f"{names}: one default each, not {defaults}"
        for name, default in zip(names, defaults, strict=True):
            assert name not in out, f"{name} is documented twice"
            out[name] = default
    return out


def parsed(cell: str) -> str:
    if cell == NOTHING:
        return ""
    if m := MEBIBYTES.fullmatch(cell):
        return str(int(m[1]) * 1024 * 1024)
    m = LITERAL.fullmatch(cell)
    assert m, f"a default is `literal`, N MiB or {NOTHING}, not {cell!r}"
    return m[1]


def rendered(field: FieldInfo) -> str:
    assert field.default_factory is None, "a computed default cannot be documented"
    value: Any = field.default
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def variables() -> dict[str, FieldInfo]:
    prefix = Settings.model_config.get("env_prefix", "")
    assert prefix == "FENGQIAO_"
    for name, field in Settings.model_fields.items():
        assert field.alias is None and field.validation_alias is None, name
    return {prefix + name.upper(): field for name, field in Settings.model_fields.items()}


def test_every_setting_is_documented_and_nothing_else() -> None:
    table, fields = set(documented()), set(variables())
    assert not fields - table, f"settings missing from README.md: {sorted(fields - table)}"
    assert not table - fields, f"README.md documents no such setting: {sorted(table - fields)}"


def test_the_documented_defaults_are_the_defaults() -> None:
    fields = variables()
    wrong = {
        name: (cell, rendered(fields[name]))
        for name, cell in documented().items()
        if name in fields and parsed(cell) != rendered(fields[name])
    }
    assert not wrong, f"README.md default ≠ Settings default: {wrong}"


def test_the_table_is_read_as_written() -> None:
    # The parser itself: a known row comes out whole, so the tests above compare something.
    table = documented()
    assert table["FENGQIAO_HOST"] == "`127.0.0.1`" and table["FENGQIAO_PORT"] == "`8000`"
    assert (parsed("`x`"), parsed("—"), parsed("12 MiB")) == ("x", "", str(12 << 20))
    assert len(table) == len(Settings.model_fields) > 10
