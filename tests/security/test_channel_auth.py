"""Forged or missing signatures and secret tokens, replayed callbacks: refused before any database work."""

from __future__ import annotations

import hashlib
import time

import pytest
import xmltodict
from sqlalchemy import func, select
from starlette.testclient import TestClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

from bot.http import build_app
from bot.telegram import SECRET_HEADER, TelegramChannel
from bot.wechat import WeChatChannel
from bot.wecom import WeComChannel
from crm_store.models import AuditLog
from crmbot.config import TelegramSettings, WeChatSettings, WeComSettings
from crmbot.wiring import Runtime
from dialogs import DialogEngine
from tests.bot.conftest import Tencent, invite, new_aes_key, text_message
from tests.security.conftest import changed, counts

SECRET = "tg-secret-Abc123"
OA = "gh_security"


def _telegram(dialogs: DialogEngine, secret: str) -> tuple[TestClient, TelegramChannel]:
    settings = TelegramSettings(enabled=True, token="123456:SECURITY-token", webhook_secret=secret,
                                webhook_url="https://bot.example.com/telegram/webhook",
                                base_url="http://127.0.0.1:9/bot")
    channel = TelegramChannel(settings, dialogs)
    return TestClient(build_app(telegram=channel)), channel  # no lifespan: nothing is processed


def _update(text: str = "查一下华为") -> dict[str, object]:
    return {"update_id": 1, "message": {"message_id": 1, "date": 1700000000, "text": text,
                                        "from": {"id": 42, "is_bot": False, "first_name": "x"},
                                        "chat": {"id": 42, "type": "private"}}}


@pytest.mark.parametrize("given", [None, "", "wrong", SECRET + "x", SECRET.upper(), SECRET[:-1]])
def test_telegram_wrong_or_missing_secret_token_is_refused(dialogs: DialogEngine, given: str | None) -> None:
    client, channel = _telegram(dialogs, SECRET)
    headers = {SECRET_HEADER: given} if given is not None else {}
    assert client.post("/telegram/webhook", json=_update(), headers=headers).status_code == 403
    assert channel.application.update_queue.empty()
    assert client.post("/telegram/webhook", json=_update(), headers={SECRET_HEADER: SECRET}).status_code == 200
    assert channel.application.update_queue.qsize() == 1


def test_telegram_without_a_configured_secret_refuses_everything(dialogs: DialogEngine) -> None:
    client, channel = _telegram(dialogs, "")
    for headers in ({}, {SECRET_HEADER: ""}, {SECRET_HEADER: "anything"}):
        assert client.post("/telegram/webhook", json=_update(), headers=headers).status_code == 403
    assert channel.application.update_queue.empty()


@pytest.fixture
def wechat(runtime: Runtime, dialogs: DialogEngine) -> tuple[TestClient, Tencent, WeChatSettings]:
    settings = WeChatSettings(enabled=True, app_id="wx5ecur1ty000001", secret="app-s3cret", token="tok-security",
                              encoding_aes_key=new_aes_key())
    crypto = WeChatCrypto(settings.token.get_secret_value(), settings.encoding_aes_key.get_secret_value(), settings.app_id)
    client = TestClient(build_app(runtime, wechat=WeChatChannel(settings, dialogs, sender=None)))
    return client, Tencent(crypto, OA, settings.token.get_secret_value()), settings


def _post(client: TestClient, query: dict[str, str], body: bytes, path: str = "/wechat") -> int:
    return client.post(path, params=query, content=body, headers={"content-type": "text/xml"}).status_code


