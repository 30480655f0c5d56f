"""The console's messages: each locale file (web/src/locales/*.ts) gives Chinese and English
the same keys with the same {placeholders}, and no two files claim the same top-level key
(web/src/i18n.ts merges them: one would hide the other). The files are read by node with the
console's own TypeScript (web/scripts/locale-messages.mjs)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
SCRIPT = WEB / "scripts" / "locale-messages.mjs"
PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")

Messages = dict[str, dict[str, dict[str, str]]]


@pytest.fixture(scope="module")
def messages() -> Messages:
    node = shutil.which("node")
    if node is None or not (WEB / "node_modules" / "typescript").exists():
        pytest.fail("node and web/node_modules are needed: run scripts/setup", pytrace=False)
    done = subprocess.run(
        [node, str(SCRIPT)], cwd=WEB, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    found: Messages = json.loads(done.stdout)
    return found


def test_every_locale_file_is_read(messages: Messages) -> None:
    files = sorted(p.name for p in (WEB / "src" / "locales").glob("*.ts"))
    assert sorted(messages) == files
    for name, langs in messages.items():
        assert langs["zh"], f"{name}: no Chinese messages"
        assert langs["en"], f"{name}: no English messages"


def test_chinese_and_english_have_the_same_keys(messages: Messages) -> None:
    problems = []
    for name, langs in messages.items():
        zh, en = set(langs["zh"]), set(langs["en"])
        if zh - en:
            problems.append(f"{name}: only in zh: {sorted(zh - en)}")
        if en - zh:
            problems.append(f"{name}: only in en: {sorted(en - zh)}")
    assert not problems, "\n".join(problems)


def test_a_message_has_the_same_placeholders_in_both_languages(messages: Messages) -> None:
    problems = []
    for name, langs in messages.items():
        for key, zh in langs["zh"].items():
            en = langs["en"].get(key)
            if not isinstance(zh, str) or not isinstance(en, str):
                continue
            if set(PLACEHOLDER.findall(zh)) != set(PLACEHOLDER.findall(en)):
                problems.append(f"{name}: {key}: {zh!r} / {en!r}")
    assert not problems, "\n".join(problems)


def test_no_two_files_share_a_top_level_key(messages: Messages) -> None:
    owners: dict[str, list[str]] = {}
    for name, langs in messages.items():
        for top in {key.split(".", 1)[0] for key in [*langs["zh"], *langs["en"]]}:
            owners.setdefault(top, []).append(name)
    shared = {top: names for top, names in owners.items() if len(names) > 1}
    assert not shared, shared


def test_state_and_action_names_come_from_the_server_only(messages: Messages) -> None:
    """The workflow description (GET /api/workflows/matter) names them; no locale does."""
    left = [
        f"{name}: {key}"
        for name, langs in messages.items()
        for key in langs["zh"]
        if key.startswith(("state.", "dispatch.action.", "worker.act."))
    ]
    assert not left, left
