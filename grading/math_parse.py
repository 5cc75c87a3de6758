"""A safe parser for maths answers as OCR writes them (plain text or LaTeX-ish).

It never evaluates anything: it turns an allow-listed token stream into a small JSON-able
tree (nested lists) that :mod:`grading.math_worker` later rebuilds as sympy objects in a
separate, bounded process. Anything outside the allow-list (quotes, underscores, dots in
names, unknown LaTeX commands) is rejected, and length, token count, nesting depth, digit
count and literal exponents are bounded, so ``__import__('os')`` and ``9^9^9^9`` never get
past this module.

Tree nodes: ``["num", "1.5"]``, ``["sym", "x"]``, ``["const", "pi"|"oo"]``,
``["add"|"sub"|"mul"|"div"|"pow", a, b]``, ``["neg", a]``, ``["func", name, a]``,
``["rel", op, a, b]``, ``["chain", [rel, ...]]``, ``["interval", lo_open, a, b, hi_open]``,
``["set", [a, ...]]``, ``["union", a, b]``, ``["list", [item, ...]]``.
"""

from __future__ import annotations

from typing import Any

from grading.math_lex import FUNCS, RELOPS, MathParseError, tokenize

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_INPUT_CHARS",
    "MathParseError",
    "parse_math",
]

MAX_INPUT_CHARS = 300
MAX_DEPTH = 30
MAX_EXPONENT = 100

Node = list[Any]


class _Parser:
    """Recursive descent, one method per rule (each rule's method has the rule's name)::

    top       := item ((',' | 'or') item)*          -- lists only of x = c items
    item      := set_union | expr ('∈' set_union | (relop expr)*)
    set_union := set_atom ('∪' set_atom)*
    set_atom  := '{' expr (',' expr)* '}' | ('(' | '[') expr ',' expr (')' | ']')
    expr      := term (('+' | '-') term)*
    term      := unary (('*' | '/') unary | power)*   -- juxtaposition multiplies
    unary     := ('-' | '+') unary | power
    power     := atom ('^' unary)?
    atom      := number | variable | pi | oo | '(' expr ')' | '{' expr '}'
               | '|' expr '|' | frac '{' expr '}' '{' expr '}' | func (group | power)
    """

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> str | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None:
            raise MathParseError("the answer ends too early")
        if expected is not None and tok != expected:
            raise MathParseError(f"expected '{expected}', found '{tok}'")
        self.i += 1
        return tok

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise MathParseError(f"nested deeper than {MAX_DEPTH} levels")

    # top level -----------------------------------------------------------------
    def top(self) -> Node:
        items = [self.item()]
        while self.peek() in (",", "or"):
            self.take()
            items.append(self.item())
        if self.peek() is not None:
            raise MathParseError(f"unexpected '{self.peek()}'")
        if len(items) == 1:
            return items[0]
        if any(item[0] != "rel" or item[1] != "=" for item in items):
            raise MathParseError("only solutions such as 'x=2, x=3' may be listed")
        return ["list", items]

    def item(self) -> Node:
        if self.peek() in ("(", "[", "{"):
            start = self.i
            try:
                return self.set_union()
            except MathParseError:
                self.i, self.depth = start, 0
        left = self.expr()
        if self.peek() == "∈":
            self.take()
            return self.set_union()
        rels: list[Node] = []
        while self.peek() in RELOPS:
            op = self.take()
            right = self.expr()
            rels.append(["rel", op, left, right])
            left = right
        if not rels:
            return left
        return rels[0] if len(rels) == 1 else ["chain", rels]

    def set_union(self) -> Node:
        node = self.set_atom()
        while self.peek() == "∪":
            self.take()
            node = ["union", node, self.set_atom()]
        if self.peek() not in (None, ",", "or"):
            raise MathParseError("not a set")
        return node

    def set_atom(self) -> Node:
        tok = self.take()
        if tok == "{":
            elements = [self.expr()]
            while self.peek() == ",":
                self.take()
                elements.append(self.expr())
            self.take("}")
            return ["set", elements]
        if tok in ("(", "["):
            low = self.expr()
            self.take(",")
            high = self.expr()
            close = self.take()
            if close not in (")", "]"):
                raise MathParseError("an interval must end with ) or ]")
            return ["interval", tok == "(", low, high, close == ")"]
        raise MathParseError("expected a set or an interval")

    # expressions ---------------------------------------------------------------
    def expr(self) -> Node:
        node = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            node = ["add" if op == "+" else "sub", node, self.term()]
        return node

    def _starts_atom(self, tok: str | None) -> bool:
        return tok is not None and (
            tok[0].isdigit()
            or tok[0] == "."
            or tok.startswith("$")
            or tok in ("(", "{", "pi", "oo", "frac", *FUNCS)
        )

    def term(self) -> Node:
        node = self.unary()
        while True:
            tok = self.peek()
            if tok in ("*", "/"):
                self.take()
                node = ["mul" if tok == "*" else "div", node, self.unary()]
            elif self._starts_atom(tok):
                node = ["mul", node, self.power()]
            else:
                return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok not in ("-", "+"):
            return self.power()
        self.enter()  # a run of signs nests too (- - - x)
        self.take()
        inner = self.unary()
        self.depth -= 1
        return ["neg", inner] if tok == "-" else inner

    def power(self) -> Node:
        base = self.atom()
        if self.peek() != "^":
            return base
        self.take()
        exponent = self.unary()
        _check_exponent(exponent)
        return ["pow", base, exponent]

    def group(self, open_tok: str) -> Node:
        close = {"(": ")", "{": "}", "[": "]", "|": "|"}[open_tok]
        node = self.expr()
        self.take(close)
        return node

    def atom(self) -> Node:
        # Depth counts brackets, fractions and functions: the only ways to nest.
        self.enter()
        tok = self.take()
        node: Node
        if tok[0].isdigit() or tok[0] == ".":
            node = ["num", tok]
        elif tok.startswith("$"):
            name = tok[1:]
            # x1, x2: a digit glued to a letter is a subscript (x₁ after width folding).
            nxt = self.peek()
            if nxt is not None and nxt.isdigit() and len(nxt) <= 2 and self.peek(1) in RELOPS:
                name += self.take()
            node = ["sym", name]
        elif tok in ("pi", "oo"):
            node = ["const", tok]
        elif tok in ("(", "{", "|"):
            inner = self.group(tok)
            node = ["func", "abs", inner] if tok == "|" else inner
        elif tok == "frac":
            self.take("{")
            num = self.group("{")
            self.take("{")
            node = ["div", num, self.group("{")]
        elif tok in FUNCS:
            nxt = self.peek()
            arg = self.group(self.take()) if nxt in ("(", "{") else self.power()
            node = ["func", tok, arg]
        else:
            raise MathParseError(f"unexpected '{tok}'")
        self.depth -= 1
        return node


