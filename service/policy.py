"""Who may see which rows: the one place that decides, used by every repository.

Rules (fail closed: a model without a rule raises instead of returning everything):

* everything is limited to the actor's school;
* classes, worksheets, device keys: the owning teacher, or any admin of the school;
* students: through their class;
* scan uploads and jobs: the uploading teacher (admins: the school); a device sees only
  its own uploads;
* questions: shared by the school's teachers (one bank per school);
* audit events: school admins only.

Ids the actor may not see behave exactly like ids that do not exist (404 ``not_found``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, select, true

from service.actor import Actor
from service.db import (
    AuditEventRow,
    DeviceKeyRow,
    JobRow,
    QuestionRow,
    ScanUploadRow,
    SchoolClassRow,
    StudentRow,
    TemplateBlankRow,
    WorksheetRow,
)

__all__ = ["scoped", "visible", "visible_class_ids"]

S = TypeVar("S", bound="Select[*tuple[Any, ...]]")


def _owner(actor: Actor, teacher_col: Any) -> ColumnElement[bool]:
    return true() if actor.is_admin else teacher_col == actor.teacher_id


def visible_class_ids(actor: Actor) -> Select[int]:
    """A subquery of the ids of the classes the actor may see."""
    return select(SchoolClassRow.id).where(SchoolClassRow.school_id == actor.school_id,
                                        _owner(actor, SchoolClassRow.teacher_id))


def _classes(actor: Actor) -> ColumnElement[bool]:
    return (SchoolClassRow.school_id == actor.school_id) & _owner(actor, SchoolClassRow.teacher_id)


def _students(actor: Actor) -> ColumnElement[bool]:
    return StudentRow.class_id.in_(visible_class_ids(actor))


def _worksheets(actor: Actor) -> ColumnElement[bool]:
    # Worksheets have no school column: their class carries the school.
    school_classes = select(SchoolClassRow.id).where(SchoolClassRow.school_id == actor.school_id)
    return WorksheetRow.class_id.in_(school_classes) & _owner(actor, WorksheetRow.teacher_id)


def _devices(actor: Actor) -> ColumnElement[bool]:
    return (DeviceKeyRow.school_id == actor.school_id) & _owner(actor, DeviceKeyRow.teacher_id)


def _uploads(actor: Actor) -> ColumnElement[bool]:
    school = ScanUploadRow.school_id == actor.school_id
    if actor.device_id is not None:
        return school & (ScanUploadRow.device_id == actor.device_id)
    return school & _owner(actor, ScanUploadRow.teacher_id)


def _jobs(actor: Actor) -> ColumnElement[bool]:
    return (JobRow.school_id == actor.school_id) & JobRow.id.in_(
        select(ScanUploadRow.job_id).where(_uploads(actor)))


def _blanks(actor: Actor) -> ColumnElement[bool]:
    # A device key only pushes scans: it never sees templates.
    if actor.is_device:
        return false()
    return (TemplateBlankRow.school_id == actor.school_id) & _owner(actor,
                                                                    TemplateBlankRow.teacher_id)


def _questions(actor: Actor) -> ColumnElement[bool]:
    return QuestionRow.school_id == actor.school_id


def _audit(actor: Actor) -> ColumnElement[bool]:
    if not actor.is_admin or actor.is_device:
        return false()
    return AuditEventRow.school_id == actor.school_id


_RULES: dict[type, Callable[[Actor], ColumnElement[bool]]] = {
    SchoolClassRow: _classes,
    StudentRow: _students,
    WorksheetRow: _worksheets,
    DeviceKeyRow: _devices,
    ScanUploadRow: _uploads,
    JobRow: _jobs,
    QuestionRow: _questions,
    TemplateBlankRow: _blanks,
    AuditEventRow: _audit,
}


def visible(model: type, actor: Actor) -> ColumnElement[bool]:
    """The condition under which ``actor`` may see rows of ``model``.

    Args:
        model: a mapped class with a rule above.
        actor: the caller.

    Returns:
        A SQL boolean expression for ``.where()``.

    Raises:
        TypeError: the model has no rule (add one here rather than query it unscoped).
    """
    try:
        rule = _RULES[model]
    except KeyError:
        raise TypeError(f"no access rule for {model.__name__}; add one to service.policy") \
            from None
    return rule(actor)


def scoped(query: S, model: type, actor: Actor) -> S:
    """``query`` limited to the rows of ``model`` the actor may see.

    Args:
        query: a ``select()`` that includes ``model``.
        model: the owned model to scope by.
        actor: the caller.

    Returns:
        The narrowed query.
    """
    return query.where(visible(model, actor))
