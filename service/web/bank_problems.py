"""A bank file's problems in the teacher's language: ``questions[2] (id 'm3-add-003')``,
``key.value``, ``String should have at least 1 character`` becomes
"第 3 题（id m3-add-003）：答案 key.value 为空".

The import (:func:`service.questions.import_bank`) reports each problem as ``where``,
``field`` and an English ``message`` (the bank parser's and pydantic's wording). The
common messages are matched here and said again through the message catalogue; anything
else is shown as it came, after the question and field, so nothing is hidden.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from service.web.i18n import Translator

__all__ = ["Problem", "describe_problems"]

_WHERE = re.compile(r"^(questions|knowledge_points)\[(\d+)\](?: \(id '(.*)'\))?$")
# (pattern, message key, names of the captured placeholders)
_MESSAGES: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = tuple(
    (re.compile(p), k, names) for p, k, names in (
        (r"^String should have at least 1 character", "empty", ()),
        (r"^Field required$", "missing", ()),
        (r"^Input should be less than or equal to (\S+)$", "max", ("limit",)),
        (r"^Input should be greater than or equal to (\S+)$", "min", ("limit",)),
        (r"^Input should be greater than (\S+)$", "gt", ("limit",)),
        (r"^Input should be less than (\S+)$", "lt", ("limit",)),
        (r"^String should have at most (\d+) characters?", "too_long", ("limit",)),
        (r"^String should have at least (\d+) characters", "too_short", ("limit",)),
        (r"^String should match pattern '(.*)'$", "pattern", ("pattern",)),
        (r"^List should have at least (\d+) items?", "few_items", ("limit",)),
        (r"^List should have at most (\d+) items?", "many_items", ("limit",)),
        (r"^Input should be a valid (string|integer|number|boolean|list|dictionary)",
         "type", ("type",)),
        (r"^Extra inputs are not permitted", "extra", ()),
        (r"^unknown kind '(.*)'; known kinds: (.*)$", "unknown_kind", ("kind", "known")),
        (r"^missing 'kind'; known kinds: (.*)$", "missing_kind", ("known",)),
        (r"^the question has no answer key$", "no_key", ()),
        (r"^unknown knowledge point '(.*)'; declare it in knowledge_points$", "unknown_kp",
         ("code",)),
        (r"^'(.*)' is not a knowledge-point code like math\.add\.carry$", "kp_code", ("code",)),
        (r"^duplicate of questions\[(\d+)\]$", "duplicate", ("index",)),
        (r"^ids starting with '(.*)' are kept for generated variants$", "variant_prefix",
         ("prefix",)),
        (r"^must be a non-empty list$", "non_empty_list", ()),
        (r"^must be a JSON object$", "json_object", ()),
        (r"^must be a list$", "list", ()),
        (r"^expected '(.*)', got (.*)$", "format", ("expected", "got")),
        (r"^(\d+) questions; the limit is (\d+)$", "too_many", ("count", "limit")),
        (r"^Input should be (.*)$", "one_of", ("values",)),
    ))
# Fields a teacher knows by name (the first part of the field's path).
_FIELDS = ("id", "kind", "subject", "grade", "stem", "knowledge_points", "difficulty",
           "explanation", "source", "score", "key", "options", "answer_chars", "code",
           "name_zh", "name_en", "format", "questions")


@dataclass(frozen=True)
class Problem:
    """One problem, ready to show.

    Attributes:
        where: which question (or knowledge point, or the file).
        field_name: what the field is called (``答案``), empty if it has no common name.
        field: the field's path in the file (``key.value``).
        message: what is wrong.
        question_id: the question's bank id, when known.
    """

    where: str
    field_name: str
    field: str
    message: str
    question_id: str | None


def _where(raw: str, _: Translator) -> tuple[str, str | None]:
    m = _WHERE.match(raw)
    if m is None:
        return (_("bank.problem.where.document") if raw == "document" else raw), None
    number = int(m.group(2)) + 1
    if m.group(1) == "knowledge_points":
        return _("bank.problem.where.kp", number=number), None
    if m.group(3) is not None:
        return _("bank.problem.where.question_id", number=number, id=m.group(3)), m.group(3)
    return _("bank.problem.where.question", number=number), None


def _message(raw: str, _: Translator) -> str:
    for pattern, key, names in _MESSAGES:
        m = pattern.match(raw)
        if m is None:
            continue
        values: dict[str, object] = dict(zip(names, m.groups(), strict=True))
        if key == "type":
            return _(f"bank.problem.type.{values['type']}")
        if key == "duplicate":
            values["index"] = int(str(values["index"])) + 1
        return _(f"bank.problem.{key}", **values)
    return _("bank.problem.other", message=raw)


def describe_problems(problems: Sequence[Mapping[str, object]], _: Translator) -> list[Problem]:
    """The import's problems (``where``, ``field``, ``message``), in the page's language."""
    out = []
    for p in problems:
        where, question_id = _where(str(p.get("where", "")), _)
        field = str(p.get("field", ""))
        top = field.split(".")[0]
        name = _(f"bank.field.{top}") if top in _FIELDS else ""
        out.append(Problem(where, name, "" if field in ("(question)", "(root)") else field,
                           _message(str(p.get("message", "")), _), question_id))
    return out

