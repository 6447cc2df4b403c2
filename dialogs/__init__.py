"""Conversations: one module per job; importing this package registers them all."""

from dialogs import customer, opportunity, reminder, visit  # noqa: F401  (registration)
from dialogs.engine import DialogEngine
from dialogs.reply import Button, Reply

__all__ = ["DialogEngine", "Reply", "Button"]
