"""Parse a class roster CSV (``student_no,name[,pinyin]``) as schools export it.

Excel on Chinese Windows saves GBK; "CSV UTF-8" adds a BOM; both are accepted. Every bad
row is reported with its line number and nothing is imported unless all rows are good.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from service.errors import InvalidInput, UnsupportedMediaType
from service.repositories.classes import NewStudent

__all__ = ["decode_csv", "parse_roster_csv"]

_HEADERS = {
    "student_no": "student_no", "学号": "student_no", "no": "student_no",
    "name": "name", "姓名": "name",
    "pinyin": "pinyin", "拼音": "pinyin",
}
_STUDENT_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


def decode_csv(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM) or GBK text.

    Raises:
        UnsupportedMediaType: UTF-16/32 (NUL bytes) or bytes that are neither UTF-8 nor GBK.
    """
    if b"\x00" in data:
        raise UnsupportedMediaType(
            "the CSV looks like UTF-16 or a binary file; save it as 'CSV UTF-8' or GBK",
            error="bad_encoding")
    for encoding in ("utf-8-sig", "gbk"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnsupportedMediaType(
        "the CSV is neither UTF-8 nor GBK text; save it as 'CSV UTF-8' in Excel or WPS",
        error="bad_encoding")


def parse_roster_csv(data: bytes, *, max_rows: int = 500) -> tuple[list[NewStudent], list[int]]:
    """Parse and validate a roster.

    Args:
        data: the raw file.
        max_rows: refuse larger rosters.

    Returns:
        The students in file order, and the line number each came from.

    Raises:
        UnsupportedMediaType: undecodable bytes.
        InvalidInput: missing header columns, bad rows or duplicates, each listed by line.
    """
    # Old Mac spreadsheets end lines with a bare CR: every line ending becomes LF.
    text = decode_csv(data).replace("\r\n", "\n").replace("\r", "\n")
    try:
        return _parse_rows(csv.reader(io.StringIO(text)), max_rows)
    except csv.Error as exc:
        raise InvalidInput(f"the CSV cannot be read: {exc}", error="bad_csv") from exc


def _parse_rows(reader: Any, max_rows: int) -> tuple[list[NewStudent], list[int]]:
    header = next(reader, None)
    if header is None:
        raise InvalidInput("the CSV is empty; expected a header 'student_no,name'",
                           error="bad_csv")
    columns = [_HEADERS.get(h.strip().lower()) for h in header]
    if "student_no" not in columns or "name" not in columns:
        raise InvalidInput(
            f"the header must contain student_no and name (or 学号 and 姓名); got {header}",
            error="bad_csv")
    errors: list[dict[str, object]] = []
    students: list[NewStudent] = []
    lines: list[int] = []
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        values = {col: cell.strip() for col, cell in zip(columns, row, strict=False) if col}
        no, name = values.get("student_no", ""), values.get("name", "")
        if not _STUDENT_NO.match(no):
            errors.append({"line": line, "message": f"bad student_no {no!r}"})
            continue
        if not name or len(name) > 64:
            errors.append({"line": line, "message": "name is empty or longer than 64 characters"})
            continue
        if no in first_line:
            errors.append({"line": line, "student_no": no,
                           "message": f"duplicate student_no {no} (first on line {first_line[no]})"})
            continue
        first_line[no] = line
        students.append(NewStudent(no, name, values.get("pinyin") or None))
        lines.append(line)
        if len(students) > max_rows:
            raise InvalidInput(f"the roster has more than {max_rows} rows", error="bad_csv")
    if errors:
        raise InvalidInput(f"{len(errors)} bad row(s); first: line {errors[0]['line']}: "
                           f"{errors[0]['message']}; nothing was imported",
                           error="bad_csv", errors=errors)
    if not students:
        raise InvalidInput("the CSV has a header but no students", error="bad_csv")
    return students, lines
