"""The maths-equivalence worker: a separate process that rebuilds parsed answers as sympy
objects and compares them.

It is started by :mod:`grading.math_expr` as ``python -I math_worker.py`` and speaks JSON
lines on stdin/stdout: it prints ``{"ready": true}`` once, then answers each request
``{"key": tree, "answer": tree}`` with ``{"result": "equal"|"different"|"not_solved"|
"error", "detail": str}``. It caps its own address space so a runaway simplification dies
here instead of in the service, and the parent kills it on a time-out. It imports nothing
from the project so it runs with the interpreter's isolated mode.

The trees come from :func:`grading.math_parse.parse_math`; nothing here parses text, so no
string ever reaches ``sympify``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import sympy as sp

__all__ = ["build", "compare", "main"]

MEMORY_LIMIT_BYTES = 2 * 1024**3

Node = list[Any]

_FUNCS = {
    "sqrt": sp.sqrt,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "ln": sp.log,
    "log": sp.log,
    "abs": sp.Abs,
}
_REL = {"=": sp.Eq, "<": sp.Lt, ">": sp.Gt, "<=": sp.Le, ">=": sp.Ge, "!=": sp.Ne}


def _symbol(name: str) -> sp.Symbol:
    # Variables are real: school algebra works over the reals, and it lets sympy simplify
    # sqrt(x^2) and solve inequalities.
    return sp.Symbol(name, real=True)


def build(node: Node) -> Any:
    """Rebuild a parse tree as a sympy object (expression, relation, set or list)."""
    head = node[0]
    if head == "num":
        return sp.Rational(node[1])
    if head == "sym":
        return _symbol(node[1])
    if head == "const":
        return sp.pi if node[1] == "pi" else sp.oo
    if head in ("add", "sub", "mul", "div", "pow"):
        a, b = build(node[1]), build(node[2])
        if head == "add":
            return a + b
        if head == "sub":
            return a - b
        if head == "mul":
            return a * b
        if head == "div":
            return a / b
        return a**b
    if head == "neg":
        return -build(node[1])
    if head == "func":
        return _FUNCS[node[1]](build(node[2]))
    if head == "rel":
        return _REL[node[1]](build(node[2]), build(node[3]))
    if head == "chain":
        return sp.And(*(build(r) for r in node[1]))
    if head == "interval":
        return sp.Interval(build(node[2]), build(node[3]), bool(node[1]), bool(node[4]))
    if head == "set":
        return sp.FiniteSet(*(build(e) for e in node[1]))
    if head == "union":
        return sp.Union(build(node[1]), build(node[2]))
    if head == "list":
        return [build(item) for item in node[1]]
    raise ValueError(f"unknown node {head!r}")


def _as_set(obj: Any) -> Any:
    """A set of solutions for a list of ``x = c`` answers or a one-variable relation, else
    None (the object is not a solution set)."""
    if isinstance(obj, sp.Set):
        return obj
    if isinstance(obj, list):
        values = []
        for item in obj:
            if not (
                isinstance(item, sp.Eq)
                and isinstance(item.lhs, sp.Symbol)
                and not item.rhs.free_symbols
            ):
                return None
            values.append(item.rhs)
        return sp.FiniteSet(*values)
    if isinstance(obj, sp.Rel | sp.And):
        free = obj.free_symbols
        if len(free) != 1:
            return None
        var = next(iter(free))
        parts = obj.args if isinstance(obj, sp.And) else (obj,)
        return sp.Intersection(*(sp.solveset(p, var, domain=sp.S.Reals) for p in parts))
    return None


def _solved(rel: Any) -> bool:
    return isinstance(rel, sp.Eq) and (
        (isinstance(rel.lhs, sp.Symbol) and not rel.rhs.free_symbols)
        or (isinstance(rel.rhs, sp.Symbol) and not rel.lhs.free_symbols)
    )


def _normal(rel: Any) -> tuple[str, Any]:
    """A relation as (op, expression) with the expression compared to 0 and op in
    ``=``, ``!=``, ``>``, ``>=``."""
    diff = rel.lhs - rel.rhs
    if isinstance(rel, sp.Eq):
        return "=", diff
    if isinstance(rel, sp.Ne):
        return "!=", diff
    if isinstance(rel, sp.Gt | sp.Ge):
        return (">" if isinstance(rel, sp.Gt) else ">="), diff
    return (">" if isinstance(rel, sp.Lt) else ">="), -diff


def _relations_equal(key: Any, answer: Any) -> bool:
    op_k, e_k = _normal(key)
    op_a, e_a = _normal(answer)
    if op_k != op_a or e_a == 0:
        return False
    ratio = sp.simplify(e_k / e_a)
    if ratio.free_symbols or ratio == 0 or not ratio.is_finite:
        return False
    # An equation survives multiplying by any non-zero constant; an inequality only by a
    # positive one (a negative one flips it, which _normal has already undone).
    return op_k in ("=", "!=") or bool(ratio.is_positive)


def compare(key_tree: Node, answer_tree: Node) -> tuple[str, str]:
    """Compare a student's answer with the key.

    Returns:
        (result, detail) with result ``equal``, ``different`` or ``not_solved`` (the key is
        a solved equation ``x = c`` and the answer an equivalent but unsolved one).
    """
    key, answer = build(key_tree), build(answer_tree)
    if isinstance(key, sp.Expr) and isinstance(answer, sp.Expr):
        same = sp.simplify(key - answer) == 0
        return ("equal" if same else "different"), "expression"
    if isinstance(key, sp.Rel) and isinstance(answer, sp.Rel) and _relations_equal(key, answer):
        if _solved(key) and not _solved(answer):
            return "not_solved", "relation"
        return "equal", "relation"
    key_set, answer_set = _as_set(key), _as_set(answer)
    if key_set is not None and answer_set is not None:
        same = bool(sp.simplify(key_set.symmetric_difference(answer_set)) == sp.S.EmptySet)
        return ("equal" if same else "different"), "solution set"
    return "different", "different kinds of answer"


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):  # not on this platform: the time-out remains
        pass


def main() -> None:
    """Serve comparison requests on stdin/stdout until stdin closes."""
    _limit_memory()
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            result, detail = compare(request["key"], request["answer"])
        except Exception as exc:  # any failure is reported, the worker keeps serving
            result, detail = "error", f"{type(exc).__name__}: {exc}"[:300]
        sys.stdout.write(json.dumps({"result": result, "detail": detail}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
