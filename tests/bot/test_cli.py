"""`crmbot staff invite|unbind`, `crmbot inbox list|retry`, `crmbot config-check` and `crmbot run`
(a real process: refused start-ups, then serving and stopping on SIGTERM)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner
from wechatpy.crypto import WeChatCrypto

from bot import messages as BM
from bot.cli import inbox_app, staff_app
from bot.fakes import FakeAPI
from bot.fakes.tencent import Tencent, new_aes_key, text_message
from bot.intake import Intake
from crm_store import messages as SM
from crm_store.db import transaction
from crm_store.models import AuditLog, InboxMessage, OutboxMessage
from crm_store.services import identity_for, inbox
from crmbot.config import Config, ConfigError, load_config
from crmbot.serve import bind, build_server, channel_problems
from crmbot.wiring import Runtime
from dialogs import DialogEngine
from dialogs import messages as DM

REPO = Path(__file__).resolve().parents[2]
AES = new_aes_key()
WECHAT = {"enabled": True, "app_id": "wxrun", "secret": "s", "token": "tk", "encoding_aes_key": AES}


def _config_file(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _crmbot(config: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
    """The `crmbot` console script as an operator runs it (its own process, exit code, stdout + stderr)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CRMBOT_")}
    environ.update({"CRMBOT_CONFIG": str(config), "PYTHONUNBUFFERED": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "crmbot.cli", *args], cwd=REPO, env=environ, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)


# --- staff ---------------------------------------------------------------------------------------

def test_invite_prints_a_code_that_binds_once(runtime: Runtime, dialogs: DialogEngine, tmp_path: Path) -> None:
    config = _config_file(tmp_path, {"database": {"url": runtime.config.database.url}})
    runner = CliRunner()
    env = {"CRMBOT_CONFIG": str(config)}
    result = runner.invoke(staff_app, ["invite", "张伟"], env=env)
    assert result.exit_code == 0, result.output
    code = re.search(r"绑定 ([A-Z2-9]{8})", result.output).group(1)  # type: ignore[union-attr]
    assert "张伟" in dialogs.handle("wecom", "zhangwei", f"绑定 {code}", message_id="a")[0].text
    assert "用过" in dialogs.handle("wecom", "someone", f"绑定 {code}", message_id="b")[0].text

    unknown = runner.invoke(staff_app, ["invite", "不存在"], env=env)
    assert unknown.exit_code == 2 and "陈静" in unknown.output

    assert runner.invoke(staff_app, ["unbind", "wecom", "zhangwei"], env=env).exit_code == 0
    again = runner.invoke(staff_app, ["unbind", "wecom", "zhangwei"], env=env)
    assert again.exit_code == 1 and "还没有绑定" in again.output
    with runtime.factory() as session:
        assert identity_for(session, "wecom", "zhangwei") is None
        actions = session.scalars(select(AuditLog.action).where(AuditLog.entity_type.in_(
            ["chat_identity", "binding_code"])).order_by(AuditLog.id)).all()
    assert actions == ["binding_code.create", "identity.bind", "identity.unbind"]


def test_unbind_in_chat_then_member_binding(runtime: Runtime, dialogs: DialogEngine) -> None:
    from crm_store.models import Member

    with runtime.factory() as session:
        member = session.scalars(select(Member).where(Member.phone.is_not(None)).order_by(Member.id)).first()
        assert member is not None
        number, digits = member.member_no, member.phone[-4:]
    wrong = "0000" if digits != "0000" else "1111"
    first = dialogs.handle("wechat", "o-m", f"绑定 {number} {wrong}", message_id="m1")[0].text
    second = dialogs.handle("wechat", "o-m", f"绑定 VIP9999 {digits}", message_id="m2")[0].text
    assert first == second and "不匹配" in first
    assert "绑定成功" in dialogs.handle("wechat", "o-m", f"绑定 {number.lower()} {digits}", message_id="m3")[0].text
    assert dialogs.handle("wechat", "o-m", "解绑", message_id="m4")[0].text == DM.UNBIND_OK
    assert dialogs.handle("wechat", "o-m", "查积分", message_id="m5")[0].text == DM.UNKNOWN_USER
    assert dialogs.handle("wechat", "o-m", "绑定 a b c", message_id="m6")[0].text == DM.BIND_USAGE


# --- inbox ---------------------------------------------------------------------------------------

def _dead_letter(runtime: Runtime, key: str, text: str, now: datetime) -> int:
    """An inbox row whose processing failed for good (as after max_attempts failures)."""
    with transaction(runtime.factory) as session:
        accepted = inbox.accept(session, channel="wechat", message_key=key, external_id="o-dead", text=text,
                                now=now, claimed_by="w-test")
        assert inbox.fail(session, accepted.id, "w-test", error="OperationalError: database is locked", now=now,
                          max_attempts=1, base_seconds=1, max_seconds=1) == "dead"
        return accepted.id


