"""The install itself: one row holding the id printed in every page code."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, TimestampMixin

__all__ = ["InstallationRow"]


class InstallationRow(TimestampMixin, Base):
    """This install's identity (``service.install``): a single row, ``id`` 1.

    It lives in the database, not in the data folder, so every API and worker process of
    a deployment (and a restored backup) shares it, and a fresh database is a new install.
    """

    __tablename__ = "installation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    install_id: Mapped[str] = mapped_column(String(8))
