"""Persistence: tables (one module per domain), engine and session handling."""

from service.db.base import Base
from service.db.tables.access import AuditEventRow, DeviceKeyRow
from service.db.tables.bank import (
    KnowledgePointRow,
    QuestionKnowledgePointRow,
    QuestionRevisionRow,
    QuestionRow,
)
from service.db.tables.generation import DataGenerationRow
from service.db.tables.install import InstallationRow
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
from service.db.tables.privacy import ErasedStudentRow, FileDeletionRow, ImageExpiryRow
from service.db.tables.scans import (
    GradeRow,
    JobRow,
    PageRow,
    ResponseRow,
    ScanUploadRow,
    WebhookDeliveryRow,
)
from service.db.tables.school import SchoolClassRow, SchoolRow, StudentRow, TeacherRow
from service.db.tables.student_links import StudentLinkRow
from service.db.tables.worksheets import (
    TemplateBlankRow,
    WorksheetCopyRow,
    WorksheetItemRow,
    WorksheetRow,
)

__all__ = [
    "AuditEventRow",
    "Base",
    "DataGenerationRow",
    "DeviceKeyRow",
    "ErasedStudentRow",
    "ErrorAttemptRow",
    "ErrorBookRow",
    "ErrorEntryRow",
    "FileDeletionRow",
    "GradeRow",
    "ImageExpiryRow",
    "InstallationRow",
    "ItemDifficultyRow",
    "JobRow",
    "KnowledgePointRow",
    "KpParamsRow",
    "MasteryEventRow",
    "MasteryStateRow",
    "PageRow",
    "PracticeItemRow",
    "QuestionKnowledgePointRow",
    "QuestionRevisionRow",
    "QuestionRow",
    "ResponseRow",
    "ScanUploadRow",
    "SchoolClassRow",
    "SchoolRow",
    "StudentLinkRow",
    "StudentRow",
    "TeacherRow",
    "TemplateBlankRow",
    "WebhookDeliveryRow",
    "WorksheetCopyRow",
    "WorksheetItemRow",
    "WorksheetRow",
]
