"""Fixtures for scheduler tests: a tiny company with bound chat accounts, a fake clock, fake senders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from crm_store.models import ChatIdentity, Contact, Customer, CustomerAlias, Member, Staff, Visit
from crmbot.config import Config
from dialogs.reply import Reply
from scheduler.clock import FakeClock
from scheduler.notifier import Notifier

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)


class FakeSender:
    """Records what it sends; fails the next `fail_times` sends (or always, with fail_times=-1)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent: list[tuple[str, Reply]] = []
        self.fail_times = 0
        self.calls = 0

    def send(self, external_id: str, reply: Reply, options: dict | None = None) -> None:
        self.calls += 1
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("channel down")
        self.sent.append((external_id, reply))


@dataclass
class World:
    rep: Staff
    manager: Staff
    customer: Customer
    contact: Contact
    member: Member
    other_member: Member
    extra: dict = field(default_factory=dict)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config.model_validate({"scheduler": {"max_attempts": 3, "retry_base_seconds": 60,
                                                "claim_timeout_seconds": 300, "batch_size": 20},
                                  "data_dir": str(tmp_path / "var")})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def world(session: Session) -> World:
    utc_now = NOW.astimezone(UTC)
    manager = Staff(name="陈经理", role="manager", team="一组", created_at=utc_now)
    session.add(manager)
    session.flush()
    rep = Staff(name="张三", role="rep", team="一组", manager_id=manager.id, created_at=utc_now)
    session.add(rep)
    session.flush()
    customer = Customer(name="华为技术有限公司", owner_id=rep.id, lifecycle="prospect",
                        created_at=utc_now - timedelta(days=90), updated_at=utc_now - timedelta(days=90),
                        last_contact_at=NOW - timedelta(days=7))
    customer.aliases = [CustomerAlias(alias="华为")]
    session.add(customer)
    session.flush()
    contact = Contact(customer_id=customer.id, name="张总", title="总经理", created_at=utc_now)
    session.add(contact)
    session.flush()
    session.add(Visit(customer_id=customer.id, contact_id=contact.id, staff_id=rep.id,
                      visited_at=NOW - timedelta(days=7), summary="聊了门禁系统升级，客户要报价",
                      created_at=NOW - timedelta(days=7)))
    member = Member(member_no="VIP0001", name="王女士", tier="金卡", points=500, joined_at=date(2024, 1, 1),
                    expires_at=date(2026, 12, 27), birthday=date(1990, 11, 27), created_at=utc_now)
    other = Member(member_no="VIP0002", name="李先生", joined_at=date(2024, 1, 1), created_at=utc_now)
    session.add_all([member, other])
    session.flush()
    session.add_all([
        ChatIdentity(channel="console", external_id="张三", staff_id=rep.id, bound_at=utc_now - timedelta(days=3)),
        ChatIdentity(channel="telegram", external_id="tg-rep", staff_id=rep.id, bound_at=utc_now - timedelta(days=2)),
        ChatIdentity(channel="telegram", external_id="tg-mgr", staff_id=manager.id, bound_at=utc_now),
        ChatIdentity(channel="wechat", external_id="wx-member", member_id=member.id, bound_at=utc_now),
    ])
    session.commit()
    return World(rep=rep, manager=manager, customer=customer, contact=contact, member=member, other_member=other)


@pytest.fixture
def senders() -> dict[str, FakeSender]:
    return {"telegram": FakeSender("telegram"), "wechat": FakeSender("wechat")}


@pytest.fixture
def notifier(factory: sessionmaker[Session], senders: dict[str, FakeSender], config: Config,
             clock: FakeClock) -> Notifier:
    return Notifier(factory, senders, config.scheduler, config.tz, clock=clock, worker_id="worker-1",
                    monotonic=clock.monotonic, sleep=clock.sleep)
