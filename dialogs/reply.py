"""What a dialog answers: channel-neutral; each adapter renders it its own way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    label: str
    # The text the channel sends back as if the user typed it (so every channel works with plain text too).
    reply_text: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    image_path: str | None = None
    # A document to deliver with the text (an Excel export); channels that cannot send files say so.
    file_path: str | None = None
    # Who the message is for when it is not the sender (e.g. the approver of a new order): a staff id.
    to_staff_id: int | None = None
    to_member_id: int | None = None
    # What a notice is about ("order:12"): undoing that withdraws the notice while it is unsent.
    topic: str | None = None
    # Whom to tell when the recipient has no chat account yet (an order's submitter): a staff id.
    tell_if_unreachable: int | None = None

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "buttons": [[b.label, b.reply_text] for b in self.buttons],
            "image_path": self.image_path,
            "file_path": self.file_path,
            "to_staff_id": self.to_staff_id,
            "to_member_id": self.to_member_id,
            "topic": self.topic,
            "tell_if_unreachable": self.tell_if_unreachable,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Reply:
        return cls(
            text=data["text"],
            buttons=tuple(Button(label, reply) for label, reply in data.get("buttons", [])),
            image_path=data.get("image_path"),
            file_path=data.get("file_path"),
            to_staff_id=data.get("to_staff_id"),
            to_member_id=data.get("to_member_id"),
            topic=data.get("topic"),
            tell_if_unreachable=data.get("tell_if_unreachable"),
        )


@dataclass(frozen=True)
class Outcome:
    """What one message produced: replies for the sender, and notices for other people (already queued in
    the outbox by the engine, in the same transaction as the change they announce)."""

    replies: list[Reply]
    notices: list[Reply] = field(default_factory=list)
    # The conversation state to persist (the engine saves it with the message's last statement).
    state: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def all(self) -> list[Reply]:
        return [*self.replies, *self.notices]
