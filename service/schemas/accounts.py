"""Request and response bodies of the accounts API (sign-in, profile, teachers)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MeOut", "TeacherCreate", "TeacherOut", "TokenOut"]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


class TeacherOut(BaseModel):
    id: int
    username: str
    display_name: str
    is_admin: bool
    is_active: bool
    school_id: int
    created_at: datetime


class MeOut(TeacherOut):
    kind: str = "teacher"


class TeacherCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: str = Field(min_length=2, max_length=64, examples=["wang.li"])
    display_name: str = Field(min_length=1, max_length=100, examples=["王老师"])
    password: str = Field(min_length=1, max_length=1024)
    is_admin: bool = False
