"""One settings object for the whole service (pydantic-settings, prefix ``MARKBOOK_``).

Nested groups use a double underscore: ``MARKBOOK_DB__URL=postgresql+asyncpg://...``
switches the embedded SQLite default to PostgreSQL with no other change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DatabaseSettings", "JobSettings", "LimitSettings", "Settings", "get_settings"]


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; default: SQLite file markbook.db in the data dir",
    )
    echo: bool = False
    auto_migrate: bool = Field(default=True, description="run Alembic upgrade at start-up")
    pool_size: int = Field(default=5, ge=1, le=100)


class JobSettings(BaseModel):
    backend: Literal["inprocess", "celery"] = "inprocess"
    workers: int = Field(default=2, ge=1, le=64, description="worker processes for CPU work")


class LimitSettings(BaseModel):
    max_upload_mb: int = Field(default=200, ge=1)
    max_pages: int = Field(default=600, ge=1)
    max_questions_per_worksheet: int = Field(default=100, ge=1)
    max_copies: int = Field(default=200, ge=1)
    max_import_questions: int = Field(default=5000, ge=1)
    max_roster_rows: int = Field(default=500, ge=1)


class Settings(BaseSettings):
    """Everything configurable, read from ``MARKBOOK_*`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="MARKBOOK_", env_nested_delimiter="__", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    cjk_font: str | None = None
    secret_key: SecretStr | None = None
    school_name: str = "默认学校"
    db: DatabaseSettings = DatabaseSettings()
    jobs: JobSettings = JobSettings()
    limits: LimitSettings = LimitSettings()

    @model_validator(mode="after")
    def _secrets_outside_development(self) -> Settings:
        if self.env == "production" and self.secret_key is None:
            raise ValueError("MARKBOOK_SECRET_KEY must be set when MARKBOOK_ENV=production")
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
