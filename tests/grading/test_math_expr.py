"""Tests of maths answers: equivalence, the safe parser, and the bounded worker."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from grading.grade import Verdict
from grading.math_expr import CheckResult, MathChecker, MathExprGrader
from grading.math_parse import MAX_DEPTH, MathParseError, parse_math
from grading.response import Response

from .conftest import math_expr

C, W, R = Verdict.CORRECT, Verdict.INCORRECT, Verdict.NEEDS_REVIEW

CASES = [
    ("x^2-1", "(x+1)(x-1)", C),
    ("x^2-1", "x²-1", C),
    ("x^2-1", "x**2 - 1", C),
    ("x^2-1", "-1+x^2", C),
    ("x^2-1", "x^2+1", W),
    ("x^2-1", "(x-1)^2", W),
    ("2x+1", "1+2x", C),
    ("2x+1", "2*x+1", C),
    ("2x+1", "2·x＋1", C),
    ("\\frac{1}{2}x", "x/2", C),
    ("\\frac{1}{2}x", "0.5x", C),
    ("\\frac{x+1}{2}", "(x+1)/2", C),
    ("\\frac{x+1}{2}", "x+1/2", W),
    ("√8", "2√2", C),
    ("\\sqrt{8}", "2\\sqrt{2}", C),
    ("sqrt(12)", "2sqrt(3)", C),
    ("2πr", "2rπ", C),
    ("a^2+2ab+b^2", "(a+b)^2", C),
    ("a^2+2ab+b^2", "(a+b)(a-b)", W),
    ("sin(x)^2+cos(x)^2", "1", C),
    ("|x-1|", "|1-x|", C),
    ("x=2", "x=2", C),
    ("x=2", "2=x", C),
    ("x=2", "x = 2.0", C),
    ("x=2", "x=3", W),
    ("x=2", "2x=4", W),
    ("x=2", "3", W),
    ("x=2", "{2}", C),
    ("y=2x+1", "y-1=2x", C),
    ("y=2x+1", "2y=4x+2", C),
    ("y=2x+1", "y=2x-1", W),
    ("x>3", "3<x", C),
    ("x>3", "x>3", C),
    ("x>3", "2x>6", C),
    ("x>3", "-x<-3", C),
    ("x>3", "x≥3", W),
    ("x>3", "x<3", W),
    ("x≤5", "x<=5", C),
    ("x≤5", "x\\leq 5", C),
    ("x≥5", "[5,+∞)", C),
    ("x≥5", "[5, +\\infty)", C),
    ("x≥5", "(5,+∞)", W),
    ("1<x≤3", "(1,3]", C),
    ("1<x≤3", "x∈(1,3]", C),
    ("1<x≤3", "(1,3)", W),
    ("(1,3]∪[5,+∞)", "(1,3]∪[5,∞)", C),
    ("(1,3]∪[5,+∞)", "[5,+∞)∪(1,3]", C),
    ("(1,3]∪[5,+∞)", "x>1", W),
    ("{1,2,3}", "{3,2,1}", C),
    ("{1,2,3}", "{1,2}", W),
    ("x=2或x=-2", "x1=2, x2=-2", C),
    ("x=2或x=-2", "x=-2或x=2", C),
    ("x=2或x=-2", "{2,-2}", C),
    ("x=2或x=-2", "x=2", W),
    ("x^2=4", "x=2或x=-2", C),
    ("x^2=4", "x=2", W),
    ("x^2-1", "x^", R),
    ("x^2-1", "__import__('os').system('ls')", R),
    ("x^2-1", "9**9**9**9", R),
    ("x^2-1", "x^1000", R),
]


@pytest.mark.parametrize(("key", "answer", "verdict"), CASES)
def test_math_expr_table(key: str, answer: str, verdict: Verdict, checker: MathChecker) -> None:
    grade = MathExprGrader(math_expr(key), checker).grade(Response.typed(answer), key_revision=1)
    assert grade.verdict is verdict, grade.reason_en
    if verdict is R:
        assert grade.score is None
        assert not grade.auto


def test_solved_key_names_the_unsolved_answer(checker: MathChecker) -> None:
    grade = MathExprGrader(math_expr("x=2"), checker).grade(Response.typed("2x=4"), key_revision=1)
    assert "not solved" in grade.reason_en


HOSTILE = [
    "__import__('os')",
    "eval('1')",
    'exec("import os")',
    "x.__class__",
    "lambda: 1",
    "os.system('rm -rf /')",
    "{}.__class__.__base__",
    "x; import os",
    "`ls`",
    "$(ls)",
    "\\input{/etc/passwd}",
    "\\def\\x{1}",
    "Symbol('x')",
    "x @ y",
    "[i for i in range(10)]",
    "'a' * 10",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_parser_rejects_code(text: str) -> None:
    with pytest.raises(MathParseError):
        parse_math(text)


def test_parser_yields_only_plain_trees() -> None:
    # Letters outside the allow-list become single-letter variables, never names looked up.
    for text in ("lambda", "import os"):
        flat = str(parse_math(text))
        assert "lambda" not in flat
        assert "import" not in flat
        assert "'sym', 'm'" in flat


@pytest.mark.parametrize(
    "text",
    [
        "9^9^9^9",
        "9**9**9**9",
        "2^(3^4)",
        "x^101",
        "x^-101",
        "10^1000",
        "(x+1)^(2^10)",
        "9" * 16,
        "x" * 301,
    ],
)
def test_parser_bounds_size(text: str) -> None:
    with pytest.raises(MathParseError):
        parse_math(text)


def _calls(function: Callable[[], object]) -> int:
    """Python function calls made while ``function`` runs: its work, counted without a clock."""
    calls = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        calls += event == "call"

    sys.setprofile(profile)
    try:
        function()
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100, 140, 500])
def test_deep_nesting_is_rejected_quickly(depth: int) -> None:
    text = "(" * depth + "x" + ")" * depth

    def parse() -> None:
        with pytest.raises(MathParseError, match=r"nested deeper|too long|longer than"):
            parse_math(text)

    # Rejected by a bound (depth, token count or length) before the parser's work grows
    # with the nesting: a few hundred calls at the depth limit, fewer for longer input.
    assert _calls(parse) < 30 * (MAX_DEPTH + 1)


def test_moderate_nesting_is_fine() -> None:
    assert parse_math("(" * 25 + "x" + ")" * 25) == ["sym", "x"]
    assert parse_math("\\frac{\\frac{1}{2}}{\\sqrt{2}}")[0] == "div"


class _NeverAsked(MathChecker):
    """A checker that fails the test if an answer reaches the sympy worker."""

    def check(self, key_tree: list[Any], answer_tree: list[Any]) -> CheckResult:
        raise AssertionError(f"sent to the worker: {answer_tree!r}")


@pytest.mark.parametrize("answer", ["9**9**9**9", "(" * 500 + "1" + ")" * 500, "x^" * 200])
def test_pathological_answers_return_review_quickly(answer: str) -> None:
    # Quickly: the parser's bounds refuse them, so no comparison is ever started.
    grade = MathExprGrader(math_expr("x"), _NeverAsked()).grade(Response.typed(answer),
                                                                key_revision=1)
    assert grade.verdict is R
    assert "not a maths answer the parser accepts" in grade.reason_en


def test_slow_equivalence_times_out_into_review_and_worker_recovers() -> None:
    # Accepted by the parser, but sympy needs tens of seconds to compare the two powers.
    fast = MathChecker(timeout_s=0.5)
    try:
        grader = MathExprGrader(math_expr("(x+y+z+1)^30"), fast)
        fast.check(["num", "1"], ["num", "1"])  # the worker is up before the slow answer
        grade = grader.grade(Response.typed("(x+y+z+2)^30"), key_revision=1)
        assert grade.verdict is R
        assert grade.score is None
        # Bounded by the checker's own deadline: given up after 0.5 s, the worker killed.
        assert "(timeout: over 0.5 s)" in grade.reason_en
        # The killed worker is replaced: the next answer is graded normally.
        ok = MathExprGrader(math_expr("2x"), fast).grade(Response.typed("x+x"), key_revision=1)
        assert ok.verdict is C
    finally:
        fast.close()


def test_worker_runs_isolated_from_the_service_process(checker: MathChecker) -> None:
    checker.check(["num", "1"], ["num", "1"])
    proc = checker._proc
    assert proc is not None
    assert proc.pid != 0
    assert sys.executable in proc.args
    assert "-I" in proc.args


def test_grading_never_imports_sympy_in_process() -> None:
    import subprocess

    code = (
        "import sys\n"
        "from grading.math_parse import parse_math\n"
        "import grading.registry, grading.review_policy\n"
        "parse_math('(x+1)(x-1)')\n"
        "assert 'sympy' not in sys.modules, 'sympy imported in-process'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


_ALPHABET = "0123456789xyab+-*/^()[]{},.=<>≤≥√π∞∪∈|\\ frac sqrt _'\"`;:!@#$%&?~"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list(_ALPHABET)), max_size=120))
def test_fuzz_parser_fails_only_cleanly(text: str) -> None:
    try:
        tree = parse_math(text)
    except MathParseError:
        return
    assert isinstance(tree, list)
    assert tree


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_fuzz_parser_with_any_unicode(text: str) -> None:
    with contextlib.suppress(MathParseError):
        parse_math(text)


def test_variable_case_is_kept(checker: MathChecker) -> None:
    grader = MathExprGrader(math_expr("2X"), checker)
    assert grader.grade(Response.typed("X+X"), key_revision=1).verdict is C
    assert grader.grade(Response.typed("2x"), key_revision=1).verdict is W


def test_forked_copy_starts_its_own_worker() -> None:
    import os

    own = MathChecker(timeout_s=5.0)
    try:
        assert own.check(["num", "1"], ["num", "1"]).result == "equal"
        parent_proc = own._proc
        own._owner_pid = os.getpid() + 1  # what a forked child sees: someone else's worker
        assert own.check(["num", "2"], ["num", "2"]).result == "equal"
        assert own._proc is not parent_proc
        assert parent_proc is not None
        assert parent_proc.poll() is None
        parent_proc.kill()
        parent_proc.wait()
    finally:
        own.close()


def test_a_key_the_parser_refuses_is_refused_when_the_question_is_made() -> None:
    # Found by a probe: such a key imported fine, then every review decision on it was a 500.
    with pytest.raises(ValidationError, match="powers of powers"):
        math_expr("9**9**9**9")
