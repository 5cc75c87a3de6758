"""Structured logs: context ids on every record, two formats, configured once."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from service.logs import (
    JsonFormatter,
    KeyValueFormatter,
    configure_logging,
    current_context,
    log_context,
)

log = logging.getLogger("service.test_logs")


def _record(msg: str = "page read", **extra: object) -> logging.LogRecord:
    return log.makeRecord(log.name, logging.INFO, __file__, 1, msg, (), None, extra=extra)


def test_context_nests_and_is_restored() -> None:
    with log_context(job_id=3, upload_id=None):
        assert current_context() == {"job_id": 3}
        with log_context(upload_id=7, page_index=0):
            assert current_context() == {"job_id": 3, "upload_id": 7, "page_index": 0}
        assert current_context() == {"job_id": 3}
    assert current_context() == {}


def test_only_known_ids_go_in_the_context() -> None:
    with pytest.raises(ValueError, match="student_name"), log_context(student_name=1):
        pass  # pragma: no cover


async def test_tasks_started_inside_inherit_the_ids() -> None:
    async def work() -> dict[str, int]:
        return current_context()

    with log_context(job_id=1):
        task = asyncio.create_task(work())
    assert await task == {"job_id": 1}


def test_records_carry_the_ids(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=log.name)
    with log_context(job_id=5, upload_id=6):
        log.info("job started")
    log.info("outside")
    inside, outside = caplog.records
    assert (inside.job_id, inside.upload_id) == (5, 6)  # type: ignore[attr-defined]
    assert not hasattr(outside, "job_id")


def test_key_value_lines() -> None:
    with log_context(page_index=2, job_id=1):
        record = _record(status="read", crop_ms=3.5, error=None, note="two words")
    line = KeyValueFormatter().format(record)
    assert line.endswith('INFO service.test_logs page read job_id=1 page_index=2 status=read '
                         'crop_ms=3.5 note="two words"')


def test_json_lines() -> None:
    with log_context(job_id=1, page_id=9):
        record = _record(status="graded")
    body = json.loads(JsonFormatter().format(record))
    assert body["msg"] == "page read"
    assert body["level"] == "INFO"
    assert (body["job_id"], body["page_id"], body["status"]) == (1, 9, "graded")


def test_configuring_again_replaces_the_handler() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure_logging("json", "DEBUG")
        configure_logging("keyvalue", "INFO")
        ours = [h for h in root.handlers if h.get_name() == "markbook"]
        assert len(ours) == 1
        assert isinstance(ours[0].formatter, KeyValueFormatter)
        assert logging.getLogger("service").level == logging.INFO
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)