def _has(node: Node, heads: tuple[str, ...]) -> bool:
    if node[0] in heads:
        return True
    return any(isinstance(child, list) and _has(child, heads) for child in node[1:])


def _check_exponent(exponent: Node) -> None:
    """Bound exponents: no towers, and a numeric exponent is a small literal."""
    if _has(exponent, ("pow",)):
        raise MathParseError("powers of powers are not accepted")
    if _has(exponent, ("sym",)):
        return
    literal = exponent[1] if exponent[0] == "neg" else exponent
    if literal[0] == "div" and literal[1][0] == "num" and literal[2][0] == "num":
        literal = literal[1]
    if literal[0] != "num":
        raise MathParseError("an exponent must be a number or contain a variable")
    if float(literal[1]) > MAX_EXPONENT:
        raise MathParseError(f"an exponent above {MAX_EXPONENT}")


def parse_math(text: str) -> Node:
    """Parse a maths answer into a tree, without evaluating anything.

    Args:
        text: an expression (``2x+1``, ``\\frac{1}{2}``, ``√2``), an equation or inequality
            (``x=3``, ``1<x≤3``), a set or interval (``{1,2}``, ``(1,3]∪[5,+∞)``,
            ``x∈(0,1)``), or a list of solutions (``x1=2, x2=3``, ``x=2或x=-2``).

    Returns:
        The tree (nested lists, JSON-serialisable).

    Raises:
        MathParseError: empty, too long, too deep, a disallowed character or command, an
            exponent too large, or not well formed.
    """
    if len(text) > MAX_INPUT_CHARS:
        raise MathParseError(f"longer than {MAX_INPUT_CHARS} characters")
    tokens = tokenize(text)
    if not tokens:
        raise MathParseError("empty")
    try:
        return _Parser(tokens).top()
    except RecursionError as exc:  # defence in depth; MAX_DEPTH stops long before this
        raise MathParseError("nested too deeply") from exc
