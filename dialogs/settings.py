"""What the dialog engine and its jobs read from the configuration.

`DialogSettings` is the `dialogs:` section of config.yml; `DialogConfig` is the view the engine is given
(the application config satisfies it), so dialogs never imports the application config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import Field

from crm_store.rules import RulesConfig, Section


class DialogSettings(Section):
    confirm_writes: bool = True
    # Staff names allowed to skip the confirmation step.
    trusted_staff: list[str] = Field(default_factory=list)
    undo_minutes: int = Field(5, ge=0)
    page_size: int = Field(5, ge=1, le=20)
    # A pending form older than this is dropped when the user comes back.
    form_timeout_minutes: int = Field(30, ge=1)


class DialogConfig(RulesConfig, Protocol):
    """The settings this package reads: its own section plus the business rules, timezone and chart folder."""

    @property
    def dialogs(self) -> DialogSettings: ...

    @property
    def exports_dir(self) -> Path: ...
