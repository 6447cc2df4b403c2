"""greet, help, out_of_scope, and yes/no said when nothing was asked."""

from __future__ import annotations

from dialogs import messages as DM
from dialogs.base import Turn
from dialogs.reply import Reply


def examples_for(role: str) -> list[str]:
    return DM.HELP_EXAMPLES.get(role, DM.HELP_EXAMPLES["rep"])


def answer(turn: Turn) -> list[Reply] | None:
    """A reply for conversational intents, or None when the message is a job."""
    intent = turn.intent
    name = turn.actor.name
    if intent == "greet":
        return [Reply(DM.GREET.format(name=name))]
    if intent == "help":
        lines = [DM.HELP_HEADER.format(name=name), *(f"· {example}" for example in examples_for(turn.actor.role))]
        return [Reply("\n".join(lines))]
    if intent == "out_of_scope":
        first, second = examples_for(turn.actor.role)[:2]
        return [Reply(DM.OUT_OF_SCOPE.format(first=first, second=second))]
    if intent in ("affirm", "deny"):
        return [Reply(DM.NOTHING_ASKED)]
    return None
