"""docs/compatibility.md covers every command, config key and tagger name of dolma 1.2.1 (as recorded from the
installed reference in tests/fixtures/dolma_golden/surface.json), and what it calls supported really is."""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from pathlib import Path

import pytest

from dolma_py.config.dedupe import DedupeConfig
from dolma_py.config.mix import MixConfig
from dolma_py.config.stat import StatConfig
from dolma_py.config.tag import TagConfig
from dolma_py.config.tokens import TokensConfig
from dolma_py.config.warc import WarcConfig
from taggers.registry import describe_taggers

REPO = Path(__file__).resolve().parent.parent
SURFACE = json.loads((REPO / "tests" / "fixtures" / "dolma_golden" / "surface.json").read_text())
DOC = (REPO / "docs" / "compatibility.md").read_text()
STATUS = re.compile(r"^(same as dolma|ours differs on purpose: .+|not applicable: .+|not yet implemented)$")
SCHEMAS = {
    "dedupe": DedupeConfig,
    "mix": MixConfig,
    "stat": StatConfig,
    "tag": TagConfig,
    "tokens": TokensConfig,
    "warc": WarcConfig,
    "list": TagConfig,
}


def _rows(heading: str) -> dict[str, str]:
    """`name -> status` of the table under `heading`."""
    section = DOC.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_every_command_is_listed() -> None:
    rows = _rows("## Commands")
    assert set(SURFACE["commands"]) <= set(rows)
    assert all(STATUS.match(status) for status in rows.values())


@pytest.mark.parametrize("command", sorted(SURFACE["commands"]))
def test_every_config_key_is_listed_and_accepted(command: str) -> None:
    rows = _rows(f"## `dolma {command}` config keys")
    assert set(SURFACE["commands"][command]) <= set(rows), sorted(set(SURFACE["commands"][command]) - set(rows))
    for key in SURFACE["commands"][command]:
        status = rows[key]
        assert STATUS.match(status), (key, status)
        if status != "not yet implemented":
            assert _accepted(SCHEMAS[command], key), f"{command}: {key} is listed but our config has no such key"


def _accepted(schema: type, key: str) -> bool:
    """Whether `key` names a field of `schema`, through nested sections and lists of sections (mix's streams)."""
    current: typing.Any = schema
    for part in key.split("."):
        while typing.get_origin(current) in (list, typing.Union, types.UnionType):
            current = next(a for a in typing.get_args(current) if a is not type(None))
        if not dataclasses.is_dataclass(current):
            return False
        hints = typing.get_type_hints(current)
        if part not in hints:
            return False
        current = hints[part]
    return True


def test_every_tagger_name_is_listed_and_registered() -> None:
    rows = _rows("## Tagger names")
    assert set(SURFACE["taggers"]) <= set(rows)
    assert all(STATUS.match(status) for status in rows.values())
    registered = {name for name, _ in describe_taggers()}
    assert set(SURFACE["taggers"]) <= registered


def test_no_row_names_something_dolma_lacks() -> None:
    keys = {key for keys in SURFACE["commands"].values() for key in keys}
    for command in SURFACE["commands"]:
        assert set(_rows(f"## `dolma {command}` config keys")) <= keys
    assert set(_rows("## Tagger names")) <= set(SURFACE["taggers"])

