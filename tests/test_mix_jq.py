"""jq filter rules: dolma's match rules and truthiness, and the fast interpreter agreeing with the jq library."""

from __future__ import annotations

import random

import jq
import orjson
import pytest

from dolma_py.errors import ConfigError
from mixers.stream.jqfast import JqRuntimeError, Unsupported, compile_fast
from mixers.stream.jqfilter import JqProgram, exclude_matches, include_matches

DOCS = {
    "a": {
        "id": "a",
        "text": "hello world",
        "attributes": {"k": [[0, 1, 0.7]], "z": [[0, 1, 1]], "e": [], "s": "abc", "o": {"p": 1}, "cnt": [[0, 1, 0]]},
    },
    "b": {
        "id": "b",
        "text": "hi",
        "attributes": {"k": [[0, 1, 0.2]], "z": [[0, 1, 1.0]], "e": [[0, 1, 0.0]], "s": "", "cnt": [[0, 1, 0.0]]},
    },
    "e": {
        "id": "e",
        "text": "some text here",
        "attributes": {
            "k": [[0, 1, 0.5], [1, 2, 0.9]],
            "z": [[0, 1, 0]],
            "arr": [1, 2, 3],
            "s": "ab",
            "d": [[0, 2, 1.0], [5, 9, 1.0]],
        },
    },
}

# Expected include outcome per document (a, b, e) as observed with dolma 1.2.1, except where dolma's engine (jaq)
# raises on indexing null (e.g. `.attributes.cnt[0][2]` for e): jq yields null there, which is no match.
INCLUDE_CASES = [
    (".attributes.k[0][2] >= 0.5", "a-e"),
    (".attributes.k", "abe"),
    (".attributes.e", "-b-"),
    (".attributes.s", "a-e"),
    (".attributes.cnt[0][2]", "-b-"),  # 0 is false, but 0.0 read from the document is true in dolma
    (".attributes.z[0][2]", "ab-"),
    (".attributes.k[][2] > 0.4", "a-e"),
    ("(.attributes.k | length) > 0", "abe"),
    (".attributes.s | length", "a-e"),
    (
        "(.attributes.d | length == 0)"
        " or ((.attributes.d | map(.[2] * (.[1] - .[0])) | add) / (.text | length) <= 0.3)",
        "ab-",
    ),
    ('.attributes.s == "abc"', "a--"),
    ('.attributes | has("k")', "abe"),
    (".attributes.k[0][2] // 0 > 0.5", "abe"),
    (".attributes.k[0][2] * 2 >= 1", "a-e"),
    ("(.text | length) > 5", "a-e"),
    ("[.attributes.k[][2]] | max > 0.8", "--e"),
    (".attributes.z[0][2] == 1", "ab-"),
    ("1, 0", "---"),
    ("empty", "---"),
    ('""', "---"),
]
LIBRARY_CASES = [  # outside the fast interpreter's subset: evaluated by the jq library
    ("{}", "---"),
    ('.attributes.s | test("^a")', "a-e"),
    ('.id | startswith("a")', "a--"),
    ("any(.attributes.k[]; .[2] > 0.8)", "--e"),
]


@pytest.mark.parametrize(("expression", "expected"), INCLUDE_CASES + LIBRARY_CASES)
def test_include_outcomes_match_dolma(expression: str, expected: str) -> None:
    program = JqProgram(expression)
    got = "".join(doc_id if include_matches(program.outputs(doc)) else "-" for doc_id, doc in DOCS.items())
    assert got == expected


def test_fast_interpreter_covers_the_common_forms() -> None:
    assert all(JqProgram(expression).fast for expression, _ in INCLUDE_CASES)
    assert not any(JqProgram(expression).fast for expression, _ in LIBRARY_CASES)


def test_exclude_needs_one_truthy_output_include_needs_all() -> None:
    assert exclude_matches([False, True]) and not include_matches([False, True])
    assert include_matches([1, "x", [0], {"a": 1}])
    assert not exclude_matches([]) and not include_matches([])
    assert not exclude_matches([0, "", [], {}, None, False])


