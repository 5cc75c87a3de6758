"""Division answers on drill pages (``ocr.drill.divisions``): read over digits, the
quotient and the remainder of ``q……r`` apart, so the handwriting line reader adds its
evidence (it never reads a row of dots)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from ocr.drill.answers import REMAINDER, answer_crop, read_results
from ocr.drill.divisions import division_kind, read_divisions, split_at_dots
from ocr.drill.items import ItemLayout
from ocr.reading.ctc import ALPHABETS, Alphabet
from ocr.reading.hand_reader import HandLineReader
from ocr.reading.recognize import Reading, TextRecognizer
from service.drill.pages import drill_key_forms

CH = 24.0  # printed character height of the synthetic items


def _written(text: str, dots: int = 6) -> np.ndarray:
    """A white strip with ``text`` written large; ``……`` drawn as ``dots`` small dots."""
    strip = np.full((70, 60 + 40 * len(text) + 14 * dots), 255, np.uint8)
    x = 10
    for part_i, part in enumerate(text.split("……")):
        if part_i:
            for _ in range(dots):
                cv2.circle(strip, (x + 5, 52), 2, 0, -1)
                x += 14
            x += 6
        cv2.putText(strip, part, (x, 56), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 0, 3)
        x += 32 * len(part) + 10
    return strip


def _ink_width(crop: np.ndarray) -> int:
    cols = np.nonzero((crop < 128).any(axis=0))[0]
    return int(cols[-1] - cols[0] + 1) if cols.size else 0


def test_division_kind() -> None:
    assert division_kind("56÷8") == "even"
    assert division_kind("17÷5") == "remainder"
    assert division_kind("7÷0") == ""
    assert division_kind("2.4÷2") == ""
    assert division_kind("36÷4÷3") == ""
    assert division_kind("37+48") == ""


def test_the_line_reader_reads_digits_but_not_a_row_of_dots() -> None:
    """Why divisions are read over digits: only then do all three readers take part."""
    assert HandLineReader.covers(ALPHABETS["digits"])
    assert not HandLineReader.covers(REMAINDER)


def test_split_at_dots_gives_quotient_and_remainder() -> None:
    strip = _written("17……2")
    crop = answer_crop(strip, (0, 0, strip.shape[1], strip.shape[0]), CH)
    assert crop is not None
    parts = split_at_dots(crop, CH)
    assert parts is not None
    quotient, remainder = parts
    two = answer_crop(_written("2"), (0, 0, 100, 70), CH)
    seventeen = answer_crop(_written("17"), (0, 0, 140, 70), CH)
    assert two is not None
    assert seventeen is not None
    # Each part holds its digits only: no dot is left in either.
    assert abs(_ink_width(quotient) - _ink_width(seventeen)) <= 3
    assert abs(_ink_width(remainder) - _ink_width(two)) <= 3


def test_no_split_without_a_row_of_dots() -> None:
    for strip in (_written("172"), _written("17……2", dots=1), _written("3")):
        crop = answer_crop(strip, (0, 0, strip.shape[1], strip.shape[0]), CH)
        assert crop is not None
        assert split_at_dots(crop, CH) is None


@dataclass
class ByWidth:
    """Reads a crop by its ink width (a narrow crop is ``2``, a wider one ``17``, the
    widest ``17......2``) and records every call's alphabet and keys."""

    verifies_keys: bool = True
    calls: list[tuple[str | None, list[tuple[str, ...]] | None]] = field(default_factory=list)

    def recognize(self, crops: Sequence[np.ndarray], *, alphabet: Alphabet | None = None,
                  length: tuple[int, int] | None = None,
                  expected: Sequence[Sequence[str]] | None = None) -> list[Reading]:
        self.calls.append((alphabet.name if alphabet else None,
                           None if expected is None else [tuple(e) for e in expected]))
        out = []
        for c in crops:
            w = _ink_width(c)
            text = "2" if w < 40 else "17" if w < 90 else "17......2"
            out.append(Reading("ok", text, 0.99, alternatives=((text, 0.99), ("9", 0.01))))
        return out


def _layouts(expressions: Sequence[str], strips: Sequence[np.ndarray]
             ) -> tuple[np.ndarray, list[ItemLayout]]:
    width = max(s.shape[1] for s in strips) + 120
    page = np.full((80 * len(strips) + 20, width), 255, np.uint8)
    layouts = []
    for i, (expr, strip) in enumerate(zip(expressions, strips, strict=True)):
        y = 10 + 80 * i
        page[y:y + strip.shape[0], 110:110 + strip.shape[1]] = strip
        layouts.append(ItemLayout(expr, expr, 0.99, (10, y, 100, y + 70),
                                  (105, y, 115 + strip.shape[1], y + 70), CH))
    return page, layouts


def test_divisions_read_over_digits_with_their_keys_apart() -> None:
    page, layouts = _layouts(["87÷5", "34÷2", "37+48", "13÷9"],
                             [_written("17……2"), _written("17"), _written("17"),
                              _written("2", dots=0)])
    fake = ByWidth()
    rest_seen: list[str] = []

    def rest(image: np.ndarray, la: Sequence[ItemLayout], recognizer: TextRecognizer,
             decoding: str, expected_for: object) -> list[Reading]:
        rest_seen.extend(x.expression for x in la)
        return read_results(image, la, recognizer, "masked", drill_key_forms)

    out = read_divisions(page, layouts, fake, "masked", drill_key_forms, rest=rest)
    assert rest_seen == ["37+48"]
    # 87÷5 = 17……2 split and joined; 34÷2 = 17 over digits with its key.
    assert out[0].status == "ok"
    assert out[0].text == "17……2"
    assert out[0].alternatives[0] == ("17……2", 0.99 * 0.99)
    assert out[1].text == "17"
    # One batch over digits: 34÷2's key, then 87÷5's quotient and remainder keys.
    assert ("digits", [("17",), ("17",), ("2",)]) in fake.calls
    # 13÷9 written without dots ("2") is read whole over the remainder alphabet.
    assert ("drill_remainder", [("1......4",)]) in fake.calls
    assert out[3].text == "2"


def test_plain_decoding_and_blank_divisions() -> None:
    page, layouts = _layouts(["87÷5", "34÷2"], [_written("17……2"), _written("17")])
    page[:, 105:] = 255  # nothing written
    fake = ByWidth()
    out = read_divisions(page, layouts, fake, "masked", drill_key_forms)
    assert [r.status for r in out] == ["blank", "blank"]
    assert fake.calls == []
    page, layouts = _layouts(["87÷5"], [_written("17……2")])
    read_divisions(page, layouts, fake, "plain", None)
    assert [c[0] for c in fake.calls] == [None]  # read_results, unconstrained