def test_wechat_forged_and_missing_signatures(wechat, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    client, tencent, settings = wechat
    xml = text_message("o-attacker", OA, f"绑定 {invite(runtime, '张伟')}", 501)
    before = counts(runtime)
    query, body = tencent.callback(xml, forge=True)
    assert _post(client, query, body) == 403
    query, body = tencent.callback(xml)
    for missing in ("msg_signature", "timestamp", "nonce"):
        assert _post(client, {k: v for k, v in query.items() if k != missing}, body) == 403
    assert _post(client, {**query, "timestamp": "abc"}, body) == 403
    # The plain `signature` alone (no msg_signature) is not enough in safe mode.
    assert _post(client, {**query, "msg_signature": query["signature"]}, body) == 403
    # Signed with our token but sealed with someone else's AES key: cannot be opened.
    stranger = Tencent(WeChatCrypto(settings.token.get_secret_value(), new_aes_key(), settings.app_id), OA, settings.token.get_secret_value())
    assert _post(client, *stranger.callback(xml)) == 400
    # Sealed for another app id.
    other_app = Tencent(WeChatCrypto(settings.token.get_secret_value(), settings.encoding_aes_key.get_secret_value(), "wxother0000000001"), OA,
                        settings.token.get_secret_value())
    assert _post(client, *other_app.callback(xml)) == 400
    # The signature covers the ciphertext: a swapped Encrypt with the old signature fails.
    _, other_body = tencent.callback(text_message("o-attacker", OA, "查一下华为", 502))
    assert _post(client, query, other_body) == 403
    assert counts(runtime) == before  # no identity, no dedup mark, no security event


def test_wechat_url_verification_needs_the_token(wechat) -> None:  # type: ignore[no-untyped-def]
    client, tencent, _ = wechat
    query, _ = tencent.callback("<xml/>")
    forged = hashlib.sha1(b"guess").hexdigest()
    response = client.get("/wechat", params={**query, "signature": forged, "echostr": "echo-me"})
    assert response.status_code == 403 and "echo-me" not in response.text
    assert client.get("/wechat", params={"echostr": "echo-me"}).status_code == 403


def test_wechat_replayed_callbacks(wechat, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    client, tencent, settings = wechat
    code = invite(runtime, "李娜")
    xml = text_message("o-ln", OA, f"绑定 {code}", 777001)
    before = counts(runtime)
    window = settings.replay_window_seconds
    for stamp in (int(time.time()) - window - 1, int(time.time()) + window + 1, 0):
        assert _post(client, *tencent.callback(xml, timestamp=stamp)) == 403
    assert counts(runtime) == before
    # WeChat retries (and an attacker replaying a captured request) within the window: the same
    # request, or the same MsgId re-signed with a new nonce and timestamp, is processed once.
    query, body = tencent.callback(xml)
    answers = [client.post("/wechat", params=query, content=body).text for _ in range(2)]
    answers += [client.post("/wechat", params=q, content=b).text
                for q, b in (tencent.callback(xml, nonce="98765"), tencent.callback(xml, nonce="55555"))]
    contents = {tencent.open_reply(a)["Content"] for a in answers}
    assert len(contents) == 1 and "李娜" in contents.pop()
    assert changed(before, counts(runtime)) == {"chat_identity": 1, "processed_message": 1, "audit_log": 1}
    with runtime.factory() as session:
        binds = session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "identity.bind"))
    assert binds == 1


def test_wecom_forged_signatures(runtime: Runtime, dialogs: DialogEngine) -> None:
    settings = WeComSettings(enabled=True, corp_id="ww5ecur1ty00001", agent_id="1000002", secret="corp-s3cret",
                             token="tok-wecom", encoding_aes_key=new_aes_key())
    crypto = WorkCrypto(settings.token.get_secret_value(), settings.encoding_aes_key.get_secret_value(), settings.corp_id)
    client = TestClient(build_app(runtime, wecom=WeComChannel(settings, dialogs, sender=None)))
    tencent = Tencent(crypto, settings.corp_id, settings.token.get_secret_value())
    before = counts(runtime)
    xml = text_message("zhangwei", settings.corp_id, "查一下华为", 9001, agent="1000002")
    assert _post(client, *tencent.callback(xml, forge=True), path="/wecom") == 403
    stamp, nonce = str(int(time.time())), "123"
    sealed = xmltodict.parse(crypto.encrypt_message("hello", nonce, stamp))["xml"]
    forged = {"msg_signature": "0" * 40, "timestamp": stamp, "nonce": nonce, "echostr": sealed["Encrypt"]}
    response = client.get("/wecom", params=forged)
    assert response.status_code == 403 and "hello" not in response.text
    assert counts(runtime) == before
    # The genuine one goes through (to the binding prompt: this user is not bound).
    assert _post(client, *tencent.callback(xml), path="/wecom") == 200


def test_telegram_redelivered_update_is_processed_once(runtime: Runtime, dialogs: DialogEngine,
                                                       fresh_api) -> None:  # type: ignore[no-untyped-def]
    """Telegram redelivers an update it got no 200 for (or an attacker replays one with the secret):
    applied once (one binding, one audit row); each delivery gets the same stored answer."""
    from tests.bot.fakes import ServerThread
    from tests.bot.test_telegram import Bot, _settings, text_update

    api, url = fresh_api
    channel = TelegramChannel(_settings(url), dialogs)
    update = text_update(4242, f"绑定 {invite(runtime, '王强')}")
    before = counts(runtime)
    with ServerThread(build_app(runtime, telegram=channel)) as server:
        bot = Bot(api, server)
        for _ in range(3):
            assert bot.post(update).status_code == 200
        api.wait_for("/sendMessage", 3)
        time.sleep(0.3)  # a fourth answer would have arrived by now
        answers = [c.params["text"] for c in bot.sent_to(4242)]
    assert len(answers) == 3 and len(set(answers)) == 1 and "王强" in answers[0]
    diff = changed(before, counts(runtime))
    assert diff["chat_identity"] == 1 and diff["audit_log"] == 1, diff
