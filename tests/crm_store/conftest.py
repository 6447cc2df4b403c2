"""Fixtures for the service tests: a small organization and a demo-seeded database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from crm_store.models import Staff
from crm_store.services import Actor, actor_for_staff
from tests.crm_store.helpers import Org


@pytest.fixture
def org(session: Session) -> Org:
    def staff(name: str, role: str, manager: Staff | None = None, **kw: object) -> Staff:
        row = Staff(name=name, role=role, manager_id=manager.id if manager else None, **kw)
        session.add(row)
        session.flush()
        return row

    director = staff("赵总监", "director")
    manager = staff("陈经理", "manager", director, team="一组")
    other_manager = staff("孙经理", "manager", director, team="二组")
    rep_a = staff("张三", "rep", manager, team="一组")
    rep_b = staff("李四", "rep", manager, team="一组")
    rep_c = staff("王五", "rep", other_manager, team="二组")
    clerk = staff("周店员", "clerk", store="南京西路店")
    admin = staff("管理员", "admin")
    session.commit()

    def actor(row: Staff) -> Actor:
        return actor_for_staff(session, row.id, via_channel="console", via_message=f"msg-{row.id}")

    return Org(
        director=actor(director), manager=actor(manager), other_manager=actor(other_manager),
        rep_a=actor(rep_a), rep_b=actor(rep_b), rep_c=actor(rep_c), clerk=actor(clerk), admin=actor(admin),
    )


@pytest.fixture
def demo_session(demo_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session on a database filled by seed_demo(now=NOW) (the demo_factory fixture)."""
    with demo_factory() as session:
        yield session
