"""Telegram inline buttons: callback_data carries the button's reply_text (Telegram allows 64 bytes)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from dialogs.reply import Button

MAX_CALLBACK_BYTES = 64
_HASH_PREFIX = "#"
# Longer reply texts travel as a short id; the map lives in this process (the app and the notifier
# share it under `crmbot run`). A stale id after a restart gets a "please type it" answer.
_LONG: dict[str, str] = {}
_LONG_MAX = 10000


def encode(reply_text: str) -> str:
    if len(reply_text.encode("utf-8")) <= MAX_CALLBACK_BYTES and not reply_text.startswith(_HASH_PREFIX):
        return reply_text
    key = _HASH_PREFIX + hashlib.sha256(reply_text.encode("utf-8")).hexdigest()[:24]
    if len(_LONG) >= _LONG_MAX:
        _LONG.pop(next(iter(_LONG)))
    _LONG[key] = reply_text
    return key


def decode(data: str) -> str | None:
    """The text to feed the dialogs, or None when a long button's id is unknown here."""
    if data.startswith(_HASH_PREFIX):
        return _LONG.get(data)
    return data


def rows(buttons: Sequence[Button]) -> list[list[tuple[str, str]]]:
    """Up to 3 buttons per row: (label, callback_data)."""
    pairs = [(b.label, encode(b.reply_text)) for b in buttons]
    return [pairs[i : i + 3] for i in range(0, len(pairs), 3)]


def keyboard_json(buttons: Sequence[Button]) -> dict[str, Any] | None:
    if not buttons:
        return None
    return {"inline_keyboard": [[{"text": label, "callback_data": data} for label, data in row]
                                for row in rows(buttons)]}
