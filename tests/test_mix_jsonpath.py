"""dolma's JSONPath dialect: every expected selection below was observed running dolma 1.2.1's mixer."""

from __future__ import annotations

import pytest

from dolma_py.errors import ConfigError
from dolma_py.jsonpath import JsonPath

DOCS = [
    {
        "id": "a",
        "text": "x",
        "attributes": {"k": [[0, 1, 0.7]], "z": [[0, 1, 1]], "e": [], "n": None, "f": False, "s": "abc", "o": {"p": 1}},
    },
    {"id": "b", "text": "x", "attributes": {"k": [[0, 1, 0.2]], "z": [[0, 1, 1.0]], "e": [[0, 1, 0.0]], "s": "xyz"}},
    {"id": "c", "text": "x", "attributes": {}},
    {"id": "d", "text": "x"},
    {
        "id": "e",
        "text": "x",
        "attributes": {"k": [[0, 1, 0.5], [1, 2, 0.9]], "z": [[0, 1, 0]], "arr": [1, 2, 3], "s": "ab"},
    },
    {"id": "f", "text": "x", "attributes": {"k": [], "lst": [{"v": 1}, {"v": 2}], "arr": []}},
    {"id": "g", "text": "x", "attributes": [{"k": 1}, {"k": 2}]},
    {
        "id": "h",
        "text": "x",
        "attributes": {"k": [[0, 1, "0.9"]], "n": 0, "s": "a"},
        "metadata": {"lang": "en", "score": 3},
    },
]

CASES = [
    # dolma's documented filter forms
    ("$.attributes[?(@.k && @.k[0][2] >= 0.5)]", "ae"),
    ("$@.attributes[?(@.k && @.k[0] && @.k[0][2] >= 0.5)]", "ae"),
    ("$.attributes[?(@.k[0][2]>=0.5)]", "ae"),
    ("$.attributes[?( @.k[0][2] >= 0.5 )]", "ae"),
    ("$.attributes[?(@.k[0][2] >= 5e-1)]", "ae"),
    # integers and floats are different kinds for ==, so >= and <= differ at equality
    ("$.attributes[?(@.z[0][2] >= 1.0)]", "b"),
    ("$.attributes[?(@.z[0][2] >= 1)]", "a"),
    ("$.attributes[?(@.z[0][2] == 1)]", "a"),
    ("$.attributes[?(@.z[0][2] != 1)]", "bcefgh"),
    ("$.attributes[?(@.e[0][2] == 0.0)]", "b"),
    ("$.attributes[?(@.e[0][2] == 0)]", ""),
    ("$.attributes[?(@.z[0][2] > 0)]", "ab"),
    ("$.attributes[?(@.z[0][2] <= 0.5)]", "e"),
    ("$.attributes[?(@.z[0][2] >= -1)]", "abe"),
    ("$.attributes[?(@.k[0][2] < @.z[0][2])]", "ab"),
    ("$.attributes[?(@.k[0][2] >= $.attributes.z[0][2])]", "cefg"),
    # a bare path matches when it finds anything, even null, false or []
    ("$.attributes.k", "abefh"),
    ("$.attributes.e", "ab"),
    ("$.attributes.n", "ah"),
    ("$.attributes.f", "a"),
    ("$.attributes.missing", ""),
    ("$.attributes.e[0]", "b"),
    ("$.attributes.k[0][2]", "abeh"),
    ("$.attributes.o.p", "a"),
    ("$.text", "abcdefgh"),
    ("$.attributes['k']", "abefh"),
    ("$['attributes']['s']", "abeh"),
    # wildcards and slices over empty containers find nothing
    ("$.attributes.e[*]", "b"),
    ("$.attributes.k[*]", "abeh"),
    ("$.attributes.*", "abefgh"),
    ("$.attributes[*]", "abefgh"),
    ("$.attributes.arr[1:]", "e"),
    ("$.attributes.arr[:0]", "e"),
    ("$.attributes.arr[-1:]", "e"),
    ("$.attributes.arr[5:]", ""),
    ("$.attributes.arr[0,2]", "e"),
    ("$..v", "f"),
    ("$..k[0][2]", "abeh"),
    ("$.attributes..v", "f"),
    ("$..nothere", ""),
    # filters on arrays test each element, on objects the object itself
    ("$.attributes.lst[?(@.v > 1)]", "f"),
    ("$.attributes[?(@.k > 1)]", "g"),
    ("$.attributes[?(@.k)].s", "abeh"),
    ("$[?(@.id == 'a')]", "a"),
    ("$.metadata[?(@.lang == 'en' && @.score >= 3)]", "h"),
    # logic: || and && over atoms, ! negates one atom
    ("$.attributes[?(@.k || @.s)]", "abefgh"),
    ("$.attributes[?((@.k && @.z) || @.lst)]", "abef"),
    ("$.attributes[?(!(@.k))]", "c"),
    ("$.attributes[?(!@.k && @.s)]", ""),
    ("$.attributes[?(!@.s && @.k || @.n)]", "afgh"),
    ("$.attributes[?(@.k && (!(@.z)))]", "fgh"),
    # other operators
    ("$.attributes[?(@.s == 'abc')]", "a"),
    ("$.attributes[?(@.s < 'b')]", ""),
    ("$.attributes[?(@.s ~= '^a')]", "aeh"),
    ("$.attributes[?(@.s in ['ab','xyz'])]", "be"),
    ("$.attributes[?(@.s in ['ab'])]", "e"),
    ("$.attributes[?(@.s nin ['ab','xyz'])]", "acfgh"),
    ("$.attributes[?(@.arr == [1,2,3])]", "e"),
    ("$.attributes[?(@.arr size 3)]", "abcegh"),
    ("$.attributes[?(@.s size 3)]", "abcfg"),
    ("$.attributes[?(@.arr anyOf [3,4])]", "abcegh"),
    ("$.attributes[?(@.arr noneOf [3,4])]", "f"),
    ("$.attributes[?(@.arr subsetOf [1,2,3,4])]", "abcefgh"),
    ("$.attributes[?(@.n == null)]", "a"),
    ("$.attributes[?(@.f == false)]", "a"),
    ("$.attributes.arr.length()", "ef"),
    ("$.attributes[?(@.arr.length() > 2)]", ""),
]


