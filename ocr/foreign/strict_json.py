"""Strict, bounded reading of a foreign template's JSON, with errors that say where.

A template file comes from a teacher's upload: it may be huge, deeply nested, carry NaN or a
5,000-digit number, repeat a key (json keeps the last one silently), or hold a string where
a number belongs. These helpers turn every such case into :class:`OmrTemplateError` naming
the key path at fault, so importers never crash and never guess.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_LABEL_CHARS", "MAX_TEMPLATE_BYTES", "OmrTemplateError", "load_json_object",
           "number", "pair", "show", "text"]

MAX_TEMPLATE_BYTES = 1_000_000
MAX_LABEL_CHARS = 64


class OmrTemplateError(ValueError):
    """The template cannot be imported. ``where`` locates the problem (a key path such as
    ``fieldBlocks['MCQ1'].labelsGap``), ``problem`` says what is wrong; ``str()`` joins them."""

    code = "bad_omr_template"

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


def load_json_object(data: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    """Parse bytes (UTF-8, BOM allowed) or text into a JSON object; a mapping passes as is.

    Raises:
        OmrTemplateError: over MAX_TEMPLATE_BYTES, not UTF-8, not JSON, or not an object.
    """
    if isinstance(data, Mapping):
        return data
    if isinstance(data, str):
        size = len(data) if len(data) > MAX_TEMPLATE_BYTES else len(
            data.encode("utf-8", "surrogatepass"))
        text = data.removeprefix("\ufeff")
    elif isinstance(data, bytes | bytearray):
        size = len(data)
        text = ""
    else:
        raise OmrTemplateError("template", f"expected JSON bytes or text, got {type(data).__name__}")
    if size > MAX_TEMPLATE_BYTES:
        raise OmrTemplateError("template", f"{size:,} bytes is over the "
                                           f"{MAX_TEMPLATE_BYTES:,}-byte limit")
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise OmrTemplateError("template", f"not UTF-8 text (byte {exc.start})") from None
    try:
        loaded = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except OmrTemplateError:
        raise
    except json.JSONDecodeError as exc:
        raise OmrTemplateError("template", f"not valid JSON: {exc.msg} at line {exc.lineno} "
                                           f"column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # nesting bombs, 5,000-digit numbers
        raise OmrTemplateError("template", f"not valid JSON: {type(exc).__name__}") from None
    if not isinstance(loaded, dict):
        raise OmrTemplateError("template", "the top level must be a JSON object")
    return loaded


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:  # json keeps the last silently: a copied block would vanish
            raise OmrTemplateError("template", f"key '{k}' appears twice in one object")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise OmrTemplateError("template", f"{name} is not a number JSON allows")


def number(v: Any, where: str, lo: float, hi: float, *, positive: bool = False) -> float:
    """A finite number (not a bool) in [lo, hi], above lo when ``positive``."""
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise OmrTemplateError(where, f"expected a number, got {show(v)}")
    if v < lo or v > hi or (positive and v <= 0):
        bound = f"above {lo:g}" if positive else f"at least {lo:g}"
        raise OmrTemplateError(where, f"{v:g} is out of range (must be {bound} and at most "
                                      f"{hi:g})")
    return float(v)


def pair(v: Any, where: str, lo: float, hi: float, *,
          positive: bool = False) -> tuple[float, float]:
    """Two numbers ``[width, height]``, each checked as :func:`number`."""
    if not isinstance(v, list | tuple) or len(v) != 2:
        raise OmrTemplateError(where, f"expected [width, height] (two numbers), got {show(v)}")
    return (number(v[0], f"{where}[0]", lo, hi, positive=positive),
            number(v[1], f"{where}[1]", lo, hi, positive=positive))


def text(v: Any, where: str, *, allow_empty: bool = False) -> str:
    """A string of at most MAX_LABEL_CHARS characters, non-empty unless ``allow_empty``."""
    if not isinstance(v, str) or (not v and not allow_empty) or len(v) > MAX_LABEL_CHARS:
        raise OmrTemplateError(where, f"expected a {'' if allow_empty else 'non-empty '}string "
                                      f"of at most {MAX_LABEL_CHARS} characters, got {show(v)}")
    return v


def show(v: Any) -> str:
    """A short JSON rendering of a bad value for an error message."""
    s = json.dumps(v, ensure_ascii=False, default=repr) if not isinstance(v, float) else repr(v)
    return s if len(s) <= 60 else s[:57] + "..."
