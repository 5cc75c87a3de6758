"""Request and response bodies of the device-key API (copiers and scanners)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DeviceCreate", "DeviceCreated", "DeviceOut"]


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100, examples=["教师办公室复印机"])


class DeviceOut(BaseModel):
    id: int
    name: str
    key_prefix: str = Field(description="the key's first characters, to tell keys apart")
    teacher_id: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class DeviceCreated(DeviceOut):
    key: str = Field(description="the device key; shown only in this response")
