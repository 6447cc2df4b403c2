"""The security suite reuses the channel and dialog fixtures: the real NLU over a seeded demo database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import select

from crm_store.models import Customer, CustomerShare, Staff, Visit
from crmbot.wiring import Runtime, bind_console
from dialogs import DialogEngine
from tests.bot.conftest import *  # noqa: F403  (runtime, dialogs, fake_api, fresh_api; the rest is in tests/conftest.py)
from tests.conftest import DEMO_NOW
from tests.crm_store.conftest import demo_session, org  # noqa: F401  (service tests on both backends)
from tests.crm_store.helpers import table_counts

STAFF = ("赵建国", "陈静", "张伟", "李娜", "王强", "周芳", "管理员")


@pytest.fixture
def staff_dialogs(runtime: Runtime, dialogs: DialogEngine) -> DialogEngine:
    """The dialogs with every demo staff member bound on the console under their own name."""
    for name in STAFF:
        bind_console(runtime, name, DEMO_NOW)
    return dialogs


def say(dialogs: DialogEngine, who: str, text: str, message_id: str | None = None,
        now: datetime | None = None) -> str:
    return "\n".join(r.text for r in dialogs.handle("console", who, text, message_id=message_id, now=now))


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.factory() as session:
        return table_counts(session)


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


@dataclass(frozen=True)
class Hidden:
    """A customer one rep owns and another must not see: what must never reach the other rep."""

    id: int
    name: str
    aliases: tuple[str, ...]
    secrets: tuple[str, ...]  # contact names and phone numbers, visit summaries


def foreign_customer(runtime: Runtime, reader: str, owner: str) -> Hidden:
    """A customer of `owner` not shared with `reader`, having contacts."""
    with runtime.factory() as session:
        reader_id = session.scalar(select(Staff.id).where(Staff.name == reader))
        owner_id = session.scalar(select(Staff.id).where(Staff.name == owner))
        shared = select(CustomerShare.customer_id).where(CustomerShare.staff_id == reader_id)
        customers = session.scalars(
            select(Customer).where(Customer.owner_id == owner_id, Customer.id.not_in(shared)).order_by(Customer.id))
        for customer in customers:
            if not customer.contacts:
                continue
            secrets = [c.name for c in customer.contacts] + [c.phone for c in customer.contacts if c.phone]
            secrets += [v.summary[:12] for v in session.scalars(select(Visit).where(Visit.customer_id == customer.id))]
            return Hidden(customer.id, customer.name, tuple(a.alias for a in customer.aliases), tuple(secrets))
    raise AssertionError(f"no customer of {owner} hidden from {reader} in the demo data")