def test_inbox_list_and_retry(runtime: Runtime, dialogs: DialogEngine, tmp_path: Path) -> None:
    config = _config_file(tmp_path, {"database": {"url": runtime.config.database.url}})
    env = {"CRMBOT_CONFIG": str(config)}
    runner = CliRunner()
    assert runner.invoke(inbox_app, ["list"], env=env).output.strip() == BM.INBOX_EMPTY

    now = datetime.now(runtime.config.tz)
    with transaction(runtime.factory) as session:  # one message processed normally
        done = inbox.accept(session, channel="telegram", message_key="7:1", external_id="7", text="你好",
                            now=now, claimed_by="w-test")
        inbox.complete(session, done.id, "w-test", replies=[], now=now, push_if_undecided=True)
    dead = _dead_letter(runtime, "9001", "查一下华为", now)

    listed = runner.invoke(inbox_app, ["list"], env=env)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "已处理 1" in lines[0] and "已放弃 1" in lines[0]
    assert any(f"#{dead}" in line and "wechat:o-dead" in line and "已放弃" in line and "查一下华为" in line
               and "database is locked" in line for line in lines[1:])
    assert any(f"#{done.id}" in line and "已处理" in line for line in lines[1:])
    failed = runner.invoke(inbox_app, ["list", "--failed"], env=env)
    assert failed.exit_code == 0 and f"#{dead}" in failed.output and f"#{done.id} " not in failed.output

    retried = runner.invoke(inbox_app, ["retry", str(dead)], env=env)
    assert retried.exit_code == 0 and retried.output.strip() == BM.INBOX_RETRIED.format(id=dead)
    with runtime.factory() as session:
        row = session.get(InboxMessage, dead)
        assert row is not None and (row.status, row.attempts, row.delivery) == ("pending", 0, inbox.PUSH)
        assert session.scalar(select(AuditLog.action).where(AuditLog.entity_type == "inbox",
                                                            AuditLog.entity_id == dead)) == "inbox.retry"
    again = runner.invoke(inbox_app, ["retry", str(dead)], env=env)
    assert again.exit_code == 1 and SM.INBOX_NOT_RETRYABLE in again.output
    missing = runner.invoke(inbox_app, ["retry", "999999"], env=env)
    assert missing.exit_code == 1 and SM.INBOX_NOT_FOUND in missing.output
    assert runner.invoke(inbox_app, ["retry", "abc"], env=env).exit_code == 2

    # What `crmbot run`'s workers then do: process it once, and push its reply through the outbox.
    intake = Intake(runtime.factory, worker_id="w-after-retry", clock=lambda: datetime.now(runtime.config.tz))
    intake.set_dialogs(dialogs)
    assert intake.run_once() == 1 and intake.run_once() == 0
    with runtime.factory() as session:
        row = session.get(InboxMessage, dead)
        assert row is not None and row.status == "done" and row.attempts == 1
        reply = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reply"))
        assert reply is not None and reply.text == DM.UNKNOWN_USER and reply.external_id == "o-dead"


# --- config-check and refused start-ups -----------------------------------------------------------

def test_run_and_config_check_refuse_incomplete_channel_settings(tmp_path: Path) -> None:
    data = {"channels": {"telegram": {"enabled": True, "token": "t", "webhook_url": "https://x"},
                         "wechat": {"enabled": True, "app_id": "wx", "encoding_aes_key": "short"},
                         "wecom": {"enabled": True, "corp_id": "ww", "agent_id": "abc", "secret": "s", "token": "t",
                                   "encoding_aes_key": AES}}}
    problems = channel_problems(Config.model_validate(data))
    assert any("telegram.webhook_secret" in p for p in problems)
    assert any("wechat.secret" in p for p in problems) and any("wechat.token" in p for p in problems)
    assert any("43" in p for p in problems) and any("agent_id" in p and "数字" in p for p in problems)
    with pytest.raises(ConfigError) as refused:
        build_server(Config.model_validate(data))  # refused before binding a port or opening the database
    assert "wechat.secret" in str(refused.value)

    checked = _crmbot(_config_file(tmp_path, data), "config-check")
    assert checked.returncode == 2, checked.stdout
    assert "webhook_secret" in checked.stdout and "wechat.secret" in checked.stdout
    assert "配置有效" not in checked.stdout and "Traceback" not in checked.stdout

    disabled = {"channels": {name: {**section, "enabled": False} for name, section in data["channels"].items()}}
    fine = _crmbot(_config_file(tmp_path, disabled), "config-check")
    assert fine.returncode == 0 and "配置有效" in fine.stdout  # a disabled channel may be half filled in


