"""The admin commands against a real (SQLite) database file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from crm_store.db import make_engine, session_factory, transaction, upgrade
from crm_store.models import OutboxMessage, Reminder, Staff
from crm_store.services import outbox
from crmbot.cli.scheduler import outbox_app, reminders_app, scheduler_app
from tests.scheduler.conftest import NOW


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CRMBOT_DATABASE__URL", url)
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    with transaction(factory) as s:
        rep = Staff(name="张三", role="rep")
        s.add(rep)
        s.flush()
        s.add(Reminder(staff_id=rep.id, due_at=NOW + timedelta(hours=1), text="回访万科", status="pending"))
        s.add(Reminder(staff_id=rep.id, due_at=NOW, text="早已完成", status="done"))
        outbox.enqueue(s, key="a", kind="notice", text="审批提醒", due_at=NOW, now=NOW, staff_id=rep.id)
        dead = outbox.enqueue(s, key="b", kind="notice", text="失败的消息", due_at=NOW, now=NOW, staff_id=rep.id)
        dead.status, dead.last_error = "dead", "收件人没有绑定可用的聊天渠道"
    app = typer.Typer()
    app.add_typer(scheduler_app, name="scheduler")
    app.add_typer(reminders_app, name="reminders")
    app.add_typer(outbox_app, name="outbox")
    app.info.context_settings = {"obj": factory}
    yield app
    engine.dispose()


def test_reminders_and_outbox_commands(cli: typer.Typer) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["reminders", "list"])
    assert result.exit_code == 0 and "回访万科" in result.output and "早已完成" not in result.output
    result = runner.invoke(cli, ["outbox", "list", "--failed"])
    assert result.exit_code == 0 and "失败的消息" in result.output and "审批提醒" not in result.output
    assert "渠道" in result.output
    factory = cli.info.context_settings["obj"]
    with factory() as s:
        dead_id = s.scalar(select(OutboxMessage.id).where(OutboxMessage.status == "dead"))
    result = runner.invoke(cli, ["outbox", "retry", str(dead_id)])
    assert result.exit_code == 0 and "重新排队" in result.output
    with factory() as s:
        assert s.get(OutboxMessage, dead_id).status == "pending"
    result = runner.invoke(cli, ["outbox", "retry", str(dead_id)])  # not failed any more
    assert result.exit_code == 1 and "只有发送失败的消息可以重发" in result.output
    result = runner.invoke(cli, ["outbox", "retry", "99999"])
    assert result.exit_code == 1 and "找不到" in result.output
    result = runner.invoke(cli, ["scheduler", "status"])
    assert result.exit_code == 0 and "没有调度主节点" in result.output and "待发消息 2 条" in result.output


def test_run_job_now(cli: typer.Typer) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["scheduler", "run-job", "due_reminders", "--now", "2026-11-27T12:00:00+08:00"])
    assert result.exit_code == 0 and "sent=1" in result.output
    result = runner.invoke(cli, ["scheduler", "run-job", "due_reminders", "--now", "2026-11-27T12:01:00"])
    assert result.exit_code == 0 and "sent=0" in result.output  # once only
    result = runner.invoke(cli, ["outbox", "list"])
    assert "该跟进" not in result.output and "提醒：回访万科" in result.output
    assert runner.invoke(cli, ["scheduler", "run-job", "nope"]).exit_code == 2
    assert runner.invoke(cli, ["scheduler", "run-job", "digest", "--now", "明天"]).exit_code == 2
