"""One settings object for the whole service (pydantic-settings, prefix ``MARKBOOK_``).

Nested groups use a double underscore: ``MARKBOOK_DB__URL=postgresql+asyncpg://...``
switches the embedded SQLite default to PostgreSQL with no other change.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from errorbook.learner.schedule import ScheduleSettings

__all__ = [
    "AuthSettings",
    "DatabaseSettings",
    "JobSettings",
    "LimitSettings",
    "LogSettings",
    "RetentionSettings",
    "Settings",
    "WatchSettings",
    "WebhookSettings",
    "get_settings",
    "parse_rate",
]

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
          "hour": 3600}


def parse_rate(text: str) -> tuple[int, float]:
    """Parse a rate such as ``"10/5min"``, ``"60/min"`` or ``"100/1h"``.

    Args:
        text: ``COUNT/[N]UNIT`` with unit s, sec, m, min, h or hour (plural ``s`` allowed).

    Returns:
        ``(count, window_seconds)``.

    Raises:
        ValueError: the text is not a rate.
    """
    count, _, period = text.replace(" ", "").partition("/")
    digits = "".join(itertools.takewhile(str.isdigit, period))
    unit = period[len(digits):]
    unit = unit[:-1] if unit.endswith("s") and unit[:-1] in _UNITS else unit
    if not count.isdigit() or int(count) < 1 or unit not in _UNITS or digits == "0":
        raise ValueError(f"not a rate: {text!r} (expected e.g. '10/5min', '60/min', '100/1h')")
    return int(count), float(int(digits or "1") * _UNITS[unit])


class AuthSettings(BaseModel):
    token_minutes: int = Field(default=30, ge=1, le=24 * 60,
                               description="lifetime of a bearer token from /api/v1/auth/token")
    login_rate: str = Field(default="10/5min", description="failed logins allowed per "
                            "username and client address in a window; more get 429")
    min_password_length: int = Field(default=10, ge=8, le=128)
    cookie_secure: bool | None = Field(
        default=None, description="mark the pages' cookies Secure (sent over https only): "
        "unset = when the request came over https (behind a TLS proxy, run uvicorn with "
        "--proxy-headers or set this to true)")
    session_hours: float = Field(default=12, gt=0, le=24 * 30,
                                 description="a browser session's longest life: its token is "
                                 "renewed while pages are used (an idle session ends after "
                                 "token_minutes), never past this many hours after sign-in")

    @field_validator("login_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate(value)
        return value


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; default: SQLite file markbook.db in the data dir",
    )
    echo: bool = False
    auto_migrate: bool = Field(default=True, description="run Alembic upgrade at start-up")
    pool_size: int = Field(default=15, ge=1, le=100, description="connections a web "
                           "process keeps open (a burst of uploads or readers uses them all)")
    max_overflow: int = Field(default=0, ge=0, le=200, description="connections opened "
                              "beyond pool_size under a burst and closed after it (on SQLite "
                              "they are kept open)")
    pool_timeout_s: float = Field(default=10.0, gt=0, le=300, description="how long a request "
                                  "waits for a free connection before it answers 503 busy")


class JobSettings(BaseModel):
    backend: Literal["inprocess", "celery"] = "inprocess"
    workers: int = Field(default=2, ge=1, le=64, description="worker processes for CPU work")
    executor: Literal["process", "thread"] = Field(
        default="process", description="process: a spawned worker pool; thread: in-process "
        "threads (tests, tiny installs)")
    lease_seconds: float = Field(default=20.0, gt=0, description="a running job whose lease "
                                 "lapses (its runner died) is claimed again; a live runner "
                                 "renews it three times a lease")
    worker_nice: int = Field(default=5, ge=0, le=19, description="nice value added to worker "
                             "processes so uploads and status requests stay responsive")
    worker_idle_class: bool = Field(
        default=True, description="run worker processes in Linux's SCHED_IDLE class: a "
        "request or database write that wakes on a core a worker is using takes it at once "
        "(nice only weighs shares); elsewhere, or where refused, the nice value alone")
    run_in_app: bool = Field(default=True, description="run the embedded job runner inside "
                             "the web process (off: only `markbook worker` runs jobs)")
    results_refresh_s: float = Field(
        default=2.0, ge=0, le=60, description="while a job stores its pages, a web process "
        "may answer a class's results, roster and progress from what it built up to this "
        "many seconds before (anyone's edit, and the job's end, show at once); 0: every page "
        "stored shows at once")
    poll_seconds: float = Field(default=2.0, gt=0, description="how often idle runners look "
                                "for work they were not told about")
    broker_url: str = Field(default="redis://127.0.0.1:6379/0", description="backend "
                            "celery: the broker (redis://host:6379/0 or "
                            "amqp://user:password@host:5672//)")
    queue: str = Field(default="markbook.jobs", description="backend celery: the broker "
                       "queue the workers read (one per installation sharing a broker)")
    visibility_timeout_seconds: float = Field(default=7200.0, gt=0, description="backend "
                                              "celery on Redis: a task not acknowledged this "
                                              "long is delivered again; longer than the "
                                              "slowest job")


class LimitSettings(BaseModel):
    max_upload_mb: int = Field(default=200, ge=1)
    max_body_mb: int = Field(default=8, ge=1, description="largest JSON or form body (a "
                             "question-bank import included); scans are limited by "
                             "max_upload_mb")
    max_pages: int = Field(default=600, ge=1)
    max_page_megapixels: int = Field(default=50, ge=1, description="pixels per page image")
    max_questions_per_worksheet: int = Field(default=100, ge=1)
    max_copies: int = Field(default=200, ge=1)
    max_import_questions: int = Field(default=5000, ge=1)
    max_roster_rows: int = Field(default=500, ge=1)
    redis_url: str | None = Field(default=None, description="keep the failed-sign-in limits "
                                  "in this Redis (redis://host:6379/1), shared by every web "
                                  "process; unset: each process counts its own")
    uploads_per_minute: int = Field(default=60, ge=1, description="scan uploads per teacher "
                                    "or device per minute; more get 429")
    min_free_mb: int = Field(default=200, ge=0, description="free space kept in the data "
                             "folder: below it uploads get 507 and /healthz/ready says not "
                             "ready, so jobs already accepted can still store their pages")


class WebhookSettings(BaseModel):
    enabled: bool = Field(default=True, description="run the webhook delivery loop in the app")
    max_attempts: int = Field(default=12, ge=1, le=100, description="attempts before a "
                              "delivery is marked failed")
    timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="per POST")
    poll_seconds: float = Field(default=5.0, gt=0, description="how often due deliveries "
                                "are looked for")
    backoff_base_seconds: float = Field(default=10.0, gt=0, description="first retry delay; "
                                        "doubles per attempt")
    backoff_max_seconds: float = Field(default=3600.0, gt=0, description="retry delay cap")
    concurrency: int = Field(default=4, ge=1, le=64, description="deliveries in flight at once")


class WatchSettings(BaseModel):
    poll_seconds: float = Field(default=2.0, gt=0, description="how often the watched folder "
                                "is listed")
    settle_seconds: float = Field(default=5.0, ge=0, description="a file must keep its size "
                                  "and mtime this long before it is taken")
    retry_max_seconds: float = Field(default=300.0, gt=0, description="longest wait between "
                                     "retries while the server is unavailable")
    upload_timeout_seconds: float = Field(default=300.0, gt=0)


class MasterySettings(BaseModel):
    review_intervals_days: tuple[int, ...] = Field(
        default=(1, 3, 7, 14), min_length=1,
        description="spacing of an error-book entry's reviews, in days")
    successes_to_resolve: int = Field(default=2, ge=1, le=10, description="right answers on "
                                      "separate occasions that resolve an entry")
    book_entries: int = Field(default=10, ge=1, le=50, description="wrong questions reviewed "
                              "per error book (most overdue first)")
    book_practice: int = Field(default=20, ge=0, le=60, description="similar and variant "
                               "questions per error book")
    fit_min_answers: int = Field(default=200, ge=1, description="answers a knowledge point "
                                 "needs before `markbook mastery fit` re-estimates it")
    fit_min_students: int = Field(default=10, ge=1)

    def schedule(self) -> ScheduleSettings:
        """The error-book review schedule these settings describe."""
        return ScheduleSettings(intervals_days=self.review_intervals_days,
                                successes_to_resolve=self.successes_to_resolve)

    @field_validator("review_intervals_days")
    @classmethod
    def _positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(d <= 0 for d in v):
            raise ValueError("review intervals must be whole days > 0")
        return v


class RetentionSettings(BaseModel):
    """How long children's images are kept (see docs/privacy.md); grades and readings stay."""

    page_images_days: int = Field(default=0, ge=0, le=36500, description="delete the scan "
                                  "files (every page image) of uploads whose pages were all "
                                  "graded more than this many days ago; 0 keeps them forever")
    crops_days: int = Field(default=0, ge=0, le=36500, description="delete the answer crops of "
                            "pages graded more than this many days ago; 0 keeps them forever")