def test_digit_only_environment_values_are_strings(tmp_path: Path) -> None:
    """The README's own example (CRMBOT_CHANNELS__WECOM__AGENT_ID=1000002) and an all-digit WeChat Token."""
    config = _config_file(tmp_path, {"channels": {
        "wechat": {**WECHAT},
        "wecom": {"enabled": True, "corp_id": "ww1436e0e65a779aee", "secret": "s", "encoding_aes_key": AES}}})
    env = {"CRMBOT_CHANNELS__WECOM__AGENT_ID": "1000002", "CRMBOT_CHANNELS__WECOM__TOKEN": "20261127",
           "CRMBOT_CHANNELS__WECHAT__TOKEN": "0123456789", "CRMBOT_CHANNELS__WECHAT__SECRET": "4242"}
    loaded = load_config(config, environ=env)
    wecom, wechat = loaded.channels.wecom, loaded.channels.wechat
    assert wecom.agent_id == "1000002" and wecom.token.get_secret_value() == "20261127"
    assert wechat.token.get_secret_value() == "0123456789"  # the leading zero is kept: it is text
    assert channel_problems(loaded) == []
    checked = _crmbot(config, "config-check", env=env)
    assert checked.returncode == 0 and "配置有效" in checked.stdout, checked.stdout


def _run_config(tmp_path: Path, runtime: Runtime, port: int, model: Path, **channels: Any) -> Path:
    return _config_file(tmp_path, {
        "database": {"url": runtime.config.database.url},
        "nlu": {"model_path": str(model)},
        "server": {"host": "127.0.0.1", "port": port, "token_cache_url": ""},
        "channels": channels or {"wechat": WECHAT},
    })


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_on_a_port_in_use_says_so_in_one_line(runtime: Runtime, nlu_parser: Any, nlu_model_path: Path,
                                                  tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = _crmbot(_run_config(tmp_path, runtime, port, nlu_model_path), "run")
        elapsed = time.monotonic() - started
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, lines  # one line, no traceback, no log noise
    assert str(port) in lines[0] and "已被占用" in lines[0] and "server.port" in lines[0]
    assert "已启动" not in result.stdout
    assert elapsed < 30  # refused before the NLU or anything slow is loaded


def test_run_without_a_model_names_the_train_command_and_does_not_train(runtime: Runtime, tmp_path: Path) -> None:
    model = tmp_path / "models" / "nlu-model.pkl"
    result = _crmbot(_run_config(tmp_path, runtime, _free_port(), model), "run", timeout=30)
    assert result.returncode != 0, result.stdout
    assert "crmbot nlu train" in result.stdout and str(model) in result.stdout
    assert "已启动" not in result.stdout and "训练完成" not in result.stdout and "Traceback" not in result.stdout
    assert not model.exists() and not model.parent.exists()


# --- crmbot run serving ---------------------------------------------------------------------------

def test_served_connections_have_tcp_nodelay() -> None:
    """`crmbot run` binds its own socket; asyncio turns Nagle off only for connections of an IPPROTO_TCP
    socket. With Nagle on, every webhook answer waited ~40 ms for the client's delayed ACK."""
    import asyncio

    async def accept_one() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=bind("127.0.0.1", 0))
        async with server:
            port = server.sockets[0].getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(seen, 5)
            writer.close()
        return value

    assert asyncio.run(accept_one()) == 1



@pytest.mark.slow
def test_crmbot_run_serves_and_stops_on_sigterm(
    runtime: Runtime, nlu_parser: Any, nlu_model_path: Path, fresh_api: tuple[FakeAPI, str], tmp_path: Path
) -> None:
    api, url = fresh_api
    port = _free_port()
    config = _run_config(tmp_path, runtime, port, nlu_model_path,
                         telegram={"enabled": True, "token": "1:T", "base_url": f"{url}/bot"},
                         wechat={**WECHAT, "api_base_url": f"{url}/cgi-bin/"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMBOT_")}
    env.update({"CRMBOT_CONFIG": str(config), "PYTHONUNBUFFERED": "1"})
    process = subprocess.Popen([sys.executable, "-m", "crmbot.cli", "run"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        health: dict[str, Any] = {}
        while health.get("nlu") != "ok" or "starting" in health.get("channels", {}).values():
            assert process.poll() is None, process.stdout.read()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, f"crmbot run did not come up: {health}"
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert health == {"status": "ok", "channels": {"telegram": "ok", "wechat": "ok"}, "nlu": "ok",
                          "database": "ok"}
        tencent = Tencent(WeChatCrypto("tk", AES, "wxrun"), "gh", "tk")
        query, body = tencent.callback(text_message("o-run", "gh", "你好", 1))
        reply = httpx.post(f"http://127.0.0.1:{port}/wechat", params=query, content=body, timeout=10)
        assert tencent.open_reply(reply.text)["Content"] == DM.UNKNOWN_USER
        api.wait_for("/getUpdates")  # Telegram polling (no webhook_url) is running
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    started = [line for line in output.splitlines() if "已启动" in line]
    assert len(started) == 1 and f":{port}" in started[0] and "telegram" in started[0] and "wechat" in started[0]
    assert "已停止" in output and "Traceback" not in output
    with runtime.factory() as session:
        row = session.scalar(select(InboxMessage).where(InboxMessage.external_id == "o-run"))
        assert row is not None and row.status == "done" and row.delivery is None  # answered passively
