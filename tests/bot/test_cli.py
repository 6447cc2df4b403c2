"""`crmbot staff invite|unbind` and `crmbot run` (a real process, stopped with SIGTERM)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
import yaml
from sqlalchemy import select
from typer.testing import CliRunner
from wechatpy.crypto import WeChatCrypto

from bot.cli import _check, staff_app
from crm_store.models import AuditLog
from crm_store.services import identity_for
from crmbot.config import Config, ConfigError
from crmbot.wiring import Runtime
from dialogs import DialogEngine
from dialogs import messages as dmsg
from tests.bot.conftest import Tencent, new_aes_key, text_message
from tests.bot.fakes import FakeAPI

REPO = Path(__file__).resolve().parents[2]


def _config_file(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


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
    assert dialogs.handle("wechat", "o-m", "解绑", message_id="m4")[0].text == dmsg.UNBIND_OK
    assert dialogs.handle("wechat", "o-m", "查积分", message_id="m5")[0].text == dmsg.UNKNOWN_USER
    assert dialogs.handle("wechat", "o-m", "绑定 a b c", message_id="m6")[0].text == dmsg.BIND_USAGE


def test_run_refuses_incomplete_channel_settings() -> None:
    config = Config.model_validate({"channels": {"telegram": {"enabled": True, "token": "t", "webhook_url": "https://x"},
                                                 "wechat": {"enabled": True, "app_id": "wx", "encoding_aes_key": "short"}}})
    problems = _check(config)
    assert any("webhook_secret" in p for p in problems)
    assert any("wechat.secret" in p for p in problems) and any("43" in p for p in problems)
    from bot.cli import build_server

    with pytest.raises(ConfigError):
        build_server(config)
    assert isinstance(typer.Typer(), typer.Typer)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_crmbot_run_serves_and_stops_on_sigterm(
    runtime: Runtime, nlu_parser, nlu_model_path: Path, fresh_api: tuple[FakeAPI, str], tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    api, url = fresh_api
    port = _free_port()
    aes = new_aes_key()
    config = _config_file(tmp_path, {
        "database": {"url": runtime.config.database.url},
        "nlu": {"model_path": str(nlu_model_path)},
        "server": {"host": "127.0.0.1", "port": port, "token_cache_url": ""},
        "channels": {
            "telegram": {"enabled": True, "token": "1:T", "base_url": f"{url}/bot"},
            "wechat": {"enabled": True, "app_id": "wxrun", "secret": "s", "token": "tk", "encoding_aes_key": aes,
                       "api_base_url": f"{url}/cgi-bin/"},
        },
    })
    env = {**os.environ, "CRMBOT_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-c", "from bot.cli import run_command; run_command()"],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.stdout.read()  # type: ignore[union-attr]
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "crmbot run did not come up"
                time.sleep(0.2)
        assert health.json() == {"status": "ok", "channels": ["telegram", "wechat"], "database": "ok"}
        tencent = Tencent(WeChatCrypto("tk", aes, "wxrun"), "gh", "tk")
        query, body = tencent.callback(text_message("o-run", "gh", "你好", 1))
        reply = httpx.post(f"http://127.0.0.1:{port}/wechat", params=query, content=body, timeout=10)
        assert tencent.open_reply(reply.text)["Content"] == dmsg.UNKNOWN_USER
        api.wait_for("/getUpdates")  # Telegram polling (no webhook_url) is running
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "已停止" in output
