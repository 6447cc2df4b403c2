"""Secrets come from config/env only and are never logged; phone numbers are masked in every log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from wechatpy.crypto import WeChatCrypto

from bot.fakes import FakeAPI
from bot.fakes.tencent import Tencent, new_aes_key, text_message
from crmbot.config import Config, load_config
from crmbot.logging_setup import RedactingFilter, install_redaction, mask_phones, uninstall_redaction
from crmbot.wiring import Runtime, bind_console
from dialogs import DialogEngine
from tests.bot.conftest import serve
from tests.security.conftest import DEMO_NOW

TOKEN = "123456:AAH-secret-bot-token"
APP_SECRET = "wx-app-secret-0123456789"
PHONE = "13800138000"
RAW_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _config(**wechat: str) -> Config:
    return Config.model_validate({
        "database": {"url": "postgresql://crm:db-pass-w0rd@127.0.0.1/crm"},
        "channels": {"telegram": {"token": TOKEN, "webhook_secret": "hook-secret-1"},
                     "wechat": {"secret": APP_SECRET, "token": "wechat-token-1", "encoding_aes_key": "K" * 43,
                                **wechat}},
    })


@pytest.fixture
def redaction() -> Iterator[None]:
    yield
    uninstall_redaction()


def test_mask_phones_keeps_other_numbers() -> None:
    assert mask_phones(f"call {PHONE}, +86 13912345678 or 021-12345678") == \
        "call 138****8000, +86 139****5678 or 021-12345678"
    # Order numbers, timestamps and ids are not phones.
    for text in ("SO20261127001", "1700000000", "123456789012", "12800138000"):
        assert mask_phones(text) == text


def test_a_record_with_a_phone_and_the_token_comes_out_masked() -> None:
    config = _config()
    redactor = RedactingFilter(["db-pass-w0rd", TOKEN, APP_SECRET, "K" * 43])
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "GET https://api/bot%s/getMe for %s (%d)",
                               (TOKEN, f"客户电话{PHONE}", 13912345678), None)
    assert redactor.filter(record)
    message = record.getMessage()
    assert TOKEN not in message and PHONE not in message and "13912345678" not in message
    assert "bot***/getMe" in message and "138****8000" in message
    try:
        raise RuntimeError(f"secret {APP_SECRET} phone {PHONE}")
    except RuntimeError:
        import sys

        failing = logging.LogRecord("t", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    redactor.filter(failing)
    text = logging.Formatter().format(failing)
    assert APP_SECRET not in text and PHONE not in text and "138****8000" in text
    assert config.channels.telegram.token.get_secret_value() == TOKEN  # the secret itself stays usable


def test_install_redaction_covers_every_logger(caplog: pytest.LogCaptureFixture, redaction: None,
                                              request: pytest.FixtureRequest) -> None:
    install_redaction(_config())
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "uvicorn.access", "sqlalchemy.engine"):
        caplog.set_level(logging.DEBUG, logger=name)
    access = logging.getLogger("uvicorn.access")  # uvicorn stops it propagating once a server ran
    access.addHandler(caplog.handler)
    request.addfinalizer(lambda: access.removeHandler(caplog.handler))
    logging.getLogger("httpx").info('HTTP Request: POST https://api.telegram.org/bot%s/getMe "200"', TOKEN)
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "1.2.3.4", "POST",
                                             f"/wechat?phone={PHONE}", "1.1", 200)
    logging.getLogger("sqlalchemy.engine").info("[generated] %r", ("wechat-token-1", PHONE, "K" * 43))
    text = caplog.text
    for secret in (TOKEN, APP_SECRET, "wechat-token-1", "K" * 43, PHONE):
        assert secret not in text
    assert "138****8000" in text and "200" in text


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMBOT_CHANNELS__TELEGRAM__TOKEN", "env-token-xyz123")
    config = load_config()
    token = config.channels.telegram.token
    assert token.get_secret_value() == "env-token-xyz123" and "env-token-xyz123" not in repr(config)
    assert "env-token-xyz123" not in RedactingFilter([token.get_secret_value()]).redact(
        "token env-token-xyz123")


def test_a_wechat_callback_with_a_phone_leaves_no_raw_phone_in_the_logs(
    caplog: pytest.LogCaptureFixture, runtime: Runtime, dialogs: DialogEngine, redaction: None,
    fresh_api: tuple[FakeAPI, str],
) -> None:
    settings = _config(app_id="wx5ecur1ty000002", encoding_aes_key=new_aes_key()).channels.wechat
    settings = settings.model_copy(update={"enabled": True, "api_base_url": f"{fresh_api[1]}/cgi-bin/"})
    install_redaction(runtime.config.model_copy(update={"channels": _config().channels.model_copy(
        update={"wechat": settings})}))
    bind_console(runtime, "张伟", DEMO_NOW)
    from crm_store.db import transaction
    from crm_store.services import bind_identity, find_staff

    with transaction(runtime.factory) as session:
        staff = find_staff(session, "张伟")
        assert staff is not None
        bind_identity(session, "wechat", "o-zw", staff_id=staff.id, now=DEMO_NOW)
    tencent = Tencent(WeChatCrypto(settings.callback_token, settings.aes_key, settings.app_id), "gh_x", settings.callback_token)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # every statement with its parameters
    # The whole `crmbot run` server: the inbox row (raw text with the phone) is written and logged too.
    with serve(runtime, dialogs, {"wechat": settings.model_dump()}) as live:
        for number, text in enumerate([f"新建客户 城南五金 电话{PHONE}", "确认", f"{PHONE}是谁的电话",
                                       f"今天拜访了城南五金，对方手机 139 1234 5678 / {PHONE}"]):
            query, body = tencent.callback(text_message("o-zw", "gh_x", text, 4000 + number))
            response = httpx.post(f"{live.url}/wechat", params=query, content=body, timeout=30)
            assert response.status_code == 200
            assert tencent.open_reply(response.text)["Content"]  # answered passively: the dialog ran
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)
    assert any("INSERT INTO inbox" in r.getMessage() for r in caplog.records)
    assert "138****8000" in caplog.text  # the phone went through the logs, masked
    leaked = RAW_PHONE.findall(caplog.text)
    assert not leaked, leaked[:5]
    for secret in (settings.callback_token, settings.aes_key, APP_SECRET):
        assert secret not in caplog.text


def test_the_shipped_config_holds_no_secrets() -> None:
    """Secrets come from the environment (or a local config the operator writes), never the repository."""
    from pathlib import Path

    import yaml

    shipped = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yml").read_text(encoding="utf-8"))
    channels = shipped.get("channels", {})
    for name, keys in (("telegram", ("token", "webhook_secret")),
                       ("wechat", ("secret", "token", "encoding_aes_key")),
                       ("wecom", ("secret", "token", "encoding_aes_key"))):
        for key in keys:
            assert not (channels.get(name) or {}).get(key), f"channels.{name}.{key} is filled in config.yml"
