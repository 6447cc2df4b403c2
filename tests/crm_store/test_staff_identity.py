from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store.errors import InvalidInput, NotFound, PermissionDenied
from crm_store.models import AuditLog, Staff
from crm_store.services import (
    actor_for_staff,
    bind_identity,
    find_staff,
    identity_for,
    list_staff,
)
from tests.crm_store.helpers import NOW, Org


def test_actor_and_staff_lookup(session: Session, org: Org) -> None:
    assert org.rep_a.role == "rep" and org.rep_a.team == "一组" and org.rep_a.via_channel == "console"
    assert org.clerk.store == "南京西路店"
    staff = find_staff(session, "张三")
    assert staff is not None and staff.id == org.rep_a.staff_id
    assert find_staff(session, "张") is None
    assert [s.name for s in list_staff(session, role="rep")] == ["张三", "李四", "王五"]
    assert len(list_staff(session)) == 8
    with pytest.raises(NotFound):
        actor_for_staff(session, 9999)
    leaver = session.get(Staff, org.rep_b.staff_id)
    assert leaver is not None
    leaver.active = False
    session.commit()
    with pytest.raises(PermissionDenied):
        actor_for_staff(session, org.rep_b.staff_id)
    assert find_staff(session, "李四") is not None  # inactive staff are still found by name


def test_bind_and_rebind_identity(session: Session, org: Org) -> None:
    identity = bind_identity(session, "telegram", "12345", staff_id=org.rep_a.staff_id, actor=org.admin, now=NOW)
    session.commit()
    assert identity_for(session, "telegram", "12345") == identity
    assert identity_for(session, "wechat", "12345") is None
    bind_identity(session, "telegram", "12345", staff_id=org.rep_b.staff_id, actor=org.admin, now=NOW)
    session.commit()
    rows = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert [r.action for r in rows] == ["identity.bind", "identity.rebind"]
    assert rows[1].before is not None and rows[1].before["staff_id"] == org.rep_a.staff_id
    assert rows[1].after is not None and rows[1].after["staff_id"] == org.rep_b.staff_id


def test_bind_identity_rules(session: Session, org: Org) -> None:
    with pytest.raises(InvalidInput):
        bind_identity(session, "telegram", "1", now=NOW)
    # Channels are plug-ins (bot/channels): any well-formed name binds, a malformed one does not.
    for bad in ("", "QQ", "q", "qq!", "x" * 21, "1abc"):
        with pytest.raises(InvalidInput):
            bind_identity(session, bad, "1", staff_id=org.rep_a.staff_id, now=NOW)
    with pytest.raises(PermissionDenied):
        bind_identity(session, "telegram", "1", staff_id=org.rep_b.staff_id, actor=org.rep_a, now=NOW)
    with pytest.raises(NotFound):
        bind_identity(session, "telegram", "1", staff_id=9999, now=NOW)
    assert session.scalar(select(AuditLog)) is None
    bind_identity(session, "wecom", "u1", staff_id=org.rep_a.staff_id, now=NOW)  # system (binding code)
    bind_identity(session, "wechat", "o1", staff_id=org.rep_a.staff_id, actor=org.rep_a, now=NOW)
