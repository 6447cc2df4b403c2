"""Binding-code and member-number guessing is limited per chat account and per member number."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import InvalidInput
from crm_store.models import ChatIdentity, Member, SecurityEvent, Staff
from crm_store.services import binding
from crmbot.wiring import Runtime
from dialogs import DialogEngine
from tests.bot.conftest import invite
from tests.crm_store.helpers import NOW
from tests.security.conftest import DEMO_NOW, say


def _bound(runtime: Runtime, external_id: str) -> bool:
    with runtime.factory() as session:
        return session.scalar(select(ChatIdentity.id).where(ChatIdentity.external_id == external_id)) is not None


def test_code_guessing_locks_the_account_even_for_the_right_code(dialogs: DialogEngine, runtime: Runtime) -> None:
    code = invite(runtime, "张伟")
    guesses = [f"绑定 {g}" for g in ("AAAA2222", "BBBB3333", "CCCC4444", "DDDD5555", "EEEE6666")]
    for number, text in enumerate(guesses):
        assert say(dialogs, "guesser", text, message_id=f"g{number}") == SM.BIND_CODE_INVALID
    # The sixth try is refused whatever it is: the right code does not get through.
    assert say(dialogs, "guesser", f"绑定 {code}", message_id="g-right") == SM.BIND_TOO_MANY
    assert not _bound(runtime, "guesser")
    # An hour later the account may try again; the code still works once.
    later = DEMO_NOW + binding.FAILURE_WINDOW + timedelta(minutes=1)
    assert "绑定成功" in say(dialogs, "guesser", f"绑定 {code}", message_id="g-later", now=later)
    assert say(dialogs, "other", f"绑定 {code}", message_id="g-reuse", now=later) == SM.BIND_CODE_USED


def test_member_digits_guessing_is_limited_per_sender_not_per_member(demo_session: Session) -> None:
    member = demo_session.scalar(select(Member).where(Member.phone.is_not(None)).order_by(Member.id).limit(1))
    assert member is not None and member.phone
    wrong = [f"{n:04d}" for n in range(10000) if f"{n:04d}" != member.phone[-4:]]
    # Many chat accounts, two tries each: every failure is recorded against the member number too …
    attempts = 0
    for account in range(10):
        for _ in range(2):
            with pytest.raises(InvalidInput):
                binding.bind_member(demo_session, "wechat", f"o-bot{account}", member.member_no, wrong[attempts],
                                    now=NOW)
            attempts += 1
    kinds = demo_session.scalars(select(SecurityEvent.subject).where(SecurityEvent.kind == binding.FAILED_KIND))
    assert f"member:{member.member_no}" in set(kinds)
    # … but strangers cannot lock the real member out: their own account still binds.
    binding.bind_member(demo_session, "wechat", "o-the-member", member.member_no, member.phone[-4:], now=NOW)
    assert demo_session.scalar(select(func.count()).select_from(ChatIdentity)
                               .where(ChatIdentity.member_id == member.id)) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_wrong_codes_from_one_account_respect_the_limit(backend: str, demo_runtime_for: Any) -> None:
    """30 wrong codes from one OpenID at once: the count-and-check is atomic, so at most 5 are checked."""
    from concurrent.futures import ThreadPoolExecutor

    from crm_store.db import transaction
    from crm_store.errors import CRMError

    runtime = demo_runtime_for(backend)
    barrier = threading.Barrier(10)

    def guess(n: int) -> str:
        barrier.wait(10) if n < 10 else None
        try:
            with transaction(runtime.factory) as session:
                try:
                    binding.redeem_code(session, "wechat", "o-guesser", f"WRONG{n:03d}", now=NOW)
                except CRMError as error:  # the failure row commits, as the dialogs commit it
                    return type(error).__name__
            return "bound"
        except Exception as exc:  # a database error under contention counts as "not checked"
            return f"error:{type(exc).__name__}"

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(guess, range(30)))
    with runtime.factory() as session:
        checked = session.scalar(select(func.count()).select_from(SecurityEvent).where(
            SecurityEvent.subject == "wechat:o-guesser"))
    assert checked == binding.MAX_FAILURES_PER_IDENTITY, outcomes
    assert outcomes.count("RateLimited") == 30 - binding.MAX_FAILURES_PER_IDENTITY


def test_invite_codes_are_admin_only_and_unguessable(demo_session: Session) -> None:
    from crm_store.errors import PermissionDenied
    from crm_store.services import actor_for_staff

    rep_id = demo_session.scalar(select(Staff.id).where(Staff.name == "张伟"))
    manager_id = demo_session.scalar(select(Staff.id).where(Staff.name == "陈静"))
    with pytest.raises(PermissionDenied):
        binding.create_invite(demo_session, manager_id, actor=actor_for_staff(demo_session, rep_id), now=NOW)
    codes = {binding.create_invite(demo_session, rep_id, actor=None, now=NOW).code for _ in range(50)}
    assert len(codes) == 50
    assert all(len(c) == binding.CODE_LENGTH and set(c) <= set(binding.CODE_ALPHABET) for c in codes)
    # 31^8 ≈ 8.5e11 codes against 5 guesses per account per hour.
    assert len(binding.CODE_ALPHABET) ** binding.CODE_LENGTH > 10**11
