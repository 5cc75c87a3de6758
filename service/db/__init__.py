"""Persistence: tables (one module per domain), engine and session handling."""

from service.db.base import Base
from service.db.tables.access import AuditEvent, DeviceKey
from service.db.tables.bank import (
    KnowledgePointRow,
    QuestionKnowledgePoint,
    QuestionRevision,
    QuestionRow,
)
from service.db.tables.mastery import (
    ErrorAttemptRow,
    ErrorBookRow,
    ErrorEntryRow,
    ItemDifficultyRow,
    KpParamsRow,
    MasteryEventRow,
    MasteryStateRow,
    PracticeItemRow,
)
from service.db.tables.scans import (
    GradeRow,
    Job,
    PageRow,
    ResponseRow,
    ScanUpload,
    WebhookDelivery,
)
from service.db.tables.school import School, SchoolClass, Student, Teacher
from service.db.tables.worksheets import WorksheetCopy, WorksheetItem, WorksheetRow

__all__ = [
    "AuditEvent",
    "Base",
    "DeviceKey",
    "ErrorAttemptRow",
    "ErrorBookRow",
    "ErrorEntryRow",
    "GradeRow",
    "ItemDifficultyRow",
    "Job",
    "KnowledgePointRow",
    "KpParamsRow",
    "MasteryEventRow",
    "MasteryStateRow",
    "PageRow",
    "PracticeItemRow",
    "QuestionKnowledgePoint",
    "QuestionRevision",
    "QuestionRow",
    "ResponseRow",
    "ScanUpload",
    "School",
    "SchoolClass",
    "Student",
    "Teacher",
    "WebhookDelivery",
    "WorksheetCopy",
    "WorksheetItem",
    "WorksheetRow",
]
