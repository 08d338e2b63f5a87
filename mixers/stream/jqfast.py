"""A Python interpreter for the subset of jq that mixer filters use, with jq 1.7's semantics.

The jq library parses every document from JSON text, which costs far more than the filter itself; running
common expressions directly on the parsed document avoids that. `compile_fast(expression)` returns a function
`document -> list of outputs` or raises `Unsupported` when the expression leaves the subset:

- paths `.`, `.a`, `."a"`, `.[e]` (negative indexes count from the end), `.[]`, postfix `?`;
- literals (numbers, strings without interpolation, `true`, `false`, `null`), `[e]`, `[]`, `{}`, `( )`;
- `|`, `,`, `//`, `or`, `and`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `+`, `-`, `*`, `/`, unary `-`,
  `if c then a (elif ...) else b end`;
- `length`, `not`, `add`, `map(f)`, `select(f)`, `empty`, `keys`, `has(k)`, `type`, `min`, `max`, `any`,
  `all`, `floor`, `abs`.

jq's rules are kept: indexing `null` yields `null`, iterating `null` is an error, values of different types
order as null < false < true < numbers < strings < arrays < objects, `1 == 1.0`. Value combinations the
interpreter does not cover (string repetition, object merging, ...) raise `Unsupported` at run time so the
caller can hand that document to the jq library. `?`, `//` and `try`-like constructs are accepted only around
single-output expressions, where "no output on error" is exact without lazy evaluation.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cmp_to_key
from typing import Any

import orjson


class Unsupported(Exception):
    """The expression (or one value combination) is outside the interpreter's subset."""


class JqRuntimeError(Exception):
    """A jq runtime error, with jq's message."""


class Computed(float):
    """A float produced by arithmetic rather than read from the document.

    dolma's jq engine keeps non-integer numbers read from a document as decimal literals that are always truthy
    (even `0.0`), while numbers it computes are false when zero; this type lets the truthiness test tell them apart.
    """

    __slots__ = ()


_NUMBER_TYPES = (int, float, Computed)


def _computed(value: Any) -> Any:
    return Computed(value) if type(value) is float or type(value) is Computed else value


Fn = Callable[[Any], list[Any]]


@dataclass
class Node:
    """A compiled expression: `fn(input) -> outputs`; `multi` is False when it yields at most one output.

    `path` is set for plain paths (`.`, `.a.b[0]`): the constant keys walked from the input, fused into one loop;
    `constant` holds the value of a literal.
    """

    fn: Fn
    multi: bool
    path: tuple[Any, ...] | None = None
    constant: Any = None
    is_constant: bool = False


def _literal(value: Any) -> Node:
    return Node(lambda x: [value], False, constant=value, is_constant=True)


def _walker(keys: tuple[Any, ...]) -> Fn:
    """Follow constant keys from the input: one loop instead of one closure per step."""
    if not keys:
        return lambda x: [x]
    if len(keys) == 1:
        (key,) = keys
        if type(key) is str:
            return lambda x: [x.get(key) if type(x) is dict else _index(x, key)]

    def walk(x: Any) -> list[Any]:
        for key in keys:
            if type(x) is dict and type(key) is str:
                x = x.get(key)
            else:
                x = _index(x, key)
        return [x]

    return walk


def _path(keys: tuple[Any, ...]) -> Node:
    return Node(_walker(keys), False, path=keys)


# ---- jq values ------------------------------------------------------------------------------------------------
def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is bool:
        return "boolean"
    if type(value) in _NUMBER_TYPES:
        return "number"
    if type(value) is str:
        return "string"
    if type(value) is list:
        return "array"
    if type(value) is dict:
        return "object"
    raise Unsupported(f"value of type {type(value).__name__}")


def _truthy(value: Any) -> bool:
    return value is not None and value is not False


def _rank(value: Any) -> int:
    """jq's type order: null < false < true < numbers < strings < arrays < objects."""
    if value is None:
        return 0
    if value is False:
        return 1
    if value is True:
        return 2
    if type(value) in _NUMBER_TYPES:
        return 3
    if type(value) is str:
        return 4
    if type(value) is list:
        return 5
    if type(value) is dict:
        return 6
    raise Unsupported(f"value of type {type(value).__name__}")


