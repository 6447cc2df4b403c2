"""Channel-neutral rendering helpers: which replies a channel sends, text fallbacks, splitting."""

from __future__ import annotations

from bot import messages as BM
from dialogs.reply import Reply


def as_plain_text(reply: Reply) -> str:
    """For channels without buttons: list what to type back (a button's reply_text works as text)."""
    text = reply.text
    if reply.buttons:
        options = " / ".join(f"「{b.reply_text}」" for b in reply.buttons)
        text += "\n" + BM.BUTTON_HINT.format(options=options)
    return text


def split_text(text: str, limit: int, *, measure=len) -> list[str]:  # type: ignore[no-untyped-def]
    """Split at line breaks where possible so no part is longer than `limit` (chars or bytes)."""
    if measure(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while measure(line) > limit:  # one very long line: hard cut at the longest prefix that fits
            low, high = 1, len(line)
            while low < high:
                middle = (low + high + 1) // 2
                low, high = (middle, high) if measure(line[:middle]) <= limit else (low, middle - 1)
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:low])
            line = line[low:]
        if measure(current + line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current:
        parts.append(current)
    return [p.rstrip("\n") or p for p in parts if p]


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))
