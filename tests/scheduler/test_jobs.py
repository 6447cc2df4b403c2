"""Each scheduled scan enqueues the right messages at the right time, once; job triggers fire on time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from crm_store.db import transaction
from crm_store.models import ApprovalStep, AuditLog, Customer, Member, OutboxMessage, PointsLedger, Reminder
from crm_store.models import Order as SalesOrder
from crm_store.services import member_care, reminders_due
from scheduler import jobs
from tests.scheduler.conftest import NOW, TZ, World


def _outbox(factory: sessionmaker[Session], kind: str | None = None) -> list[OutboxMessage]:
    with factory() as s:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            stmt = stmt.where(OutboxMessage.kind == kind)
        return list(s.scalars(stmt))


def _reminder(factory, world: World, due: datetime, text: str = "送报价单", customer: bool = True) -> int:
    with transaction(factory) as s:
        row = Reminder(staff_id=world.rep.id, customer_id=world.customer.id if customer else None,
                       contact_id=world.contact.id if customer else None, due_at=due, text=text,
                       status="pending", created_at=NOW - timedelta(days=7))
        s.add(row)
        s.flush()
        return row.id


def test_due_reminder_fires_at_its_time_once(world: World, factory, config) -> None:
    rid = _reminder(factory, world, NOW + timedelta(minutes=30))
    jobs.run_named("due_reminders", config, factory, NOW + timedelta(minutes=29))
    assert _outbox(factory) == []
    jobs.run_named("due_reminders", config, factory, NOW + timedelta(minutes=30))
    jobs.run_named("due_reminders", config, factory, NOW + timedelta(minutes=31))  # rerun: nothing new
    [message] = _outbox(factory)
    assert message.idempotency_key == f"reminder:{rid}"
    assert message.recipient_staff_id == world.rep.id
    assert message.text.startswith("该跟进华为张总了：送报价单")
    assert "上次（11月20日）：聊了门禁系统升级" in message.text
    with factory() as s:
        assert s.get(Reminder, rid).status == "sent"
        assert s.scalar(select(AuditLog.action).where(AuditLog.entity_id == rid)) == "reminder.sent"


def test_reminder_from_a_logged_visit(world: World, factory, config) -> None:
    """log_visit's next step becomes a reminder; when due the rep reads the next step and the visit summary."""
    from crm_store.services import actor_for_staff, log_visit

    with transaction(factory) as s:
        actor = actor_for_staff(s, world.rep.id)
        log_visit(s, actor, world.customer.id, summary="演示了方案，张总很感兴趣", visited_at=NOW - timedelta(days=1),
                  contact_name="张总", next_step="下周三送报价", next_followup_at=NOW + timedelta(days=5), now=NOW)
    jobs.run_named("due_reminders", config, factory, NOW + timedelta(days=5))
    [message] = _outbox(factory)
    assert message.text == "该跟进华为张总了：下周三送报价\n上次（11月26日）：演示了方案，张总很感兴趣"


def test_reminders_missed_during_downtime_are_summarised(world: World, factory, config) -> None:
    grace = timedelta(minutes=config.scheduler.missed_grace_minutes)
    old = [_reminder(factory, world, NOW - timedelta(days=d), text=f"旧事{d}") for d in (1, 2, 3)]
    recent = _reminder(factory, world, NOW - grace + timedelta(minutes=5), text="刚到期")
    with transaction(factory) as s:
        result = reminders_due.send_due_reminders(s, NOW, tz=TZ, grace=grace)
    assert (result.sent, result.summarised, result.summaries) == (1, 3, 1)
    with transaction(factory) as s:  # started again: nothing twice
        again = reminders_due.send_due_reminders(s, NOW + timedelta(minutes=1), tz=TZ, grace=grace)
    assert (again.sent, again.summarised) == (0, 0)
    messages = _outbox(factory)
    assert [m.kind for m in messages] == ["reminder", "reminder_summary"]
    assert messages[0].idempotency_key == f"reminder:{recent}"
    summary = messages[1]
    assert "3条提醒已过期" in summary.text and all(f"旧事{d}" in summary.text for d in (1, 2, 3))
    assert sorted(summary.payload["reminder_ids"]) == sorted(old)


