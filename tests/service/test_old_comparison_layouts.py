"""Worksheets laid out before the ``compare`` format: their comparison boxes, stored as
``text``, are read by the sign reader too (``service.jobs.pagework``)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
from pydantic import TypeAdapter

from errorbook.contract import WorksheetLayout
from errorbook.printing.layout import layout_worksheet
from grading.questions import Question
from ocr.pipeline import TemplatePage
from service.jobs.pagework import QuestionInfo, WorksheetBundle, _read_signs
from simulation.bench_worksheet import SAMPLE_BANK


def test_old_text_boxes_of_comparisons_are_read_as_signs() -> None:
    ta: TypeAdapter[Question] = TypeAdapter(Question)
    docs = {d["id"]: d for d in json.loads(SAMPLE_BANK.read_text("utf-8"))["questions"]}
    questions = [ta.validate_python(docs[i]) for i in ("m3-frac-008", "m3-mass-004")]
    questions.append(next(ta.validate_python(d) for d in docs.values()
                          if d["kind"] == "text" and len(d["key"]["blanks"]) == 1
                          and not d["key"]["blanks"][0].get("pinyin")
                          and d["key"]["blanks"][0]["accept"][0] not in "<>=＜＞＝"))
    layout = layout_worksheet("比大小", questions)
    regions = layout.pages[0].regions
    assert [r.answer_format for r in regions] == ["compare", "compare", "text"]
    # As stored before: every written text box says 'text'.
    old = WorksheetLayout(layout.title, layout.page_size, tuple(
        replace(p, regions=tuple(replace(r, answer_format="text") for r in p.regions))
        for p in layout.pages))
    bundle = WorksheetBundle(1, old, "digest", {q.id: QuestionInfo(k, q, 1)
                                                for k, q in enumerate(questions)})
    template = TemplatePage.from_layout(1, old.pages[0], np.zeros((4, 4), np.uint8), 1.0)
    read = _read_signs(template, bundle)
    formats = {r.question_id: r.answer_format for r in read.regions}
    assert formats["m3-frac-008"] == formats["m3-mass-004"] == "compare"
    assert formats[questions[2].id] == "text"
