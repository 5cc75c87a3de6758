"""Table-driven tests of fill-in-the-blank text grading and its normalisation."""

from __future__ import annotations

import pytest

from grading.grade import Verdict
from grading.questions import TextBlank
from grading.response import Response
from grading.text import TextGrader
from grading.textnorm import normalize_pinyin, normalize_text

from .conftest import text

C, P, W = Verdict.CORRECT, Verdict.PARTIALLY_CORRECT, Verdict.INCORRECT


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("  ＡＢＣ  ", "abc"),
        ("Hello, World!", "helloworld"),
        ("體積", "体积"),
        ("長江。", "长江"),
        ("北 京", "北京"),
        ("「光合作用」", "光合作用"),
        ("ＤＮＡ", "dna"),
    ],
)
def test_normalize_text(raw: str, norm: str) -> None:
    assert normalize_text(raw) == norm


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("lǜ", ("lv", (4,))),
        ("lv4", ("lv", (4,))),
        ("lü4", ("lv", (4,))),
        ("lu:4", ("lv", (4,))),
        ("LǛ", ("lv", (4,))),
        ("zhōng guó", ("zhongguo", (1, 2))),
        ("zhong1 guo2", ("zhongguo", (1, 2))),
        ("jǔ", ("ju", (3,))),
        ("jv3", ("ju", (3,))),
        ("ma5", ("ma", ())),
        ("ma", ("ma", ())),
    ],
)
def test_normalize_pinyin(raw: str, canonical: tuple[str, tuple[int, ...]]) -> None:
    assert normalize_pinyin(raw) == canonical


SINGLE = [
    # accepted, answer, verdict, options
    (["光合作用"], "光合作用", C, {}),
    (["光合作用"], "光合作用。", C, {}),
    (["光合作用"], " 光 合 作 用 ", C, {}),
    (["光合作用"], "光和作用", W, {}),
    (["光合作用"], "光和作用", C, {"allow_one_typo": True}),
    (["光合作用"], "光作用", C, {"allow_one_typo": True}),
    (["光合作用"], "光和做用", W, {"allow_one_typo": True}),
    (["长江"], "长红", W, {"allow_one_typo": True}),
    (["长江"], "長江", C, {}),
    (["体积"], "體積", C, {}),
    (["Beijing", "北京"], "北京", C, {}),
    (["Beijing", "北京"], "BEIJING", C, {}),
    (["Beijing", "北京"], "ｂｅｉｊｉｎｇ", C, {}),
    (["apple"], "Apple.", C, {}),
    (["apple"], "apples", W, {}),
    (["apple"], "appel", W, {"allow_one_typo": True}),
    (["photosynthesis"], "photosynthesls", C, {"allow_one_typo": True}),
    (["高兴", "开心", "快乐"], "开心", C, {}),
    (["高兴", "开心", "快乐"], "伤心", W, {}),
]


@pytest.mark.parametrize(("accept", "answer", "verdict", "options"), SINGLE)
def test_single_blank_table(
    accept: list[str], answer: str, verdict: Verdict, options: dict[str, bool]
) -> None:
    grade = TextGrader(text(accept, **options)).grade(Response.typed(answer), key_revision=1)
    assert grade.verdict is verdict, grade.reason_en


PINYIN = [
    ("lǜ", "lǜ", C),
    ("lǜ", "lv4", C),
    ("lǜ", "lü4", C),
    ("lǜ", "lu4", W),
    ("lǜ", "lv3", W),
    ("lǜ", "lv", W),
    ("zhōng guó", "zhong1guo2", C),
    ("zhōng guó", "Zhōngguó", C),
    ("zhōng guó", "zhong1 guo1", W),
    ("shān", "shan1", C),
    ("shān", "shang1", W),
]


@pytest.mark.parametrize(("key", "answer", "verdict"), PINYIN)
def test_pinyin_blank(key: str, answer: str, verdict: Verdict) -> None:
    q = text(TextBlank(accept=[key], pinyin=True))
    assert TextGrader(q).grade(Response.typed(answer), key_revision=1).verdict is verdict


def test_pinyin_ignore_tones() -> None:
    q = text(TextBlank(accept=["lǜ"], pinyin=True, ignore_tones=True))
    assert TextGrader(q).grade(Response.typed("lv"), key_revision=1).verdict is C


def test_pinyin_answers_group_together() -> None:
    grader = TextGrader(text(TextBlank(accept=["lǜ"], pinyin=True)))
    forms = {
        grader.grade(Response.typed(a), key_revision=1).normalized_answer
        for a in ("lǜ", "lv4", "lü4")
    }
    assert forms == {"lv4"}


MULTI = [
    # blanks, answers, ordered, verdict, score (of 2 for 2 blanks, 3 for 3)
    ([["长江"], ["黄河"]], ("长江", "黄河"), True, C, 2.0),
    ([["长江"], ["黄河"]], ("黄河", "长江"), True, W, 0.0),
    ([["长江"], ["黄河"]], ("黄河", "长江"), False, C, 2.0),
    ([["长江"], ["黄河"]], ("长江", "珠江"), True, P, 1.0),
    ([["长江"], ["黄河"]], ("长江", ""), True, P, 1.0),
    ([["长江"], ["黄河"]], ("长江", "长江"), False, P, 1.0),
    ([["长江", "扬子江"], ["黄河"]], ("扬子江", "黃河"), True, C, 2.0),
    ([["a", "b"], ["a", "b"], ["c"]], ("b", "a", "c"), False, C, 3.0),
    ([["a", "b"], ["a"], ["c"]], ("a", "b", "c"), False, C, 3.0),
    ([["a", "b"], ["a"], ["c"]], ("b", "b", "c"), False, P, 2.0),
]


@pytest.mark.parametrize(("blanks", "answers", "ordered", "verdict", "score"), MULTI)
def test_multi_blank_table(
    blanks: list[list[str]], answers: tuple[str, ...], ordered: bool, verdict: Verdict, score: float
) -> None:
    q = text(*blanks, ordered=ordered, score=float(len(blanks)))
    grade = TextGrader(q).grade(Response.typed(blanks=answers), key_revision=1)
    assert (grade.verdict, grade.score) == (verdict, score), grade.reason_en


def test_all_blanks_empty_is_blank() -> None:
    q = text(["长江"], ["黄河"])
    grade = TextGrader(q).grade(Response.typed(blanks=("", " ")), key_revision=1)
    assert grade.verdict is Verdict.BLANK
    assert grade.score == 0.0


@pytest.mark.parametrize("typed", ["长江、黄河", "长江，黄河", "长江 黄河", "长江;黄河"])
def test_one_line_for_several_blanks_is_split(typed: str) -> None:
    grade = TextGrader(text(["长江"], ["黄河"])).grade(Response.typed(typed), key_revision=1)
    assert grade.verdict is C


def test_stray_spaces_inside_words_do_not_split_blanks() -> None:
    grader = TextGrader(text(["长江"], ["黄河"]))
    assert grader.grade(Response.typed("长 江，黄 河"), key_revision=1).verdict is C


def test_unordered_answers_group_in_one_form() -> None:
    grader = TextGrader(text(["长江"], ["黄河"], ordered=False))
    forms = {
        grader.grade(Response.typed(blanks=b), key_revision=1).normalized_answer
        for b in (("长江", "黄河"), ("黄河", "长江"))
    }
    assert len(forms) == 1
