"""Forged or missing signatures and secret tokens, replayed callbacks: refused before any database work.
A genuine message is committed to the inbox before it is acknowledged, and a redelivery is applied once."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import xmltodict
from sqlalchemy import func, select
from starlette.testclient import TestClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

from bot.channels.telegram import SECRET_HEADER, TelegramChannel, TelegramSettings
from bot.channels.wechat import WeChatSettings
from bot.fakes import FakeAPI
from bot.fakes.tencent import Tencent, new_aes_key, text_message
from bot.http import build_app
from bot.intake import Intake
from crm_store.models import AuditLog, InboxMessage
from crmbot.wiring import Runtime
from dialogs import DialogEngine
from tests.bot.conftest import Live, count, invite, serve
from tests.security.conftest import DEMO_NOW, changed, counts

SECRET = "tg-secret-Abc123"
OA = "gh_security"


def _telegram(runtime: Runtime, secret: str) -> TestClient:
    """The Telegram webhook alone, over an intake that commits to the inbox and processes nothing
    (no lifespan: no workers, no connection to Telegram). An accepted update is one inbox row."""
    settings = TelegramSettings(enabled=True, token="123456:SECURITY-token", webhook_secret=secret,
                                webhook_url="https://bot.example.com/telegram/webhook",
                                base_url="http://127.0.0.1:9/bot")
    intake = Intake(runtime.factory, worker_id="security-test", clock=lambda: DEMO_NOW)
    return TestClient(build_app([TelegramChannel(settings, intake)]))


def _update(text: str = "查一下华为") -> dict[str, object]:
    return {"update_id": 1, "message": {"message_id": 1, "date": 1700000000, "text": text,
                                        "from": {"id": 42, "is_bot": False, "first_name": "x"},
                                        "chat": {"id": 42, "type": "private"}}}


@pytest.mark.parametrize("given", [None, "", "wrong", SECRET + "x", SECRET.upper(), SECRET[:-1]])
def test_telegram_wrong_or_missing_secret_token_is_refused(runtime: Runtime, given: str | None) -> None:
    client = _telegram(runtime, SECRET)
    before = counts(runtime)
    headers = {SECRET_HEADER: given} if given is not None else {}
    assert client.post("/telegram/webhook", json=_update(), headers=headers).status_code == 403
    assert counts(runtime) == before  # refused before the inbox (or anything else) is touched
    assert client.post("/telegram/webhook", json=_update(), headers={SECRET_HEADER: SECRET}).status_code == 200
    assert changed(before, counts(runtime)) == {"inbox": 1}  # the 200 came after the commit


def test_telegram_without_a_configured_secret_refuses_everything(runtime: Runtime) -> None:
    client = _telegram(runtime, "")
    for headers in ({}, {SECRET_HEADER: ""}, {SECRET_HEADER: "anything"}):
        assert client.post("/telegram/webhook", json=_update(), headers=headers).status_code == 403
    assert count(runtime, InboxMessage) == 0


def _wechat_settings(**kw: Any) -> dict[str, Any]:
    return {"enabled": True, "app_id": "wx5ecur1ty000001", "secret": "app-s3cret", "token": "tok-security",
            "encoding_aes_key": AES_KEY, **kw}


AES_KEY = new_aes_key()


@pytest.fixture
def wechat(runtime: Runtime, dialogs: DialogEngine, fresh_api: tuple[FakeAPI, str]
           ) -> Iterator[tuple[Live, Tencent, WeChatSettings]]:
    values = _wechat_settings(api_base_url=f"{fresh_api[1]}/cgi-bin/")
    settings = WeChatSettings(**values)
    crypto = WeChatCrypto(settings.callback_token, settings.aes_key, settings.app_id)
    with serve(runtime, dialogs, {"wechat": values}) as live:
        yield live, Tencent(crypto, OA, settings.callback_token), settings


def _post(live: Live, query: dict[str, str], body: bytes, path: str = "/wechat") -> httpx.Response:
    return httpx.post(f"{live.url}{path}", params=query, content=body, headers={"content-type": "text/xml"},
                      timeout=30)


def _status(live: Live, query: dict[str, str], body: bytes, path: str = "/wechat") -> int:
    return _post(live, query, body, path).status_code


def test_wechat_forged_and_missing_signatures(wechat: tuple[Live, Tencent, WeChatSettings], runtime: Runtime) -> None:
    live, tencent, settings = wechat
    xml = text_message("o-attacker", OA, f"绑定 {invite(runtime, '张伟')}", 501)
    before = counts(runtime)
    query, body = tencent.callback(xml, forge=True)
    assert _status(live, query, body) == 403
    query, body = tencent.callback(xml)
    for missing in ("msg_signature", "timestamp", "nonce"):
        assert _status(live, {k: v for k, v in query.items() if k != missing}, body) == 403
    assert _status(live, {**query, "timestamp": "abc"}, body) == 403
    # The plain `signature` alone (no msg_signature) is not enough in safe mode.
    assert _status(live, {**query, "msg_signature": query["signature"]}, body) == 403
    # Signed with our token but sealed with someone else's AES key: cannot be opened.
    stranger = Tencent(WeChatCrypto(settings.callback_token, new_aes_key(), settings.app_id), OA, settings.callback_token)
    assert _status(live, *stranger.callback(xml)) == 400
    # Sealed for another app id.
    other_app = Tencent(WeChatCrypto(settings.callback_token, settings.aes_key, "wxother0000000001"), OA,
                        settings.callback_token)
    assert _status(live, *other_app.callback(xml)) == 400
    # The signature covers the ciphertext: a swapped Encrypt with the old signature fails.
    _, other_body = tencent.callback(text_message("o-attacker", OA, "查一下华为", 502))
    assert _status(live, query, other_body) == 403
    assert counts(runtime) == before  # no inbox row, no identity, no security event


def test_wechat_url_verification_needs_the_token(wechat: tuple[Live, Tencent, WeChatSettings]) -> None:
    live, tencent, _ = wechat
    query, _ = tencent.callback("<xml/>")
    forged = hashlib.sha1(b"guess").hexdigest()
    response = httpx.get(f"{live.url}/wechat", params={**query, "signature": forged, "echostr": "echo-me"})
    assert response.status_code == 403 and "echo-me" not in response.text
    assert httpx.get(f"{live.url}/wechat", params={"echostr": "echo-me"}).status_code == 403
    genuine = httpx.get(f"{live.url}/wechat", params={**query, "echostr": "echo-me"})
    assert genuine.status_code == 200 and genuine.text == "echo-me"


def test_wechat_replayed_callbacks(wechat: tuple[Live, Tencent, WeChatSettings], runtime: Runtime) -> None:
    live, tencent, settings = wechat
    code = invite(runtime, "李娜")
    xml = text_message("o-ln", OA, f"绑定 {code}", 777001)
    before = counts(runtime)
    window = settings.replay_window_seconds
    # A few seconds past the window each way (exactly window + 1 could fall inside it by the time it is checked).
    for stamp in (int(time.time()) - window - 5, int(time.time()) + window + 5, 0):
        assert _status(live, *tencent.callback(xml, timestamp=stamp)) == 403
    assert counts(runtime) == before
    # WeChat retries (and an attacker replaying a captured request) within the window: the same
    # request, or the same MsgId re-signed with a new nonce and timestamp, is processed once.
    query, body = tencent.callback(xml)
    answers = [_post(live, query, body).text for _ in range(2)]
    answers += [_post(live, q, b).text for q, b in (tencent.callback(xml, nonce="98765"),
                                                    tencent.callback(xml, nonce="55555"))]
    contents = {tencent.open_reply(a)["Content"] for a in answers}
    assert len(contents) == 1 and "李娜" in contents.pop()
    assert changed(before, counts(runtime)) == {"chat_identity": 1, "inbox": 1, "audit_log": 1}
    with runtime.factory() as session:
        binds = session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "identity.bind"))
    assert binds == 1


def test_wecom_forged_signatures(runtime: Runtime, dialogs: DialogEngine, fresh_api: tuple[FakeAPI, str]) -> None:
    values = {"enabled": True, "corp_id": "ww5ecur1ty00001", "agent_id": "1000002", "secret": "corp-s3cret",
              "token": "tok-wecom", "encoding_aes_key": new_aes_key(), "api_base_url": f"{fresh_api[1]}/cgi-bin/"}
    crypto = WorkCrypto(values["token"], values["encoding_aes_key"], values["corp_id"])
    tencent = Tencent(crypto, values["corp_id"], values["token"])
    xml = text_message("zhangwei", values["corp_id"], "查一下华为", 9001, agent="1000002")
    with serve(runtime, dialogs, {"wecom": values}) as live:
        before = counts(runtime)
        assert _status(live, *tencent.callback(xml, forge=True), path="/wecom") == 403
        stamp, nonce = str(int(time.time())), "123"
        sealed = xmltodict.parse(crypto.encrypt_message("hello", nonce, stamp))["xml"]
        forged = {"msg_signature": "0" * 40, "timestamp": stamp, "nonce": nonce, "echostr": sealed["Encrypt"]}
        response = httpx.get(f"{live.url}/wecom", params=forged)
        assert response.status_code == 403 and "hello" not in response.text
        assert counts(runtime) == before
        # The genuine one goes through (to the binding prompt: this user is not bound), via the inbox.
        assert _status(live, *tencent.callback(xml), path="/wecom") == 200
        assert changed(before, counts(runtime)) == {"inbox": 1}


def test_telegram_redelivered_update_is_processed_once(runtime: Runtime, dialogs: DialogEngine,
                                                       fresh_api: tuple[FakeAPI, str]) -> None:
    """Telegram redelivers an update it got no 200 for (or an attacker replays one with the secret):
    applied once (one binding, one audit row) and answered once; every copy is acknowledged."""
    from bot.fakes.telegram import text_update
    from tests.bot.test_telegram import Bot, settings

    api, url = fresh_api
    update = text_update(4242, f"绑定 {invite(runtime, '王强')}")
    before = counts(runtime)
    with serve(runtime, dialogs, {"telegram": settings(url)}) as live:
        bot = Bot(api, live)
        for _ in range(3):
            assert bot.post(update).status_code == 200
        bot.wait_sent(4242, 1)
        time.sleep(0.5)  # a second answer would have arrived by now
        answers = [c.params["text"] for c in bot.sent_to(4242)]
    assert len(answers) == 1 and "王强" in answers[0]
    diff = changed(before, counts(runtime))
    assert diff["chat_identity"] == 1 and diff["inbox"] == 1 and diff["audit_log"] == 1, diff