def test_reminder_without_customer(world: World, factory, config) -> None:
    _reminder(factory, world, NOW, text="交周报", customer=False)
    jobs.run_named("due_reminders", config, factory, NOW)
    assert _outbox(factory)[0].text == "提醒：交周报"


def test_morning_digest(world: World, factory, config) -> None:
    morning = NOW.replace(hour=8, minute=30)
    _reminder(factory, world, NOW.replace(hour=14), text="今天下午回访")
    _reminder(factory, world, NOW - timedelta(days=2), text="前天该做的")
    _reminder(factory, world, NOW + timedelta(days=1), text="明天的")
    jobs.run_named("digest", config, factory, morning)
    jobs.run_named("digest", config, factory, morning + timedelta(hours=1))
    [digest] = _outbox(factory, "digest")
    assert digest.idempotency_key == f"digest:{world.rep.id}:2026-11-27"
    assert "今天1项" in digest.text and "14:00 今天下午回访" in digest.text
    assert "已逾期1项" in digest.text and "前天该做的" in digest.text
    assert "明天的" not in digest.text
    jobs.run_named("digest", config, factory, morning + timedelta(days=1))  # next day: a new digest
    assert len(_outbox(factory, "digest")) == 2


def test_dormant_customers(world: World, factory, config) -> None:
    days = config.rules.reminders.dormant_after_days
    with transaction(factory) as s:
        quiet = Customer(name="长城汽车", owner_id=world.rep.id, lifecycle="customer",
                         last_contact_at=NOW - timedelta(days=days, minutes=1), created_at=NOW.astimezone(UTC))
        never = Customer(name="从未联系", owner_id=world.rep.id, lifecycle="target", last_contact_at=None,
                         created_at=(NOW - timedelta(days=365)).astimezone(UTC))
        s.add_all([quiet, never])
        s.flush()
        quiet_id, never_id = quiet.id, never.id
    jobs.run_named("dormant", config, factory, NOW)
    jobs.run_named("dormant", config, factory, NOW + timedelta(days=1))
    [alert] = _outbox(factory, "dormant")
    assert alert.recipient_staff_id == world.rep.id
    assert alert.text.startswith("长城汽车已经30天没有联系了，已标记为休眠")
    with factory() as s:
        assert s.get(Customer, quiet_id).lifecycle == "dormant"
        assert s.get(Customer, never_id).lifecycle == "target"
        assert s.get(Customer, world.customer.id).lifecycle == "prospect"  # contacted 7 days ago
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "customer.dormant"))
        assert audit.entity_id == quiet_id and audit.before == {"lifecycle": "customer"}


def test_membership_expiry_care_30_7_1_days(world: World, factory, config) -> None:
    with transaction(factory) as s:
        for i, days in enumerate((30, 7, 1, 5)):
            s.add(Member(member_no=f"E{i}", name=f"会员{i}", tier="银卡", joined_at=date(2025, 1, 1),
                         expires_at=NOW.date() + timedelta(days=days)))
        s.add(Member(member_no="OPT", name="退订者", joined_at=date(2025, 1, 1), opted_out=True,
                     expires_at=NOW.date() + timedelta(days=7)))
        # world.member expires on 2026-12-27, i.e. in 30 days too
    jobs.run_named("member_care", config, factory, NOW)
    jobs.run_named("member_care", config, factory, NOW + timedelta(hours=2))  # rerun adds nothing
    keys = sorted(m.idempotency_key for m in _outbox(factory, "care_expiry"))
    with factory() as s:
        ids = {m.member_no: m.id for m in s.scalars(select(Member))}
    assert keys == sorted([
        f"expiry:member {ids['E0']}:2026-12-27:30d",
        f"expiry:member {ids['VIP0001']}:2026-12-27:30d",
        f"expiry:member {ids['E1']}:2026-12-04:7d",
        f"expiry:member {ids['E2']}:2026-11-28:1d",
    ])
    one_day = next(m for m in _outbox(factory, "care_expiry") if m.idempotency_key.endswith(":1d"))
    assert one_day.recipient_member_id == ids["E2"]
    assert "会员2" in one_day.text and "还有1天" in one_day.text and "2026年11月28日" in one_day.text