@pytest.mark.parametrize(("expression", "expected"), CASES)
def test_selection_matches_dolma(expression: str, expected: str) -> None:
    path = JsonPath(expression)
    assert "".join(doc["id"] for doc in DOCS if path.matches(doc)) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "attributes.k",
        "$.attributes.arr[-1]",
        '$.attributes[?(@.s == "abc")]',
        "$.attributes[?(!!@.k)]",
        "$.attributes[?(@.n in [0, null])]",
        "$.attributes[?(@.k >= 0.5)",
        "$.a b",
    ],
)
def test_expressions_dolma_rejects_are_config_errors(expression: str) -> None:
    with pytest.raises(ConfigError, match="invalid JSONPath"):
        JsonPath(expression)


def test_find_returns_the_selected_values_for_span_selectors() -> None:
    doc = {"attributes": {"x": [[0, 2, 1.0]], "y": [[3, 4, 0.5]]}}
    assert JsonPath("$.attributes.x").find(doc) == [[[0, 2, 1.0]]]
    assert JsonPath("$.attributes.missing").find(doc) == []
    assert JsonPath("$.attributes.*").find(doc) == [[[0, 2, 1.0]], [[3, 4, 0.5]]]


def test_scalar_and_nested_attribute_values() -> None:
    doc = {"attributes": {"lang": {"code": "en", "score": 0.93}, "flag": 1, "ratio": 0.25}}
    assert JsonPath("$.attributes[?(@.lang.code == 'en' && @.lang.score > 0.9)]").matches(doc)
    assert JsonPath("$.attributes[?(@.flag == 1 && @.ratio < 0.5)]").matches(doc)
    assert not JsonPath("$.attributes[?(@.flag == 1.0)]").matches(doc)
