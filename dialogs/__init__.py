"""Conversations: one module per job; importing this package registers them all."""

from dialogs import (  # noqa: F401  (importing a job module registers it)
    approval,
    customer,
    handover,
    member,
    opportunity,
    order,
    reminder,
    report,
    visit,
)
from dialogs.engine import DialogEngine
from dialogs.reply import Button, Reply

__all__ = ["DialogEngine", "Reply", "Button"]