def test_birthday_and_points_care(world: World, factory, config) -> None:
    with transaction(factory) as s:
        s.add(PointsLedger(member_id=world.member.id, delta=300, reason="earn", expires_on=date(2026, 12, 31)))
        s.add(PointsLedger(member_id=world.member.id, delta=200, reason="earn", expires_on=date(2027, 12, 31)))
        s.add(Member(member_no="LEAP", name="闰日", joined_at=date(2020, 1, 1), birthday=date(2000, 2, 29)))
    with transaction(factory) as s:
        assert member_care.birthday_care(s, NOW, rules=config.rules, tz=config.tz) == 1
        assert member_care.points_expiry_care(s, NOW, rules=config.rules, tz=config.tz) == 0  # 34 days away
        assert member_care.points_expiry_care(s, NOW + timedelta(days=4), rules=config.rules, tz=config.tz) == 1  # 30-day notice
        assert member_care.points_expiry_care(s, NOW + timedelta(days=5), rules=config.rules, tz=config.tz) == 0
        assert member_care.points_expiry_care(s, NOW + timedelta(days=27), rules=config.rules, tz=config.tz) == 1  # 7-day notice
        # 29 February birthdays are celebrated on 28 February in common years.
        assert member_care.birthday_care(s, datetime(2027, 2, 28, 10, tzinfo=TZ), rules=config.rules, tz=config.tz) == 1
    birthday = _outbox(factory, "care_birthday")[0]
    assert birthday.idempotency_key == f"birthday:member {world.member.id}:2026"
    assert "王女士" in birthday.text
    points = _outbox(factory, "care_points")
    assert [p.idempotency_key.rsplit(":", 1)[1] for p in points] == ["30d", "7d"]
    assert "300积分" in points[0].text and "2026年12月31日" in points[0].text


def test_first_seen_close_to_expiry_gets_only_the_nearest_notice(world: World, factory, config) -> None:
    with transaction(factory) as s:
        s.add(PointsLedger(member_id=world.member.id, delta=300, reason="earn", expires_on=NOW.date() + timedelta(days=3)))
    with transaction(factory) as s:
        assert member_care.points_expiry_care(s, NOW, rules=config.rules, tz=config.tz) == 1
    assert _outbox(factory, "care_points")[0].idempotency_key.endswith(":7d")


def test_triggers_fire_at_configured_local_times(config) -> None:
    triggers = jobs.triggers(config)
    assert set(triggers) == set(jobs.JOBS)
    after = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)  # a Friday

    def next_fire(name: str) -> datetime:
        return triggers[name].get_next_fire_time(None, after)

    assert next_fire("digest") == datetime(2026, 11, 28, 8, 30, tzinfo=TZ)
    assert next_fire("dormant") == datetime(2026, 11, 27, 9, 0, tzinfo=TZ)
    assert next_fire("member_care") == datetime(2026, 11, 27, 10, 0, tzinfo=TZ)
    assert next_fire("weekly_report") == datetime(2026, 11, 30, 8, 30, tzinfo=TZ)  # Monday
    every = timedelta(seconds=config.scheduler.reminder_scan_seconds)
    assert triggers["due_reminders"].get_next_fire_time(after - every, after) == after


def _order_waiting(factory: sessionmaker[Session], world: World, hours: int) -> tuple[int, int]:
    """A pending order whose manager step has waited `hours` + 1 hours; (order id, step id)."""
    with transaction(factory) as s:
        order = SalesOrder(number="SO20261126001", customer_id=world.customer.id, submitter_id=world.rep.id,
                           total=Decimal("50000"), status="pending", submitted_at=NOW - timedelta(hours=hours + 1))
        s.add(order)
        s.flush()
        step = ApprovalStep(order_id=order.id, step_no=1, role="manager", approver_id=world.manager.id,
                            status="pending", pending_since=NOW - timedelta(hours=hours + 1))
        s.add(step)
        s.flush()
        return order.id, step.id


