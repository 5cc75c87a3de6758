"""Grader for maths expressions, equations, inequalities and sets (``math_expr``).

Untrusted text is parsed in-process only by the allow-list parser of
:mod:`grading.math_parse`; the sympy work runs in a separate worker process
(:mod:`grading.math_worker`) with a memory cap and a wall-clock time-out. A time-out,
a crash or an unparseable answer becomes ``needs_review``, never a score.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grading.base import AnswerKeyError, Grader, Judgement
from grading.grade import Verdict
from grading.math_parse import MathParseError, parse_math
from grading.questions import MathExprQuestion
from grading.response import Response
from grading.textnorm import to_halfwidth

__all__ = ["CheckResult", "MathChecker", "MathExprGrader", "default_checker"]

DEFAULT_TIMEOUT_S = 3.0
START_TIMEOUT_S = 60.0
_CACHE_SIZE = 4096
_WORKER = Path(__file__).with_name("math_worker.py")


def _compact(text: str) -> str:
    """Half-width, no spaces; case kept (``X`` and ``x`` are different variables)."""
    return "".join(to_halfwidth(text).split())


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one comparison: ``equal``, ``different``, ``not_solved``, ``error``
    or ``timeout``, with a short technical detail."""

    result: str
    detail: str = ""


class MathChecker:
    """Runs comparisons in one long-lived worker process, restarted after a time-out or a
    crash. Thread-safe (one request at a time); definitive results are cached, so grading
    the same pair twice gives the same answer without asking the worker again.

    Args:
        timeout_s: wall-clock limit for one comparison.
    """

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = os.getpid()
        self._lock = threading.Lock()
        self._cache: dict[str, CheckResult] = {}

    def close(self) -> None:
        """Stop the worker (a later check starts a new one)."""
        with self._lock:
            self._kill()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or self._owner_pid != os.getpid():
            return  # a forked copy must not kill its parent's worker
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def _start(self) -> subprocess.Popen[bytes]:
        # -I: isolated mode, so the worker ignores PYTHON* variables and the current folder.
        proc = subprocess.Popen(
            [sys.executable, "-I", str(_WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._proc = proc
        if self._read_line(proc, time.monotonic() + START_TIMEOUT_S) is None:
            self._kill()
            raise RuntimeError("the maths worker did not start")
        return proc

    @staticmethod
    def _read_line(proc: subprocess.Popen[bytes], deadline: float) -> dict[str, Any] | None:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return None
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None
                buffer += chunk
        parsed: dict[str, Any] = json.loads(buffer.split(b"\n", 1)[0])
        return parsed

    def check(self, key_tree: list[Any], answer_tree: list[Any]) -> CheckResult:
        """Compare two parse trees in the worker.

        Args:
            key_tree: the parsed key.
            answer_tree: the parsed answer.

        Returns:
            The result; ``timeout`` when the worker ran past ``timeout_s`` (it is then
            killed) and ``error`` when it failed or crashed.
        """
        request = json.dumps({"key": key_tree, "answer": answer_tree}, separators=(",", ":"))
        with self._lock:
            if request in self._cache:
                return self._cache[request]
            if self._owner_pid != os.getpid():
                # Forked (a worker pool): the pipes belong to the parent's worker; start our own.
                self._proc, self._owner_pid = None, os.getpid()
            try:
                proc = self._proc if self._proc and self._proc.poll() is None else self._start()
                assert proc.stdin is not None
                proc.stdin.write(request.encode() + b"\n")
                proc.stdin.flush()
            except (OSError, RuntimeError) as exc:
                self._kill()
                return CheckResult("error", f"worker unavailable: {exc}")
            reply = self._read_line(proc, time.monotonic() + self.timeout_s)
            if reply is None:
                crashed = proc.poll() is not None
                self._kill()
                return CheckResult(
                    "error" if crashed else "timeout",
                    "worker crashed" if crashed else f"over {self.timeout_s:g} s",
                )
            result = CheckResult(str(reply.get("result")), str(reply.get("detail", "")))
            if result.result in ("equal", "different", "not_solved"):
                if len(self._cache) >= _CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[request] = result
            return result


_default: MathChecker | None = None
_default_lock = threading.Lock()


def default_checker() -> MathChecker:
    """The process-wide checker, created on first use and stopped at exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = MathChecker()
            atexit.register(_default.close)
        return _default


class MathExprGrader(Grader[MathExprQuestion]):
    """Symbolic equivalence: ``(x+1)(x-1)`` = ``x^2-1``; ``2=x`` = ``x=2``; ``2x>6`` =
    ``x>3``; ``1<x≤3`` = ``(1,3]``; ``x=2或x=-2`` = ``{2,-2}``. A key in solved form
    (``x = c``) needs a solved answer: ``2x=4`` is equivalent but not solved.

    Args:
        question: the question.
        checker: the comparison worker; the process-wide default when omitted.
    """

    kind = "math_expr"

    def __init__(self, question: MathExprQuestion, checker: MathChecker | None = None) -> None:
        super().__init__(question)
        self._checker = checker

    def _judge(self, response: Response) -> Judgement:
        try:
            key_tree = parse_math(self.question.key.answer)
        except MathParseError as exc:
            raise AnswerKeyError(f"math_expr key does not parse: {exc}") from exc
        shown = _compact(response.text)
        try:
            answer_tree = parse_math(response.text)
        except MathParseError as exc:
            return Judgement(
                Verdict.NEEDS_REVIEW,
                0.0,
                shown,
                f"无法解析为数学式（{exc}）",
                f"not a maths answer the parser accepts ({exc})",
                review=True,
            )
        checked = (self._checker or default_checker()).check(key_tree, answer_tree)
        key = self.question.key.answer
        if checked.result == "equal":
            same = _compact(key) == shown
            zh = f"{shown}，正确" if same else f"{shown} 与 {key} 等价"
            en = f"{shown}, correct" if same else f"{shown} is equivalent to {key}"
            return Judgement(Verdict.CORRECT, self.max_score, shown, zh, en)
        if checked.result == "not_solved":
            return Judgement(
                Verdict.INCORRECT,
                0.0,
                shown,
                f"{shown} 与 {key} 等价，但没有化简到最后结果",
                f"{shown} is equivalent to {key} but not solved",
            )
        if checked.result == "different":
            return Judgement(
                Verdict.INCORRECT,
                0.0,
                shown,
                f"{shown} 与 {key} 不等价",
                f"{shown} is not equivalent to {key}",
            )
        return Judgement(
            Verdict.NEEDS_REVIEW,
            0.0,
            shown,
            f"自动判定未完成（{checked.result}），请人工批改",
            f"the equivalence check did not finish ({checked.result}: {checked.detail})",
            review=True,
        )