def _compare(a: Any, b: Any) -> int:
    """jq's total order of JSON values (numbers compare by value, so `1 == 1.0`)."""
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return (ra > rb) - (ra < rb)
    if ra == 3:
        fa, fb = float(a), float(b)
        return (fa > fb) - (fa < fb)
    if ra == 4:
        return (a > b) - (a < b)
    if ra == 5:
        for x, y in zip(a, b, strict=False):
            c = _compare(x, y)
            if c:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    if ra == 6:
        ka, kb = sorted(a), sorted(b)
        c = _compare(ka, kb)
        if c:
            return c
        for key in ka:
            c = _compare(a[key], b[key])
            if c:
                return c
    return 0


def _number(value: Any) -> bool:
    return type(value) in _NUMBER_TYPES


def _describe(value: Any) -> str:
    text = orjson.dumps(value, default=float).decode()
    return f"{_type_name(value)} ({text[:11] + '...' if len(text) > 11 else text})"


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if _number(a) and _number(b):
        return _computed(a + b)
    if type(a) is str and type(b) is str:
        return a + b
    if type(a) is list and type(b) is list:
        return a + b
    if type(a) is dict and type(b) is dict:
        return {**a, **b}
    raise JqRuntimeError(f"{_describe(a)} and {_describe(b)} cannot be added")


def _subtract(a: Any, b: Any) -> Any:
    if _number(a) and _number(b):
        return _computed(a - b)
    if type(a) is list and type(b) is list:
        return [x for x in a if not any(_compare(x, y) == 0 for y in b)]
    raise JqRuntimeError(f"{_describe(a)} and {_describe(b)} cannot be subtracted")


def _multiply(a: Any, b: Any) -> Any:
    if _number(a) and _number(b):
        return _computed(a * b)
    raise Unsupported("multiplication of non-numbers")


def _divide(a: Any, b: Any) -> Any:
    if _number(a) and _number(b):
        if b == 0:
            raise JqRuntimeError(f"{_describe(a)} and {_describe(b)} cannot be divided because the divisor is zero")
        return _computed(a / b)
    raise Unsupported("division of non-numbers")


_ARITHMETIC = {"+": _add, "-": _subtract, "*": _multiply, "/": _divide}


