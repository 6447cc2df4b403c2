"""The console channel: lines from stdin, replies to stdout. Same dialogs as the chat apps."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TextIO

from dialogs import DialogEngine, Reply

CHANNEL = "console"
PROMPT = "你> "
BANNER = "销售助手（控制台）— 当前身份：{name}。直接输入中文，Ctrl-D 退出，输入「帮助」看例子。"


def render(reply: Reply, recipient: Callable[[Reply], str] | None = None) -> str:
    """A reply as console text; a notice for someone else is marked with who gets it (`recipient` names
    them, else their staff / member number)."""
    text = reply.text
    if reply.buttons:
        text += "\n" + "  ".join(f"[{b.label}]" for b in reply.buttons)
    if reply.image_path:
        text += f"\n（图片：{reply.image_path}）"
    if reply.file_path:
        text += f"\n（文件：{reply.file_path}）"
    if reply.to_staff_id is not None or reply.to_member_id is not None:
        who = recipient(reply) if recipient else None
        who = who or (f"员工#{reply.to_staff_id}" if reply.to_staff_id is not None else f"会员#{reply.to_member_id}")
        text = f"[通知 → {who}] {text}"
    return text


def run(
    engine: DialogEngine,
    identity: str,
    lines: Iterable[str],
    out: TextIO = sys.stdout,
    *,
    interactive: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> int:
    """Feed each line to the dialogs and print the replies; returns how many messages were handled."""
    handled = 0
    recipient = _recipient_names(engine)
    if interactive:
        out.write(PROMPT)
        out.flush()
    for line in lines:
        text = line.rstrip("\n")
        if text.strip():
            for reply in engine.handle(CHANNEL, identity, text, now=clock() if clock else None):
                out.write(("助手> " if interactive else "") + render(reply, recipient) + "\n")
            handled += 1
        if interactive:
            out.write(PROMPT)
        out.flush()
    return handled


def _recipient_names(engine: DialogEngine) -> Callable[[Reply], str]:
    """The name of a notice's recipient (陈静, 会员 王小丽), read once per person."""
    from crm_store.models import Member, Staff

    known: dict[tuple[str, int], str] = {}

    def name(reply: Reply) -> str:
        key = ("staff", reply.to_staff_id) if reply.to_staff_id is not None else ("member", reply.to_member_id or 0)
        if key not in known:
            with engine.factory() as session:
                row = session.get(Staff if key[0] == "staff" else Member, key[1])
                known[key] = "" if row is None else row.name if key[0] == "staff" else f"会员 {row.name}"
        return known[key]

    return name


class ConsoleSender:
    """Outbox messages to console identities (the demo's local users) are printed."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out

    def send(self, external_id: str, reply: Reply, options: dict | None = None) -> None:
        out = self.out or sys.stdout
        out.write(f"[→ {external_id}] {render(reply)}\n")
        out.flush()