def test_approval_escalation(world: World, factory, config) -> None:
    hours = config.rules.approvals.escalate_after_hours
    _, step_id = _order_waiting(factory, world, hours)
    jobs.run_named("escalation", config, factory, NOW - timedelta(hours=2))  # not waited long enough
    assert _outbox(factory) == []
    jobs.run_named("escalation", config, factory, NOW)
    jobs.run_named("escalation", config, factory, NOW + timedelta(minutes=15))
    [remind] = _outbox(factory)
    assert remind.idempotency_key == f"approval:{step_id}:remind"
    assert remind.recipient_staff_id == world.manager.id and "SO20261126001" in remind.text
    jobs.run_named("escalation", config, factory, NOW + timedelta(hours=hours))
    assert [m.idempotency_key for m in _outbox(factory)][1] == f"approval:{step_id}:escalate"


def test_approval_reminder_is_withdrawn_when_the_order_is_undone(world: World, factory, config) -> None:
    """Issue 15: the rep undoes a submitted order; a reminder queued for its approver does not go out."""
    from types import SimpleNamespace

    from crm_store.services import orders

    hours = config.rules.approvals.escalate_after_hours
    order_id, _ = _order_waiting(factory, world, hours)
    jobs.run_named("escalation", config, factory, NOW)
    [remind] = _outbox(factory)
    assert remind.topic == f"order:{order_id}" and remind.status == "pending"
    with transaction(factory) as s:
        orders.undo_submit(s, SimpleNamespace(entity_id=order_id), NOW + timedelta(minutes=1))
    [withdrawn] = _outbox(factory)
    assert withdrawn.status == "withdrawn"
    with factory() as s:
        assert s.get(SalesOrder, order_id).status == "cancelled"
    jobs.run_named("escalation", config, factory, NOW + timedelta(hours=hours))  # nothing pending any more
    assert len(_outbox(factory)) == 1


def test_weekly_report_on_monday(world: World, factory, config, tmp_path) -> None:
    config.data_dir = str(tmp_path)
    monday = datetime(2026, 11, 30, 8, 30, tzinfo=TZ)
    jobs.run_named("weekly_report", config, factory, monday)
    jobs.run_named("weekly_report", config, factory, monday + timedelta(hours=1))
    [report] = _outbox(factory, "weekly_report")
    assert report.idempotency_key == f"weekly:{world.manager.id}:2026-W49"
    assert report.recipient_staff_id == world.manager.id and report.text


def test_housekeeping_deletes_handled_messages_after_the_kept_days(factory, config) -> None:
    """Every chat message leaves an inbox row and a processed mark; a daily job deletes those handled more
    than keep_handled_days ago, and only those: recent ones (a platform may still retry them), unfinished
    ones and dead letters (waiting for `crmbot inbox retry`) stay."""
    from crm_store.models import InboxMessage, ProcessedMessage
    from crm_store.services import conversations, inbox

    keep = config.scheduler.keep_handled_days
    old, recent = NOW - timedelta(days=keep + 1), NOW - timedelta(days=keep - 1)
    with transaction(factory) as s:
        for key, status, at in (("old-done", "done", old), ("recent-done", "done", recent),
                                ("old-dead", "dead", old), ("old-pending", "pending", old)):
            accepted = inbox.accept(s, channel="wechat", message_key=key, external_id=key, text="你好", now=at)
            s.execute(update(InboxMessage).where(InboxMessage.id == accepted.id)
                      .values(status=status, processed_at=at if status == "done" else None))
        conversations.record_message(s, "telegram", "old-mark", old, [])
        conversations.record_message(s, "telegram", "recent-mark", recent, [])
    assert jobs.run_named("housekeeping", config, factory, NOW) == {"inbox": 1, "marks": 1}
    with factory() as s:
        assert sorted(s.scalars(select(InboxMessage.message_key))) == ["old-dead", "old-pending", "recent-done"]
        assert list(s.scalars(select(ProcessedMessage.message_key))) == ["recent-mark"]
    assert jobs.run_named("housekeeping", config, factory, NOW) == {"inbox": 0, "marks": 0}
    assert jobs.triggers(config)["housekeeping"].get_next_fire_time(None, NOW) == datetime(2026, 11, 28, 3, 30, tzinfo=TZ)