def test_runtime_errors_raise_from_both_engines() -> None:
    with pytest.raises(JqRuntimeError, match="Cannot index string"):
        JqProgram(".attributes.s.x").outputs(DOCS["a"])
    with pytest.raises(JqRuntimeError):
        JqProgram(".attributes.s | test(1)").outputs(DOCS["a"])


def test_invalid_expression_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid jq expression"):
        JqProgram(".attributes |||")


# ---- the fast interpreter agrees with the jq library, outputs and errors alike --------------------------------
_VALUES = [None, True, False, 0, 1, -2, 0.5, 1.0, "", "a", "abc", [], [1, 2], [[0, 3, 0.5], [4, 9, 1.0]], {}, {"x": 1}]
_PATHS = [
    ".attributes.k",
    ".attributes.z",
    ".attributes.s",
    ".text",
    ".id",
    ".attributes",
    ".",
    ".attributes.missing",
    ".attributes.k[0]",
    ".attributes.k[0][2]",
    ".attributes.k[-1][-1]",
    '.attributes["k"]',
    ".attributes.k[]",
    ".attributes[]",
    "(.attributes.k | length)",
    ".attributes.k?",
    ".attributes.z[0][2]?",
]
_ATOMS = ["0", "1", "0.5", "-1", "null", "true", "false", '"a"', "[]", "[1,2]"]
_FUNCS = [
    "length",
    "not",
    "add",
    "keys",
    "type",
    "min",
    "max",
    "any",
    "all",
    "floor",
    "map(.)",
    "select(.)",
    'has("k")',
    "has(0)",
    "map(.[2])",
]


def _random_expression(rng: random.Random, depth: int = 0) -> str:
    r = rng.random()
    if depth > 2 or r < 0.3:
        return rng.choice(_PATHS + _ATOMS)
    sub = lambda: _random_expression(rng, depth + 1)  # noqa: E731
    if r < 0.5:
        return f"{sub()} {rng.choice(['==', '!=', '<', '<=', '>', '>='])} {sub()}"
    if r < 0.6:
        return f"({sub()}) {rng.choice(['and', 'or'])} ({sub()})"
    if r < 0.7:
        return f"{sub()} | {rng.choice(_FUNCS)}"
    if r < 0.8:
        return f"({sub()}) {rng.choice(['+', '-', '*', '/'])} ({sub()})"
    if r < 0.85:
        return f"({sub()}) // ({sub()})"
    if r < 0.9:
        return f"if {sub()} then {sub()} else {sub()} end"
    return f"[{sub()}]" if r < 0.95 else f"-({sub()})"


def _as_floats(values: list) -> list:
    return [float(v) if type(v) in (int, float) else v for v in values]


def test_fast_interpreter_equals_jq_library_on_random_expressions() -> None:
    rng = random.Random(1234)
    compared = 0
    for _ in range(400):
        expression = _random_expression(rng)
        try:
            fast = compile_fast(expression)
        except Unsupported:
            continue
        program = jq.compile(expression)
        for _ in range(3):
            keys = rng.sample(["k", "z", "s", "e"], rng.randint(0, 4))
            doc = {
                "id": "x",
                "text": rng.choice(["", "hello", "héllo"]),
                "attributes": {k: rng.choice(_VALUES) for k in keys},
            }
            try:
                expected: tuple = ("ok", program.input_value(doc).all())
            except ValueError:
                expected = ("error",)
            try:
                got: tuple = ("ok", fast(orjson.loads(orjson.dumps(doc))))
            except JqRuntimeError:
                got = ("error",)
            except Unsupported:
                continue
            compared += 1
            assert got[0] == expected[0], (expression, doc, expected, got)
            if got[0] == "ok":
                assert orjson.loads(orjson.dumps(_as_floats(got[1]), default=float)) == _as_floats(expected[1]), (
                    expression,
                    doc,
                )
    assert compared > 500
