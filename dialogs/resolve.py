"""Turning names people type into records, asking them to pick when several match."""

from __future__ import annotations

import re
from typing import Any

from crm_store import services
from dialogs import entities as ent
from dialogs import messages as msg
from dialogs.base import Slots, Turn

PICK = "_pick"
_CHINESE_ORDINALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_PICK_PATTERN = re.compile(r"^\s*(?:第)?\s*(\d{1,2}|[一二两三四五六七八九十])\s*(?:个|号|项|条|家)?\s*[。.!！]?\s*$")


def customer_option(customer: Any) -> dict[str, Any]:
    owner = customer.owner.name if customer.owner else ""
    return {"id": customer.id, "name": customer.name, "detail": f"负责人{owner}" if owner else ""}


def resolve_customer(turn: Turn, slots: Slots, name: str) -> None:
    """Fill slots['customer'] from a typed name: one match, an ask-to-pick, or 'unknown'."""
    name = name.strip()
    found = services.find_customers(turn.session, turn.actor, name)
    slots.pop("customer_unknown", None)
    if len(found) == 1:
        slots["customer"] = customer_option(found[0])
    elif not found:
        slots["customer"] = None
        slots["customer_unknown"] = name
    else:
        slots["customer"] = None
        slots[PICK] = {"slot": "customer", "query": name, "options": [customer_option(c) for c in found]}


def customer_from_message(turn: Turn, slots: Slots, awaiting: str | None) -> None:
    """Take the customer entity, or, when we asked for the customer, the whole answer as the name."""
    name = ent.text_of(turn.parse, "customer")
    if name is None and awaiting == "customer":
        name = turn.text.strip()
    if name:
        resolve_customer(turn, slots, name)


def customer_question(slots: Slots, ask: str = msg.ASK_CUSTOMER) -> str:
    """Ask for the customer again, saying so when the name given last matched nothing."""
    unknown = slots.get("customer_unknown")
    return msg.CUSTOMER_NOT_FOUND.format(name=unknown) if unknown else ask


def pick_prompt(slots: Slots) -> str:
    pick = slots[PICK]
    lines = [
        f"{i}. {option['name']}" + (f"（{option['detail']}）" if option.get("detail") else "")
        for i, option in enumerate(pick["options"], start=1)
    ]
    return msg.PICK_PROMPT.format(count=len(lines), query=pick["query"], options="\n".join(lines))


def apply_pick(text: str, slots: Slots) -> bool:
    """Read a list choice (2, 第二个, or an option's exact name); True when one was chosen."""
    pick = slots[PICK]
    options = pick["options"]
    choice: int | None = None
    match = _PICK_PATTERN.match(text)
    if match:
        token = match.group(1)
        choice = int(token) if token.isdigit() else _CHINESE_ORDINALS[token]
    else:
        named = [i for i, option in enumerate(options, start=1) if option["name"] == text.strip()]
        choice = named[0] if named else None
    if choice is None or not 1 <= choice <= len(options):
        return False
    slots[pick["slot"]] = options[choice - 1]
    slots.pop(PICK)
    if pick["slot"] == "customer":
        slots.pop("customer_unknown", None)
    return True
