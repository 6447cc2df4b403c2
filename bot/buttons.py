"""Inline buttons: callback data carries the button's reply_text (Telegram allows 64 bytes). A longer
reply_text travels as a short key whose text is stored in the database, so a tap reaching another
process, or arriving after a restart, still works."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from dialogs.reply import Button

MAX_CALLBACK_BYTES = 64
KEY_PREFIX = "#"

Remember = Callable[[str, str], None]  # (key, text) -> stored
Recall = Callable[[str], "str | None"]


def encode(reply_text: str, remember: Remember) -> str:
    if len(reply_text.encode("utf-8")) <= MAX_CALLBACK_BYTES and not reply_text.startswith(KEY_PREFIX):
        return reply_text
    key = KEY_PREFIX + hashlib.sha256(reply_text.encode("utf-8")).hexdigest()[:32]
    remember(key, reply_text)
    return key


def decode(data: str, recall: Recall) -> str | None:
    """The text to feed the dialogs, or None when a long button's key is unknown."""
    if data.startswith(KEY_PREFIX):
        return recall(data)
    return data


def rows(buttons: Sequence[Button], remember: Remember) -> list[list[tuple[str, str]]]:
    """Up to 3 buttons per row: (label, callback_data)."""
    pairs = [(b.label, encode(b.reply_text, remember)) for b in buttons]
    return [pairs[i : i + 3] for i in range(0, len(pairs), 3)]
