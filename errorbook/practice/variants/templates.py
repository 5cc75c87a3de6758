"""The registry of variant templates and the choice of templates for a wrong answer.

``TEMPLATES`` maps template ids to :class:`VariantTemplate`. ``templates_for`` answers the
error book's question "what should this student practise after getting *this* item wrong
for *this* reason?": templates on the item's knowledge points (or their parents/children),
those practising the diagnosed cause first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from errorbook.practice.variants import drill_other as other
from errorbook.practice.variants import drill_whole as whole
from errorbook.practice.variants.model import VariantTemplate
from grading.causes import CauseCode

__all__ = ["TEMPLATES", "kp_relation", "templates_for"]

_C = CauseCode

_ALL: tuple[VariantTemplate, ...] = (
    VariantTemplate("add_carry_once", ("math.add.carry",), (_C.FORGOT_CARRY,), 2, 1,
                    "两位数加两位数（进位一次）", "two-digit addition, one carry",
                    whole.draft_add_carry_once),
    VariantTemplate("add_carry_twice", ("math.add.carry",), (_C.FORGOT_CARRY,), 3, 2,
                    "三位数加法（连续进位）", "three-digit addition, two carries",
                    whole.draft_add_carry_twice),
    VariantTemplate("sub_borrow", ("math.sub.borrow",), (_C.FORGOT_BORROW,), 2, 1,
                    "两位数退位减法", "two-digit subtraction with borrowing",
                    whole.draft_sub_borrow),
    VariantTemplate("sub_borrow_zero", ("math.sub.borrow_zero",), (_C.FORGOT_BORROW,), 3, 3,
                    "中间有 0 的连续退位减法", "borrowing across a zero",
                    whole.draft_sub_borrow_zero),
    VariantTemplate("mul_table", ("math.mul.table",), (_C.TIMES_TABLE_SLIP,), 2, 1,
                    "表内乘法", "times tables", whole.draft_mul_table),
    # Forgetting the carry in a product is named by the grader as off by ten/hundred;
    # the template practises carrying, so a forgot_carry student is offered it too.
    VariantTemplate("mul_one_digit", ("math.mul.multidigit",),
                    (_C.OFF_BY_TEN, _C.OFF_BY_HUNDRED, _C.FORGOT_CARRY), 3, 2,
                    "多位数乘一位数（进位）", "multi-digit times one digit, with a carry",
                    whole.draft_mul_one_digit),
    VariantTemplate("div_exact", ("math.div.exact", "math.mul.table"),
                    (_C.TIMES_TABLE_SLIP,), 2, 1,
                    "表内除法", "division within the times tables", whole.draft_div_exact),
    VariantTemplate("div_remainder", ("math.div.remainder",), (_C.REMAINDER_ERROR,), 2, 2,
                    "有余数的除法", "division with remainder", whole.draft_div_remainder),
    VariantTemplate("frac_same_denominator", ("math.frac.same_denominator",),
                    (_C.FRACTION_NOT_SIMPLIFIED,), 5, 2,
                    "同分母分数加减法（结果约分）", "like fractions, answer reduced",
                    other.draft_frac_same_denominator),
    VariantTemplate("frac_unlike_add", ("math.frac.unlike_denominator",),
                    (_C.FRACTION_NOT_SIMPLIFIED,), 5, 3,
                    "异分母分数加法（最简分数）", "unlike fractions added, simplest form",
                    other.draft_frac_unlike_add),
    VariantTemplate("decimal_add_sub", ("math.decimal.add_sub",), (_C.PLACE_VALUE,), 4, 2,
                    "小数加减法", "decimal addition and subtraction",
                    other.draft_decimal_add_sub),
    VariantTemplate("word_add", ("math.word.add_sub", "math.add.carry"),
                    (_C.FORGOT_CARRY, _C.OFF_BY_TEN), 2, 2,
                    "加法解决问题（进位）", "addition word problem with a carry",
                    other.draft_word_add),
    VariantTemplate("order_of_operations", ("math.mixed.order",), (), 3, 3,
                    "两步混合运算（运算顺序）", "order of operations, two steps",
                    other.draft_order_of_operations),
)

#: Every template by id (read-only).
TEMPLATES: Mapping[str, VariantTemplate] = MappingProxyType({t.id: t for t in _ALL})


def kp_relation(query: str, code: str) -> int | None:
    """How a template's KP ``code`` relates to a queried KP.

    Args:
        query: the KP code asked about (e.g. the wrong item's ``math.add.carry``).
        code: a template's KP code.

    Returns:
        0 for the same code, 1 when ``code`` lies under ``query`` (a child or deeper),
        2 when ``code`` is an ancestor of ``query`` (a parent or higher), None otherwise.
        Siblings (``math.add.carry`` / ``math.add.nocarry``) do not match.
    """
    if code == query:
        return 0
    if code.startswith(query + "."):
        return 1
    if query.startswith(code + "."):
        return 2
    return None


def templates_for(
    kp_codes: Iterable[str], cause: CauseCode | None = None
) -> list[VariantTemplate]:
    """The templates that practise any of ``kp_codes``, best first.

    Args:
        kp_codes: knowledge-point codes (a wrong item's KPs, a weak KP from mastery).
        cause: the diagnosed error cause, if any; templates practising it come first.

    Returns:
        Matching templates ordered by: practises ``cause`` (when given), then the closest
        KP relation (same code, then child, then parent), then difficulty, then id.
        Empty when nothing matches.
    """
    queries = tuple(dict.fromkeys(kp_codes))
    ranked: list[tuple[int, int, int, str, VariantTemplate]] = []
    for template in _ALL:
        relations = [
            r for q in queries for code in template.knowledge_points
            if (r := kp_relation(q, code)) is not None
        ]
        if not relations:
            continue
        misses_cause = 0 if cause is None or cause in template.causes else 1
        ranked.append((misses_cause, min(relations), template.difficulty, template.id, template))
    ranked.sort(key=lambda row: row[:4])
    return [row[4] for row in ranked]