def _comparison(test: Callable[[int], bool], numeric: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    """A comparison with a fast path for two plain numbers (compared as doubles, like jq)."""

    def compare(a: Any, b: Any) -> bool:
        ta, tb = type(a), type(b)
        if (ta is float or ta is int) and (tb is float or tb is int):
            return numeric(float(a), float(b))
        return test(_compare(a, b))

    return compare


_COMPARISON = {
    "==": _comparison(lambda c: c == 0, lambda a, b: a == b),
    "!=": _comparison(lambda c: c != 0, lambda a, b: a != b),
    "<": _comparison(lambda c: c < 0, lambda a, b: a < b),
    "<=": _comparison(lambda c: c <= 0, lambda a, b: a <= b),
    ">": _comparison(lambda c: c > 0, lambda a, b: a > b),
    ">=": _comparison(lambda c: c >= 0, lambda a, b: a >= b),
}


def _index(value: Any, key: Any) -> Any:
    """`value[key]` with jq's rules for null, objects, arrays and negative indexes."""
    if type(key) is str:
        if type(value) is dict:
            return value.get(key)
        if value is None:
            return None
        raise JqRuntimeError(f'Cannot index {_type_name(value)} with "{key}"')
    if type(key) is float and key.is_integer():
        key = int(key)
    if type(key) is int:
        if type(value) is list:
            position = key + len(value) if key < 0 else key
            return value[position] if 0 <= position < len(value) else None
        if value is None:
            return None
        raise JqRuntimeError(f"Cannot index {_type_name(value)} with number")
    raise Unsupported("indexing with a fractional or non-scalar key")


def _iterate(value: Any) -> list[Any]:
    if type(value) is list:
        return value
    if type(value) is dict:
        return list(value.values())
    raise JqRuntimeError(f"Cannot iterate over {_describe(value) if value is not None else 'null'}")


def _length(value: Any) -> Any:
    if value is None:
        return 0
    if type(value) is bool:
        raise JqRuntimeError(f"boolean ({'true' if value else 'false'}) has no length")
    if _number(value):
        return _computed(abs(value))
    if type(value) is str or type(value) is list or type(value) is dict:
        return len(value)
    raise Unsupported("length of an unknown type")


def _add_all(value: Any) -> Any:
    total = None
    for item in _iterate(value):
        total = _add(total, item)
    return total


def _keys(value: Any) -> Any:
    if type(value) is dict:
        return sorted(value)
    if type(value) is list:
        return list(range(len(value)))
    raise JqRuntimeError(f"{_describe(value)} has no keys")


def _extreme(value: Any, sign: int) -> Any:
    if type(value) is not list:
        raise JqRuntimeError(f"Cannot determine the {'max' if sign > 0 else 'min'} of {_describe(value)}")
    if not value:
        return None
    ordered = sorted(value, key=cmp_to_key(_compare))
    return ordered[-1] if sign > 0 else ordered[0]


def _floor(value: Any) -> Any:
    if not _number(value):
        raise JqRuntimeError(f"{_describe(value)} number required")
    return math.floor(value)


def _abs(value: Any) -> Any:
    if not _number(value):
        raise Unsupported("abs of a non-number")
    return _computed(abs(value))


_NULLARY: dict[str, Callable[[Any], Any]] = {
    "length": _length,
    "not": lambda v: not _truthy(v),
    "add": _add_all,
    "keys": _keys,
    "type": _type_name,
    "min": lambda v: _extreme(v, -1),
    "max": lambda v: _extreme(v, 1),
    "any": lambda v: any(_truthy(x) for x in _iterate(v)),
    "all": lambda v: all(_truthy(x) for x in _iterate(v)),
    "floor": _floor,
    "abs": _abs,
}


# ---- tokenizer ------------------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op>\?//|\|=|\+=|-=|\*=|/=|%=|//=|==|!=|<=|>=|//|\.\.|[.\[\]{}()|,:;<>+\-*/%?=$@\#])
    )""",
    re.VERBOSE,
)
_CONSTANTS = {"true": True, "false": False, "null": None}
_OPERATORS = {".", "[", "]", "(", ")", "|", ",", "<", ">", "+", "-", "*", "/", "?", "==", "!=", "<=", ">=", "//", ";"}


def _tokenize(expression: str) -> list[tuple[str, str]]:
    tokens = []
    pos = 0
    while pos < len(expression):
        if expression[pos:].strip() == "":
            break
        found = _TOKEN.match(expression, pos)
        if found is None or found.end() == pos:
            raise Unsupported(f"cannot tokenize at {pos}")
        kind = found.lastgroup or ""
        text = found.group(kind)
        if kind == "op" and text not in _OPERATORS:
            raise Unsupported(f"operator {text!r}")
        if kind == "string" and "\\(" in text:
            raise Unsupported("string interpolation")
        tokens.append((kind, text))
        pos = found.end()
    return tokens


# ---- parser: jq precedence, lowest first: '|', ',', '//', 'or', 'and', comparisons, '+ -', '* /', unary ------
class _Parser:
    def __init__(self, expression: str) -> None:
        self.tokens = _tokenize(expression)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, text: str) -> bool:
        token = self.peek()
        if token is not None and token[1] == text and token[0] in ("op", "ident"):
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.take(text):
            raise Unsupported(f"expected {text!r}")

    def parse(self) -> Node:
        node = self.pipe()
        if self.peek() is not None:
            raise Unsupported(f"unexpected {self.peek()}")
        return node

    def pipe(self) -> Node:
        left = self.comma()
        if not self.take("|"):
            return left
        right = self.pipe()
        lf, rf = left.fn, right.fn
        if not left.multi:
            return Node(lambda x: [y for v in lf(x) for y in rf(v)], right.multi)
        return Node(lambda x: [y for v in lf(x) for y in rf(v)], True)

    def comma(self) -> Node:
        parts = [self.alternative()]
        while self.take(","):
            parts.append(self.alternative())
        if len(parts) == 1:
            return parts[0]
        fns = [p.fn for p in parts]
        return Node(lambda x: [y for f in fns for y in f(x)], True)

    def alternative(self) -> Node:
        """`a // b`: the truthy outputs of `a`, or else the outputs of `b` (errors in `a` propagate, as in jq 1.7)."""
        left = self.logic_or()
        if not self.take("//"):
            return left
        right = self.alternative()
        lf, rf = left.fn, right.fn

        def alt(x: Any) -> list[Any]:
            found = [v for v in lf(x) if _truthy(v)]
            return found if found else rf(x)

        return Node(alt, left.multi or right.multi)

    def logic_or(self) -> Node:
        left = self.logic_and()
        while self.take("or"):
            right = self.logic_and()
            left = self.boolean(left, right, is_or=True)
        return left

    def logic_and(self) -> Node:
        left = self.comparison()
        while self.take("and"):
            right = self.comparison()
            left = self.boolean(left, right, is_or=False)
        return left

    @staticmethod
    def boolean(left: Node, right: Node, is_or: bool) -> Node:
        lf, rf = left.fn, right.fn

        def run(x: Any) -> list[Any]:
            out = []
            for a in lf(x):
                if _truthy(a) == is_or:
                    out.append(is_or)
                else:
                    out.extend(_truthy(b) for b in rf(x))
            return out

        return Node(run, left.multi or right.multi)

    def comparison(self) -> Node:
        left = self.additive()
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in _COMPARISON:
            self.pos += 1
            right = self.additive()
            if self.peek() is not None and self.peek()[1] in _COMPARISON:  # type: ignore[index]
                raise Unsupported("chained comparison")
            return self.binary(left, right, _COMPARISON[token[1]])
        return left

    @staticmethod
    def binary(left: Node, right: Node, op: Callable[[Any, Any], Any]) -> Node:
        lf, rf = left.fn, right.fn
        if right.is_constant and not left.multi:
            constant = right.constant

            def with_constant(x: Any) -> list[Any]:
                ls = lf(x)
                return [op(ls[0], constant)] if ls else []

            return Node(with_constant, False)
        if not left.multi and not right.multi:

            def single(x: Any) -> list[Any]:
                rs = rf(x)
                if not rs:
                    return []
                ls = lf(x)
                if not ls:
                    return []
                return [op(ls[0], rs[0])]

            return Node(single, False)
        # jq loops over the right operand outside and the left one inside
        return Node(lambda x: [op(a, b) for b in rf(x) for a in lf(x)], True)

    def additive(self) -> Node:
        left = self.multiplicative()
        while True:
            token = self.peek()
            if token is None or token not in (("op", "+"), ("op", "-")):
                return left
            self.pos += 1
            right = self.multiplicative()
            left = self.binary(left, right, _ARITHMETIC[token[1]])

    def multiplicative(self) -> Node:
        left = self.unary()
        while True:
            token = self.peek()
            if token is None or token not in (("op", "*"), ("op", "/")):
                return left
            self.pos += 1
            right = self.unary()
            left = self.binary(left, right, _ARITHMETIC[token[1]])

    def unary(self) -> Node:
        if self.take("-"):
            inner = self.unary()
            if inner.is_constant and _number(inner.constant):
                return _literal(-inner.constant)
            fn = inner.fn

            def negate(x: Any) -> list[Any]:
                out = []
                for v in fn(x):
                    if not _number(v):
                        raise JqRuntimeError(f"{_describe(v)} cannot be negated")
                    out.append(_computed(-v))
                return out

            return Node(negate, inner.multi)
        return self.postfix()

    # -- terms with postfix indexes --
    def postfix(self) -> Node:
        """A term followed by `.a`, `."a"`, `[e]`, `[]` and `?`; a `?` after an index guards only that index."""
        node = self.term()
        base: Node | None = None
        last: Node | None = None
        while True:
            token = self.peek()
            if token is None:
                return node
            kind, text = token
            step: Node | None = None
            if kind == "field":
                self.pos += 1
                step = self.index_const(text[1:])
            elif (
                kind == "op"
                and text == "."
                and self.pos + 1 < len(self.tokens)
                and self.tokens[self.pos + 1][0] == "string"
            ):
                self.pos += 1
                step = self.index_const(self.string_value())
            elif (
                kind == "op"
                and text == "."
                and self.pos + 1 < len(self.tokens)
                and self.tokens[self.pos + 1] == ("op", "[")
            ):
                self.pos += 1
                continue
            elif kind == "op" and text == "[":
                step = self.bracket()
            elif kind == "op" and text == "?":
                self.pos += 1
                if base is not None and last is not None:
                    node = self.chain(base, self.optional(last))
                else:
                    node = self.optional(node)
                base = last = None
                continue
            else:
                return node
            base, last = node, step
            node = self.chain(node, step)

    @staticmethod
    def chain(base: Node, step: Node) -> Node:
        if base.path is not None and step.path is not None:
            return _path(base.path + step.path)
        bf, sf = base.fn, step.fn
        if not base.multi and not step.multi:

            def single(x: Any) -> list[Any]:
                values = bf(x)
                return sf(values[0]) if values else []

            return Node(single, False)
        return Node(lambda x: [y for v in bf(x) for y in sf(v)], True)

    @staticmethod
    def optional(node: Node) -> Node:
        """`node?`: no output when it fails; exact for steps whose failure precedes any output."""
        fn = node.fn
        if node.multi and fn is not _iterate:
            raise Unsupported("'?' after a multi-output expression")

        def run(x: Any) -> list[Any]:
            try:
                return fn(x)
            except JqRuntimeError:
                return []

        return Node(run, node.multi)

    @staticmethod
    def index_const(key: str) -> Node:
        return _path((key,))

    def string_value(self) -> str:
        kind, text = self.tokens[self.pos]
        if kind != "string":
            raise Unsupported("expected a string")
        self.pos += 1
        try:
            return json.loads(text)
        except ValueError:
            raise Unsupported("string escape") from None

    def bracket(self) -> Node:
        """`[]`, `[e]` after a term (the caller saw '[')."""
        self.expect("[")
        if self.take("]"):
            return Node(_iterate, True)
        key = self.pipe()
        self.expect("]")
        if key.is_constant and (type(key.constant) is str or type(key.constant) is int):
            return _path((key.constant,))
        kf = key.fn
        if key.multi:
            return Node(lambda x: [_index(x, k) for k in kf(x)], True)
        return Node(lambda x: [_index(x, k) for k in kf(x)], False)

    def term(self) -> Node:
        token = self.peek()
        if token is None:
            raise Unsupported("unexpected end")
        kind, text = token
        if kind == "number":
            self.pos += 1
            return _literal(float(text) if any(c in text for c in ".eE") else int(text))
        if kind == "string":
            return _literal(self.string_value())
        if kind == "field":
            self.pos += 1
            return self.index_const(text[1:])
        if kind == "op":
            return self.op_term(text)
        return self.word_term(text)

    def op_term(self, text: str) -> Node:
        if text == ".":
            self.pos += 1
            token = self.peek()
            if token is not None and token[0] == "string":
                return self.index_const(self.string_value())
            if token == ("op", "["):
                return self.bracket()
            return _path(())
        if text == "(":
            self.pos += 1
            inner = self.pipe()
            self.expect(")")
            return inner
        if text == "[":
            self.pos += 1
            if self.take("]"):
                return Node(lambda x: [[]], False)
            inner = self.pipe()
            self.expect("]")
            fn = inner.fn
            return Node(lambda x: [list(fn(x))], False)
        if text == "{":
            raise Unsupported("object construction")
        raise Unsupported(f"unexpected {text!r}")

    def word_term(self, text: str) -> Node:
        self.pos += 1
        if text == "if":
            return self.conditional()
        if text == "empty":
            return Node(lambda x: [], False)
        if text in _CONSTANTS:
            return _literal(_CONSTANTS[text])
        if text in ("map", "select", "has", "any", "all") and self.take("("):
            arg = self.pipe()
            if self.take(";"):
                raise Unsupported(f"{text} with two arguments")
            self.expect(")")
            return self.call(text, arg)
        if text in _NULLARY:
            fn = _NULLARY[text]
            return Node(lambda x: [fn(x)], False)
        raise Unsupported(f"builtin {text!r}")

    @staticmethod
    def call(name: str, arg: Node) -> Node:
        af = arg.fn
        if name == "map":
            return Node(lambda x: [[y for v in _iterate(x) for y in af(v)]], False)
        if name == "select":
            return Node(lambda x: [x for v in af(x) if _truthy(v)], True)
        if name == "has":

            def has(x: Any) -> list[Any]:
                out = []
                for key in af(x):
                    if x is None:
                        out.append(False)
                    elif type(x) is dict and type(key) is str:
                        out.append(key in x)
                    elif type(x) is list and _number(key):
                        out.append(0 <= key < len(x))
                    else:
                        raise JqRuntimeError(f"Cannot check whether {_type_name(x)} has a {_type_name(key)} key")
                return out

            return Node(has, arg.multi)
        # any(f) / all(f): over the elements of the input
        want = name == "any"

        def quantifier(x: Any) -> list[Any]:
            for item in _iterate(x):
                for v in af(item):
                    if _truthy(v) == want:
                        return [want]
            return [not want]

        return Node(quantifier, False)

    def conditional(self) -> Node:
        cond = self.pipe()
        self.expect("then")
        then = self.pipe()
        if self.take("elif"):
            other = self.conditional_tail()
        else:
            self.expect("else")
            other = self.pipe()
            self.expect("end")
        cf, tf, of = cond.fn, then.fn, other.fn

        def run(x: Any) -> list[Any]:
            return [y for c in cf(x) for y in (tf(x) if _truthy(c) else of(x))]

        return Node(run, cond.multi or then.multi or other.multi)

    def conditional_tail(self) -> Node:
        """What follows `elif`: the same as an `if` without the keyword."""
        return self.conditional()


def compile_fast(expression: str) -> Fn:
    """Compile `expression` to a Python function, or raise `Unsupported`."""
    node = _Parser(expression).parse()
    return node.fn
