"""Conversations: one module per job; importing this package registers them all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dialogs.engine import DialogEngine
    from dialogs.reply import Button, Reply

__all__ = ["DialogEngine", "Reply", "Button"]

JOB_MODULES = ("approval", "customer", "handover", "member", "opportunity", "order", "reminder", "report", "visit")


def __getattr__(name: str) -> Any:
    """Load the engine and register every job on first use, so `dialogs.settings` alone stays light
    (the application config imports it)."""
    if name not in __all__:
        raise AttributeError(f"module 'dialogs' has no attribute {name!r}")
    import importlib

    for module in JOB_MODULES:  # importing a job module registers it
        importlib.import_module(f"dialogs.{module}")
    from dialogs.engine import DialogEngine
    from dialogs.reply import Button, Reply

    found = {"DialogEngine": DialogEngine, "Reply": Reply, "Button": Button}
    globals().update(found)
    return found[name]