class LogSettings(BaseModel):
    format: Literal["keyvalue", "json"] = Field(
        default="keyvalue", description="keyvalue: one `key=value` line per record (people); "
        "json: one JSON object per line (log collectors)")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="DEBUG adds each page's stage timings")


class Settings(BaseSettings):
    """Everything configurable, read from ``MARKBOOK_*`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="MARKBOOK_", env_nested_delimiter="__", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    cjk_font: Path | None = Field(
        default=None, description="the TrueType CJK font (.ttf/.ttc) every PDF embeds; unset: "
        "the first installed WenQuanYi or AR PL font. A set path that is missing or cannot "
        "be embedded stops start-up")
    datasets_dir: Path | None = Field(
        default=None, description="folder of the real-handwriting sets (mnist-dev.npz, "
        "bhmsds-dev.npz) `markbook demo` writes with; unset or absent: font glyphs")
    secret_key: SecretStr | None = None
    school_name: str = "默认学校"
    school_language: Literal["zh", "en"] = Field(
        default="zh", description="the language of every printed word that is not a "
        "question's or a student's: worksheets' page furniture (labels, page numbers, the "
        "marking instruction) and error books (cards, causes, headings, the answers, the "
        "class cover, the teacher's key): zh (Chinese only) or en; questions print as the "
        "bank holds them")
    db: DatabaseSettings = DatabaseSettings()
    jobs: JobSettings = JobSettings()
    limits: LimitSettings = LimitSettings()
    webhooks: WebhookSettings = WebhookSettings()
    watch: WatchSettings = WatchSettings()
    auth: AuthSettings = AuthSettings()
    mastery: MasterySettings = MasterySettings()
    retention: RetentionSettings = RetentionSettings()
    log: LogSettings = LogSettings()

    @field_validator("cjk_font", "datasets_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("cjk_font")
    @classmethod
    def _font_file_exists(cls, path: Path | None) -> Path | None:
        # Checked here so every command stops at once with the setting's name; whether the
        # file can be embedded is checked when the app registers it (parsing takes a moment).
        if path is not None and not path.is_file():
            raise ValueError(f"MARKBOOK_CJK_FONT={path}: no such font file (install one, e.g. "
                             "'apt-get install fonts-wqy-microhei', or unset it to use the "
                             "first installed WenQuanYi or AR PL font)")
        return path

    @model_validator(mode="after")
    def _secrets_outside_development(self) -> Settings:
        if self.env == "production" and self.secret_key is None:
            raise ValueError("MARKBOOK_SECRET_KEY must be set when MARKBOOK_ENV=production")
        # Tokens are HMAC-SHA256 signed: a short key can be brute-forced offline from one token.
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("MARKBOOK_SECRET_KEY must be at least 32 characters "
                             "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
        return self

    @property
    def database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under the data directory."""
        if self.db.url:
            return self.db.url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'markbook.db').resolve()}"

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "files"


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides (tests, CLI flags)."""
    return Settings(**overrides)  # type: ignore[arg-type]
