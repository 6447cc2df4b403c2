"""Settings of the durable intake (the `inbox:` section of config.yml)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class InboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workers: int = Field(2, ge=1, le=32)  # threads per process that take over waiting rows
    poll_seconds: float = Field(1.0, gt=0)  # how often idle workers look for rows of other processes
    batch_size: int = Field(20, ge=1)
    claim_timeout_seconds: float = Field(60.0, ge=5)  # a claim older than this belonged to a dead process
    max_attempts: int = Field(5, ge=1)
    retry_base_seconds: float = Field(2.0, gt=0)
    retry_max_seconds: float = Field(300.0, gt=0)
