"""Conversations: one module per job. The engine imports the job modules (which registers them);
`dialogs.reply` stays light, so channels can speak in Replies without loading the dialog stack."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dialogs.reply import Button, Reply

if TYPE_CHECKING:
    from dialogs.engine import DialogEngine

__all__ = ["DialogEngine", "Reply", "Button"]


def __getattr__(name: str) -> Any:
    if name == "DialogEngine":
        from dialogs.engine import DialogEngine

        return DialogEngine
    raise AttributeError(f"module 'dialogs' has no attribute {name!r}")
