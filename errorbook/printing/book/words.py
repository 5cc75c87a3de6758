"""The error book's words in the school's language: every string a child (or, on the cover
and in the key, the teacher) reads that is not the question or the student's own data.

A Chinese school's books are Chinese only; an English-speaking school's say the same in
English. Knowledge-point names, titles and the practice reasons arrive in the language
already (the service picks them). :func:`book_words` is the one way to get the words;
``BookOptions.language`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["BookWords", "book_words"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class BookWords:
    """One language's words for error books (see the module docstring)."""

    language: str
    # cards
    state_open: str
    state_practising: str
    wrong_times: str  # {n} and {when}
    mastery: str  # {pct}
    no_kp: str
    your_answer: str
    unanswered: str
    cause: str
    redo: str
    # the student summary
    student_no: str  # {no}
    made_on: str  # {date}
    weakest: str
    no_data: str
    tile_open: str
    tile_practising: str
    tile_resolved: str
    tile_rate: str
    tile_this_time: str
    # headings and notes
    review_heading: str  # {n}
    review_note_keyed: str
    review_note_teacher: str
    nothing_new: str
    answers: str
    answers_note_child: str
    answers_note_teacher: str
    review: str
    practice: str
    # answer-key rows
    card_no: str  # {n}
    for_card: str  # {n}
    answer: str
    explanation: str
    # the class cover
    cover_title: str  # {cls}
    cover_owner: str
    cover_info: str  # {cls} {n} {date}
    cover_teacher: str  # {name}
    cover_kps: str
    cover_kps_note: str
    cover_students: str
    cover_students_note: str
    no_cards_in_class: str
    kp_column: str
    cards_column: str
    share_column: str
    students_share: str  # {n} {pct}
    unclassified: str
    tile_students: str
    tile_with_cards: str
    tile_mean_rate: str
    columns: tuple[str, ...]  # 序号 姓名 学号 待订正 练习中 已解决 解决率 起始页
    # the teacher's key
    key_title: str
    key_owner: str

    def when(self, day: date) -> str:
        """A short date as a child reads it (``5月12日``, ``12 May``)."""
        if self.language == "zh":
            return f"{day.month}月{day.day}日"
        return f"{day.day} {_MONTHS[day.month - 1]}"


_ZH = BookWords(
    language="zh",
    state_open="待订正", state_practising="练习中", wrong_times="错 {n} 次 · {when}",
    mastery="掌握 {pct}", no_kp="（未标注知识点）", your_answer="你的答案", unanswered="未作答",
    cause="错因", redo="订正（在这里独立重做一遍）",
    student_no="学号 {no}", made_on="生成日期 {date}", weakest="薄弱知识点", no_data="暂无数据",
    tile_open="待订正", tile_practising="练习中", tile_resolved="已解决", tile_rate="解决率",
    tile_this_time="本期错题",
    review_heading="一、错题回顾（{n} 题）",
    review_note_keyed="先看错因，在订正栏里独立重做，再翻到书后对照答案",
    review_note_teacher="先看错因，在订正栏里独立重做，再请老师批改",
    nothing_new="本期没有新的错题，继续保持！",
    answers="参考答案", answers_note_child="先在订正栏里独立重做，再对照答案",
    answers_note_teacher="含选题理由（教师用）", review="错题回顾", practice="巩固练习",
    card_no="第 {n} 题", for_card="对应错题第 {n} 题", answer="答案：", explanation="解析：",
    cover_title="{cls} · 错题本", cover_owner="班级汇总",
    cover_info="{cls} · 共 {n} 名学生 · 生成日期 {date}", cover_teacher=" · 教师 {name}",
    cover_kps="全班错得最多的知识点",
    cover_kps_note="按出错学生人数排序；每个学生自己的薄弱点见其错题本",
    cover_students="学生一览", cover_students_note="起始页：该生错题本在本文件中的页码",
    no_cards_in_class="本期全班没有错题。", kp_column="知识点", cards_column="错题数",
    share_column="出错学生占全班", students_share="{n} 人（{pct}）", unclassified="未分类",
    tile_students="学生", tile_with_cards="有错题的学生", tile_mean_rate="平均解决率",
    columns=("序号", "姓名", "学号", "待订正", "练习中", "已解决", "解决率", "起始页"),
    key_title="错题本参考答案（教师用）", key_owner="教师用",
)

_EN = BookWords(
    language="en",
    state_open="to redo", state_practising="practising", wrong_times="wrong {n}× · {when}",
    mastery="mastery {pct}", no_kp="(no topic)", your_answer="Your answer",
    unanswered="Not answered", cause="What went wrong", redo="Redo it here on your own",
    student_no="No. {no}", made_on="Made {date}", weakest="Weak spots", no_data="no data yet",
    tile_open="to redo", tile_practising="practising", tile_resolved="resolved",
    tile_rate="resolved share", tile_this_time="this time",
    review_heading="1. Review ({n})",
    review_note_keyed="read what went wrong, redo it in the box, then check the answers at "
                      "the back",
    review_note_teacher="read what went wrong, redo it in the box, then hand it to your "
                        "teacher",
    nothing_new="No new mistakes this time. Keep it up!",
    answers="Answers", answers_note_child="redo each card first, then check here",
    answers_note_teacher="with why each was chosen (for the teacher)", review="Review",
    practice="Practice",
    card_no="Card {n}", for_card="for card {n}", answer="Answer: ",
    explanation="Explanation: ",
    cover_title="{cls} · Error books", cover_owner="Class summary",
    cover_info="{cls} · {n} students · made {date}", cover_teacher=" · teacher {name}",
    cover_kps="Topics most of the class got wrong",
    cover_kps_note="by students with a card; each student's own weak points are in their book",
    cover_students="Students", cover_students_note="start: the page their book starts on",
    no_cards_in_class="No cards in the class this time.", kp_column="Topic",
    cards_column="Cards", share_column="Students with a card", students_share="{n} ({pct})",
    unclassified="unclassified", tile_students="students", tile_with_cards="with cards",
    tile_mean_rate="mean resolved",
    columns=("#", "Name", "No.", "To redo", "Practising", "Resolved", "Resolved share",
             "Start"),
    key_title="Error-book answers (for the teacher)", key_owner="Teacher",
)


def book_words(language: str) -> BookWords:
    """The error book's words in ``language`` (``zh`` or ``en``).

    Raises:
        ValueError: another language.
    """
    found = {"zh": _ZH, "en": _EN}.get(language)
    if found is None:
        raise ValueError(f"unknown print language {language!r}; use zh or en")
    return found
