"""Binding services on both backends: invite codes, member binding, limits, audit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_store.errors import AlreadyDecided, InvalidInput, PermissionDenied, RateLimited
from crm_store.models import AuditLog, BindingCode, ChatIdentity, Member, SecurityEvent
from crm_store.services import binding, identity_for
from tests.crm_store.helpers import NOW, Org


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def member(session: Session) -> Member:
    row = Member(member_no="VIP0023", name="林晓", phone="13812345678", joined_at=date(2025, 1, 1))
    session.add(row)
    session.commit()
    return row


def test_invite_code_shape_and_one_time_use(session: Session, org: Org) -> None:
    row = binding.create_invite(session, org.rep_a.staff_id, actor=None, now=NOW)
    session.commit()
    assert len(row.code) == binding.CODE_LENGTH
    assert set(row.code) <= set(binding.CODE_ALPHABET) and not set(row.code) & set("IO01L")
    assert row.expires_at == NOW + timedelta(days=7)
    # Lower case and spaces are forgiven: people type codes on phones.
    typed = " ".join([row.code[:4].lower(), row.code[4:]])
    identity = binding.redeem_code(session, "telegram", "1001", typed, now=NOW, message_id="m1")
    session.commit()
    assert identity.staff_id == org.rep_a.staff_id
    with pytest.raises(AlreadyDecided):
        binding.redeem_code(session, "wechat", "o-other", row.code, now=NOW)
    bind_rows = session.scalars(select(AuditLog).where(AuditLog.action == "identity.bind")).all()
    assert [(a.actor_staff_id, a.via_channel, a.via_message) for a in bind_rows] == [
        (org.rep_a.staff_id, "telegram", "m1")
    ]
    assert row.code not in str(session.scalars(select(AuditLog.after)).all())


def test_expired_and_wrong_codes_are_refused(session: Session, org: Org) -> None:
    row = binding.create_invite(session, org.rep_b.staff_id, actor=None, now=NOW)
    session.commit()
    with pytest.raises(InvalidInput, match="过期"):
        binding.redeem_code(session, "wechat", "o1", row.code, now=NOW + timedelta(days=7, seconds=1))
    with pytest.raises(InvalidInput, match="邀请码不对"):
        binding.redeem_code(session, "wechat", "o1", "'; DROP TABLE staff;--", now=NOW)
    session.commit()
    assert identity_for(session, "wechat", "o1") is None
    assert _count(session, SecurityEvent) == 2


def test_only_admin_may_invite(session: Session, org: Org) -> None:
    with pytest.raises(PermissionDenied):
        binding.create_invite(session, org.rep_a.staff_id, actor=org.manager, now=NOW)
    assert binding.create_invite(session, org.rep_a.staff_id, actor=org.admin, now=NOW).created_by_id == (
        org.admin.staff_id
    )


def test_attempts_per_identity_are_limited(session: Session, org: Org) -> None:
    row = binding.create_invite(session, org.rep_a.staff_id, actor=None, now=NOW)
    for n in range(binding.MAX_FAILURES_PER_IDENTITY):
        with pytest.raises(InvalidInput):
            binding.redeem_code(session, "telegram", "42", f"WRONG{n}", now=NOW + timedelta(minutes=n))
    session.commit()
    # Even the right code is refused while the limit holds ...
    with pytest.raises(RateLimited):
        binding.redeem_code(session, "telegram", "42", row.code, now=NOW + timedelta(minutes=10))
    # ... and accepted once the hour has passed.
    later = NOW + timedelta(minutes=4, hours=1, seconds=1)
    assert binding.redeem_code(session, "telegram", "42", row.code, now=later).staff_id == org.rep_a.staff_id


def test_member_binding_reveals_nothing(session: Session, org: Org, member: Member) -> None:
    wrong_digits = pytest.raises(InvalidInput)
    with wrong_digits as first:
        binding.bind_member(session, "wechat", "o-m", "VIP0023", "0000", now=NOW)
    with pytest.raises(InvalidInput) as second:
        binding.bind_member(session, "wechat", "o-m", "VIP9999", "5678", now=NOW)
    assert first.value.message == second.value.message
    identity = binding.bind_member(session, "wechat", "o-m", "vip0023", "5678", now=NOW, message_id="w1")
    session.commit()
    assert identity.member_id == member.id
    audit_row = session.scalars(select(AuditLog).where(AuditLog.action == "identity.bind")).one()
    assert audit_row.actor_member_id == member.id


def test_strangers_guessing_cannot_lock_the_member_out(session: Session, org: Org, member: Member) -> None:
    """The limit is per sender: many accounts guessing one member's digits are each limited, and the real
    member, writing from their own account, still binds (the failures are recorded for review)."""
    for n in range(12):
        with pytest.raises(InvalidInput):
            binding.bind_member(session, "wechat", f"attacker{n}", "VIP0023", f"{n:04d}", now=NOW)
    for n in range(binding.MAX_FAILURES_PER_IDENTITY):
        with pytest.raises(InvalidInput):
            binding.bind_member(session, "wechat", "attacker-x", "VIP0023", f"{n + 100:04d}", now=NOW)
    with pytest.raises(RateLimited):
        binding.bind_member(session, "wechat", "attacker-x", "VIP0023", "5678", now=NOW)
    identity = binding.bind_member(session, "wechat", "o-real-member", "VIP0023", "5678", now=NOW)
    assert identity.member_id == member.id
    subjects = set(session.scalars(select(SecurityEvent.subject).where(SecurityEvent.kind == binding.FAILED_KIND)))
    assert "member:VIP0023" in subjects


def test_unbind_and_rebind_are_audited(session: Session, org: Org, member: Member) -> None:
    first = binding.create_invite(session, org.rep_a.staff_id, actor=None, now=NOW)
    binding.redeem_code(session, "wecom", "zhangsan", first.code, now=NOW)
    with pytest.raises(InvalidInput, match="已经绑定"):
        binding.bind_member(session, "wecom", "zhangsan", "VIP0023", "5678", now=NOW)
    with pytest.raises(PermissionDenied):
        binding.unbind(session, "wecom", "zhangsan", actor=org.rep_b, now=NOW)
    binding.unbind(session, "wecom", "zhangsan", actor=org.rep_a, now=NOW)
    second = binding.create_invite(session, org.rep_b.staff_id, actor=None, now=NOW)
    binding.redeem_code(session, "wecom", "zhangsan", second.code, now=NOW + timedelta(minutes=1))
    session.commit()
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["binding_code.create", "identity.bind", "identity.unbind", "binding_code.create",
                       "identity.bind"]
    assert identity_for(session, "wecom", "zhangsan").staff_id == org.rep_b.staff_id
    assert _count(session, ChatIdentity) == 1 and _count(session, BindingCode) == 2
