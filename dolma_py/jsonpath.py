"""JSONPath in the dialect of dolma's mixer (the Rust crate jsonpath-rust 0.3), compiled once to Python closures.

dolma's filters and span selectors are evaluated by jsonpath-rust, whose rules differ from other JSONPath
implementations in ways that decide which documents a config keeps. This module reproduces them:

- A filter `[?(...)]` applied to an array tests each element; applied to anything else (an object) it tests the
  value itself, so `$.attributes[?(@.k && @.k[0][2] >= 0.5)]` tests the attributes object.
- A bare path inside a filter (`@.k`) is an existence test: true when it finds any value, even `null`, `false`
  or `[]`. `&&` and `||` combine tests; parentheses group them.
- `==` is JSON equality where an integer never equals a float (`1 == 1.0` is false, as in serde_json), so
  `@.k[0][2] >= 1.0` is false for a score written as `1`. `<`, `<=`, `>`, `>=` compare numbers only; either side
  finding zero or several values makes the comparison false (`<=`/`>=` fall back to equality).
- `in`, `nin`, `~=` (regex search), `size`, `anyOf`, `noneOf` and `subsetOf` follow jsonpath-rust.
- `$@.x` is `$` followed by `@.x`, i.e. the same as `$.x`.
- Slices `[a:b:c]` treat an end of 0 (also the default) as "to the end"; indexes are non-negative.

A path "matches" a document (dolma's include/exclude test) unless every step result is "no value": a path that
finds nothing through a wildcard over an empty array still matches, exactly as dolma's `find() != null` check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dolma_py.errors import ConfigError


class _NoValue:
    """jsonpath-rust's `NoValue`: a step that found nothing (distinct from finding JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NoValue"


NO = _NoValue()


@dataclass(frozen=True, slots=True)
class _New:
    """A value computed by the path (from `length()`), not found in the document."""

    value: Any


Step = Callable[[Any], list[Any]]
Predicate = Callable[[Any], bool]

_KEY_CHARS = re.compile(r"[A-Za-z0-9_\-/\\#]+")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_UNSIGNED = re.compile(r"0|[1-9][0-9]*")
_SIGNED = re.compile(r"-?(?:0|[1-9][0-9]*)")
_CONSTANTS = (("true", True), ("false", False), ("null", None))
_NOT_CONSTANT = object()
_SIGNS = ("==", "!=", "~=", ">=", ">", "<=", "<", "nin", "in", "size", "noneOf", "anyOf", "subsetOf")


# ---- JSON value semantics (serde_json) --------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def json_equal(a: Any, b: Any) -> bool:
    """serde_json equality: same JSON type and value; integers and floats are different kinds."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=False))
    if type(a) is dict:
        return a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    return a == b


def _eq(left: list[Any], right: list[Any]) -> bool:
    return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=False))


def _less(left: list[Any], right: list[Any]) -> bool:
    if len(left) == 1 and len(right) == 1 and _is_number(left[0]) and _is_number(right[0]):
        return float(left[0]) < float(right[0])
    return False


def _inside(left: list[Any], right: list[Any]) -> bool:
    if not left or not right:
        return False
    container = right[0]
    if type(container) is list:
        return any(json_equal(el, item) for el in left for item in container)
    if type(container) is dict:
        return any(json_equal(el, item) for el in left for item in container.values())
    return False


def _regex(left: list[Any], right: list[Any]) -> bool:
    if not left or not right or type(right[0]) is not str:
        return False
    try:
        pattern = re.compile(right[0])
    except re.error:
        return False
    return any(type(el) is str and pattern.search(el) is not None for el in left)


def _size(left: list[Any], right: list[Any]) -> bool:
    if not right or not _is_number(right[0]):
        return False
    size = int(right[0])
    for el in left:
        if type(el) is str:
            ok = len(el.encode("utf-8")) == size
        elif type(el) is list or type(el) is dict:
            ok = len(el) == size
        else:
            ok = False
        if not ok:
            return False
    return True


def _any_of(left: list[Any], right: list[Any]) -> bool:
    if not left:
        return True
    if not right or type(right[0]) is not list or not right[0]:
        return False
    options = right[0]
    for el in left:
        items = el if type(el) is list else [el]
        if any(json_equal(item, option) for item in items for option in options):
            return True
    return False


def _subset_of(left: list[Any], right: list[Any]) -> bool:
    if not left:
        return True
    if not right:
        return False
    if type(left[0]) is list and type(right[0]) is list:
        if not right[0]:
            return False
        return all(any(json_equal(el, option) for option in right[0]) for el in left[0])
    return False


_COMPARATORS: dict[str, Callable[[list[Any], list[Any]], bool]] = {
    "==": _eq,
    "!=": lambda a, b: not _eq(a, b),
    "<": _less,
    "<=": lambda a, b: _less(a, b) or _eq(a, b),
    ">": lambda a, b: _less(b, a),
    ">=": lambda a, b: _less(b, a) or _eq(a, b),
    "~=": _regex,
    "in": _inside,
    "nin": lambda a, b: not _inside(a, b),
    "size": _size,
    "anyOf": _any_of,
    "noneOf": lambda a, b: not _any_of(a, b),
    "subsetOf": _subset_of,
}


# ---- path steps -----------------------------------------------------------------------------------------------
def _field(key: str) -> Step:
    def step(value: Any) -> list[Any]:
        if type(value) is dict:
            found = value.get(key, NO)
            return [found]
        return [NO]

    return step


def _index(position: int) -> Step:
    def step(value: Any) -> list[Any]:
        if type(value) is list and position < len(value):
            return [value[position]]
        return [NO]

    return step


def _wildcard(value: Any) -> list[Any]:
    if type(value) is list and value:
        return list(value)
    if type(value) is dict and value:
        return list(value.values())
    return [NO]


def _deep_values(value: Any, out: list[Any]) -> None:
    children = value if type(value) is list else value.values() if type(value) is dict else ()
    for child in children:
        out.append(child)
        _deep_values(child, out)


def _descent_wildcard(value: Any) -> list[Any]:
    if value is NO or type(value) is _New:
        return [NO]
    out: list[Any] = []
    _deep_values(value, out)
    return out


def _descent(key: str) -> Step:
    def collect(value: Any, out: list[Any]) -> None:
        if type(value) is dict:
            if key in value:
                out.append(value[key])
            for child in value.values():
                collect(child, out)
        elif type(value) is list:
            for child in value:
                collect(child, out)

    def step(value: Any) -> list[Any]:
        if value is NO or type(value) is _New:
            return [NO]
        out: list[Any] = []
        collect(value, out)
        return out or [NO]

    return step


def _slice(start: int, end: int, step_by: int) -> Step:
    def bound(index: int, size: int) -> int | None:
        if index >= 0:
            return None if index > size else index
        return None if index < -size else size + index

    def step(value: Any) -> list[Any]:
        if type(value) is not list:
            return [NO]
        size = len(value)
        lo, hi = bound(start, size), bound(end, size)
        if lo is None or hi is None:
            return [NO]
        if hi == 0:
            hi = size
        picked = value[lo:hi:step_by]
        return picked if picked else [NO]

    return step


def _union(steps: list[Step]) -> Step:
    def step(value: Any) -> list[Any]:
        out: list[Any] = []
        for inner in steps:
            out.extend(inner(value))
        return out

    return step


def _filter(predicate: Predicate) -> Step:
    def step(value: Any) -> list[Any]:
        if type(value) is list:
            kept = [el for el in value if predicate(el)]
            return kept if kept else [NO]
        return [value] if predicate(value) else [NO]

    return step


def _only_slices(step: Step) -> Step:
    """Steps other than `@`/`$` see only found values; no value (or a computed one) stays no value."""

    def guarded(value: Any) -> list[Any]:
        if value is NO or type(value) is _New:
            return [NO]
        return step(value)

    return guarded


@dataclass
class _Item:
    """One chain element: its kind, its step, whether it searches (for `length()`), and the constant it denotes
    when it stands alone as a filter operand (`['a','b']`, `[1,2]`, `['a']`, `.a`)."""

    kind: str
    step: Any = None
    search: bool = False
    constant: list[Any] | None = None
    key: str | int | None = None  # set for a plain field or index step


def _walker(keys: tuple[str | int, ...]) -> Step:
    """Consecutive field/index steps fused into one loop (the common `@.k[0][2]`)."""

    def walk(value: Any) -> list[Any]:
        for key in keys:
            if type(key) is str:
                value = value.get(key, NO) if type(value) is dict else NO
            elif type(value) is list and key < len(value):
                value = value[key]
            else:
                return [NO]
            if value is NO:
                return [NO]
        return [value]

    return walk


@dataclass
class _Chain:
    """A sequence of steps folded over a list of values; `length()` steps see the whole list."""

    items: list[_Item]

    def __post_init__(self) -> None:
        searches = any(item.search for item in self.items)
        self.search_length = searches and len(self.items) > 1 and self.items[-1].kind == "length"
        self.plan: list[tuple[str, Any]] = []
        keys: list[str | int] = []
        for item in self.items:
            if item.kind == "step" and item.step is None:
                raise ValueError("union indexes must be non-negative integers")
            if item.key is not None:
                keys.append(item.key)
                continue
            if keys:
                self.plan.append(("walk", _walker(tuple(keys))))
                keys = []
            self.plan.append((item.kind, item.step))
        if keys:
            self.plan.append(("walk", _walker(tuple(keys))))

    def run(self, start: Any, root: Any) -> list[Any]:
        values = [start]
        for kind, step in self.plan:
            if kind == "step" or kind == "walk":
                if len(values) == 1:
                    value = values[0]
                    values = [NO] if value is NO or type(value) is _New else step(value)
                else:
                    values = [out for value in values for out in step(value)]
            elif kind == "root":
                values = [root for _ in values]
            elif kind == "current":
                if step is not None:
                    values = [out for value in values for out in step.run(value, root)]
            else:
                values = [_length(values, self.search_length)]
        return values


def _plain_current_path(chain: _Chain) -> Step | None:
    """The fused lookup of a chain that is `@` followed only by fields and indexes, else None."""
    if len(chain.plan) != 1 or chain.plan[0][0] != "current" or chain.plan[0][1] is None:
        return None
    inner = chain.plan[0][1].plan
    if len(inner) == 1 and inner[0][0] == "walk":
        return inner[0][1]
    return None


def _length(values: list[Any], search: bool) -> Any:
    if values and all(value is NO for value in values):
        return NO
    if search:
        return _New(sum(1 for value in values if value is not NO))
    if not values:
        return NO
    first = values[0]
    data = first.value if type(first) is _New else first
    if type(data) is list:
        return _New(len(data))
    return NO


def _found(values: list[Any]) -> list[Any]:
    return [value.value if type(value) is _New else value for value in values if value is not NO]


# ---- parser ---------------------------------------------------------------------------------------------------
class _Parser:
    """Recursive descent over jsonpath-rust's grammar; whitespace is allowed between tokens."""

    def __init__(self, text: str, root_holder: list[Any]) -> None:
        self.text = text
        self.pos = 0
        self.root_holder = root_holder

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"invalid JSONPath {self.text!r} at position {self.pos}: {message}")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def accept(self, token: str) -> bool:
        self.skip_ws()
        if self.peek(token):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.accept(token):
            raise self.fail(f"expected {token!r}")

    def match(self, pattern: re.Pattern[str]) -> str | None:
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group(0)

    def parse_path(self) -> _Chain:
        items = self.parse_items()
        self.skip_ws()
        if not items or self.pos != len(self.text):
            raise self.fail("unexpected text" if items else "expected a path")
        return self.make_chain(items)

    def make_chain(self, items: list[_Item]) -> _Chain:
        try:
            return _Chain(items)
        except ValueError as err:
            raise self.fail(str(err)) from None

    def parse_items(self) -> list[_Item]:
        items: list[_Item] = []
        while True:
            self.skip_ws()
            item = self.parse_item()
            if item is None:
                return items
            items.append(item)

    def parse_item(self) -> _Item | None:
        text, start = self.text, self.pos
        if start >= len(text):
            return None
        if text[start] == "$":
            self.pos += 1
            return _Item("root")
        if text[start] == "@":
            self.pos += 1
            tail = self.parse_items()
            return _Item("current", self.make_chain(tail) if tail else None)
        if text.startswith("..", start):
            self.pos += 2
            if self.peek("*"):
                self.pos += 1
                return _Item("step", _descent_wildcard, search=True)
            key = self.parse_key()
            if key is None:
                raise self.fail("expected a key after '..'")
            return _Item("step", _descent(key), search=True)
        if text.startswith(".length()", start):
            self.pos += len(".length()")
            return _Item("length")
        if text.startswith(".*", start):
            self.pos += 2
            return _Item("step", _only_slices(_wildcard), search=True)
        if text[start] == ".":
            self.pos += 1
            if self.peek("["):
                return self.parse_bracket()
            key = self.parse_key_lim()
            if key is None:
                raise self.fail("expected a key after '.'")
            return _Item("step", _only_slices(_field(key)), constant=[key], key=key)
        if text[start] == "[":
            return self.parse_bracket()
        return None

    def parse_key(self) -> str | None:
        if self.peek("["):
            save = self.pos
            self.pos += 1
            quoted = self.parse_quoted()
            if quoted is not None and self.peek("]"):
                self.pos += 1
                return quoted
            self.pos = save
            return None
        return self.parse_key_lim()

    def parse_key_lim(self) -> str | None:
        if self.peek("length()"):
            return None
        return self.match(_KEY_CHARS)

    def parse_quoted(self) -> str | None:
        if not self.peek("'"):
            return None
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != "'":
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise self.fail("unterminated string")
        value = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return value

    def parse_bracket(self) -> _Item:
        self.expect("[")
        self.skip_ws()
        if self.accept("*"):
            self.expect("]")
            return _Item("step", _only_slices(_wildcard), search=True)
        if self.peek("?"):
            self.pos += 1
            self.expect("(")
            predicate = self.parse_logic()
            self.expect(")")
            self.expect("]")
            return _Item("step", _only_slices(_filter(predicate)), search=True)
        if self.peek("'"):
            keys: list[str] = []
            while True:
                self.skip_ws()
                key = self.parse_quoted()
                if key is None:
                    raise self.fail("expected a quoted key")
                keys.append(key)
                if not self.accept(","):
                    break
            self.expect("]")
            if len(keys) == 1:
                return _Item("step", _only_slices(_field(keys[0])), constant=keys, key=keys[0])
            return _Item("step", _union([_only_slices(_field(k)) for k in keys]), search=True, constant=keys)
        return self.parse_index_or_slice()

    def parse_index_or_slice(self) -> _Item:
        save = self.pos
        first = self.match(_SIGNED)
        self.skip_ws()
        if self.peek(":"):
            self.pos += 1
            self.skip_ws()
            end = self.match(_SIGNED)
            step_by = 1
            self.skip_ws()
            if self.peek(":"):
                self.pos += 1
                self.skip_ws()
                step_text = self.match(_UNSIGNED)
                if step_text is None or int(step_text) == 0:
                    raise self.fail("expected a positive slice step")
                step_by = int(step_text)
            self.expect("]")
            return _Item("step", _only_slices(_slice(int(first or 0), int(end or 0), step_by)), search=True)
        self.pos = save
        numbers: list[str] = []
        while True:
            self.skip_ws()
            number = self.match(_NUMBER)
            if number is None:
                raise self.fail("expected an index, slice, quoted key, '*' or filter")
            numbers.append(number)
            if not self.accept(","):
                break
        self.expect("]")
        if len(numbers) == 1:
            if not _UNSIGNED.fullmatch(numbers[0]):
                raise self.fail("an index must be a non-negative integer")
            return _Item("step", _only_slices(_index(int(numbers[0]))), key=int(numbers[0]))
        constant = [_number(n) for n in numbers]
        if all(_UNSIGNED.fullmatch(n) for n in numbers):
            step: Step | None = _union([_only_slices(_index(int(n))) for n in numbers])
        else:
            step = None  # only valid as a filter operand constant
        return _Item("step", step, search=True, constant=constant)

    # -- filter expressions: `||` of `&&` of optionally negated atoms --
    def parse_logic(self) -> Predicate:
        terms = [self.parse_and()]
        while self.accept("||"):
            terms.append(self.parse_and())
        if len(terms) == 1:
            return terms[0]
        return lambda value: any(term(value) for term in terms)

    def parse_and(self) -> Predicate:
        terms = [self.parse_not()]
        while self.accept("&&"):
            terms.append(self.parse_not())
        if len(terms) == 1:
            return terms[0]
        return lambda value: all(term(value) for term in terms)

    def parse_not(self) -> Predicate:
        if self.accept("!"):
            inner = self.parse_atom_test()
            return lambda value: not inner(value)
        return self.parse_atom_test()

    def parse_atom_test(self) -> Predicate:
        self.skip_ws()
        if self.peek("("):
            self.pos += 1
            inner = self.parse_logic()
            self.expect(")")
            return inner
        left = self.parse_operand()
        self.skip_ws()
        sign = next((s for s in _SIGNS if self.peek(s)), None)
        if sign is None:
            return lambda value: bool(left(value))
        self.pos += len(sign)
        right = self.parse_operand()
        compare = _COMPARATORS[sign]
        return lambda value: compare(left(value), right(value))

    def parse_operand(self) -> Callable[[Any], list[Any]]:
        """A constant (string, number, boolean, null, or a lone `['a','b']`/`[1,2]`/`['a']`/`.a` chain) or a path."""
        self.skip_ws()
        constant: Any = self.parse_quoted()
        if constant is None:
            constant = self.parse_constant()
        if constant is not _NOT_CONSTANT:
            return lambda value, c=[constant]: c
        items = self.parse_items()
        if not items:
            raise self.fail("expected a path, string, number, boolean or null")
        if len(items) == 1 and items[0].constant is not None:
            return lambda value, c=[items[0].constant]: c
        chain = self.make_chain(items)
        walk = _plain_current_path(chain)
        if walk is not None:  # `@.a.b[0]`: one fused lookup, the common case
            return lambda value: [v for v in walk(value) if v is not NO]
        root_holder = self.root_holder
        return lambda value: [v for v in chain.run(value, root_holder[0]) if v is not NO and type(v) is not _New]

    def parse_constant(self) -> Any:
        """A number, `true`, `false` or `null`; else `_NOT_CONSTANT`."""
        number = self.match(_NUMBER)
        if number is not None:
            return _number(number)
        for literal, constant in _CONSTANTS:
            if self.peek(literal):
                self.pos += len(literal)
                return constant
        return _NOT_CONSTANT


def _number(text: str) -> int | float:
    """A number literal as serde_json reads it: integer unless it has a fraction or exponent."""
    return float(text) if any(c in text for c in ".eE") else int(text)


class JsonPath:
    """A compiled dolma-dialect JSONPath: `matches(doc)` for filters, `find(doc)` for span selectors."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self._root: list[Any] = [None]
        self._chain = _Parser(expression, self._root).parse_path()

    def _run(self, document: Any) -> list[Any]:
        self._root[0] = document  # what `$` means inside filter expressions
        return self._chain.run(document, document)

    def matches(self, document: Any) -> bool:
        """dolma's include/exclude test: true unless every result is 'no value'."""
        results = self._run(document)
        return not results or any(value is not NO for value in results)

    def find(self, document: Any) -> list[Any]:
        """Every value the path finds (dolma's span selector reads a single match as the list of spans)."""
        return _found(self._run(document))
