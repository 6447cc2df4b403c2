"""WeChat Official Account + WeCom callbacks: built and encrypted with wechatpy exactly as Tencent
sends them, posted over HTTP to our Starlette app, replies decrypted and checked."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

from bot.http import build_app
from bot.senders import WeChatSender, WeComSender, token_storage
from bot.wechat import Rejected, WeChatChannel, parse_xml
from bot.wecom import WeComChannel
from crm_store.services import identity_for
from crmbot.config import WeChatSettings, WeComSettings
from crmbot.wiring import Runtime
from dialogs import DialogEngine, Reply
from dialogs import messages as dmsg
from tests.bot.conftest import Tencent, invite, new_aes_key, text_message
from tests.bot.fakes import FakeAPI, ServerThread
from tests.crm_store.helpers import table_counts

VECTORS = json.loads((Path(__file__).parent.parent / "data" / "wechat_test_vectors.json").read_text(encoding="utf-8"))
APP_ID = "wx2c2769f8efd9abc2"
OA = "gh_10f6c3c3ac5a"


def _oa_settings(**kw: object) -> WeChatSettings:
    base: dict[str, object] = {"enabled": True, "app_id": APP_ID, "secret": "s3cret", "token": "tok123",
                               "encoding_aes_key": new_aes_key()}
    return WeChatSettings(**{**base, **kw})


def _counts(runtime: Runtime) -> dict[str, int]:
    with runtime.factory() as session:
        return table_counts(session)


@pytest.fixture
def oa(runtime: Runtime, dialogs: DialogEngine) -> tuple[TestClient, Tencent, WeChatChannel]:
    settings = _oa_settings()
    channel = WeChatChannel(settings, dialogs, sender=None)
    tencent = Tencent(WeChatCrypto(settings.token.get_secret_value(), settings.encoding_aes_key.get_secret_value(), settings.app_id), OA, settings.token.get_secret_value())
    return TestClient(build_app(runtime, wechat=channel)), tencent, channel


def _post(client: TestClient, tencent: Tencent, xml: str, **kw: object) -> httpx.Response:
    query, body = tencent.callback(xml, **kw)  # type: ignore[arg-type]
    return client.post("/wechat", params=query, content=body, headers={"content-type": "text/xml"})


# --- Tencent's published samples -----------------------------------------------------------------

def test_official_account_sample_decrypts() -> None:
    v = VECTORS["tencent_official_account_sample"]
    settings = WeChatSettings(token=v["token"], encoding_aes_key=v["encoding_aes_key"], app_id=v["appid"])
    channel = WeChatChannel(settings, dialogs=None, sender=None)  # type: ignore[arg-type]
    plaintext = channel.decrypt(v["xml"], v["msg_signature"], v["timestamp"], v["nonce"])
    assert plaintext == v["decrypted_plaintext"]
    with pytest.raises(Rejected) as forged:
        channel.decrypt(v["xml"], "0" * 40, v["timestamp"], v["nonce"])
    assert forged.value.status == 403


@pytest.mark.parametrize("name", ["tencent_wecom_doc_90968_sample", "tencent_weworkapi_python_callback_sample",
                                  "wechatpy_own_tests"])
def test_wecom_samples_verify_and_decrypt(name: str) -> None:
    v = VECTORS[name]
    v = v.get("work_crypto", v)
    settings = WeComSettings(token=v["token"], encoding_aes_key=v["encoding_aes_key"], corp_id=v["corp_id"])
    channel = WeComChannel(settings, dialogs=None, sender=None)  # type: ignore[arg-type]
    client = TestClient(build_app(wecom=channel))
    check = v["verify_url"]
    answer = client.get("/wecom", params={"msg_signature": check["msg_signature"], "timestamp": check["timestamp"],
                                          "nonce": check["nonce"], "echostr": check["echostr"]})
    assert answer.status_code == 200 and answer.text == check["decrypted_echostr"]
    wrong = client.get("/wecom", params={"msg_signature": "0" * 40, "timestamp": check["timestamp"],
                                         "nonce": check["nonce"], "echostr": check["echostr"]})
    assert wrong.status_code == 403
    message = v["message"]
    body = message.get("xml") or f"<xml><Encrypt><![CDATA[{message['encrypt']}]]></Encrypt></xml>"
    plaintext = channel.decrypt(body, message["msg_signature"], message["timestamp"], message["nonce"])
    assert plaintext == message["decrypted_plaintext"]


def test_sample_posted_over_http_with_its_own_clock(runtime: Runtime, dialogs: DialogEngine) -> None:
    """Tencent's WeCom sample, posted as is; the replay window is judged against the sample's time."""
    v = VECTORS["tencent_weworkapi_python_callback_sample"]
    m = v["message"]
    settings = WeComSettings(token=v["token"], encoding_aes_key=v["encoding_aes_key"], corp_id=v["corp_id"])
    channel = WeComChannel(settings, dialogs, sender=None, clock=lambda: float(m["timestamp"]) + 5)
    client = TestClient(build_app(runtime, wecom=channel))
    query = {k: m[k] for k in ("msg_signature", "timestamp", "nonce")}
    response = client.post("/wecom", params=query, content=m["xml"].encode())
    assert response.status_code == 200
    crypto = WorkCrypto(v["token"], v["encoding_aes_key"], v["corp_id"])
    reply = Tencent(crypto, v["corp_id"], v["token"]).open_reply(response.text)
    # The sender (ChenJiaShun) is not bound: the binding prompt, nothing else.
    assert reply["Content"] == dmsg.UNKNOWN_USER and reply["ToUserName"] == "ChenJiaShun"
    late = WeComChannel(settings, dialogs, sender=None, clock=lambda: float(m["timestamp"]) + 301)
    replayed = TestClient(build_app(runtime, wecom=late)).post("/wecom", params=query, content=m["xml"].encode())
    assert replayed.status_code == 403


# --- Official Account over HTTP ------------------------------------------------------------------

def test_url_verification(oa: tuple[TestClient, Tencent, WeChatChannel]) -> None:
    client, tencent, _ = oa
    query, _ = tencent.callback("<xml/>")
    ok = client.get("/wechat", params={**query, "echostr": "hello123"})
    assert ok.status_code == 200 and ok.text == "hello123"
    bad = client.get("/wechat", params={**query, "signature": "f" * 40, "echostr": "hello123"})
    assert bad.status_code == 403 and "hello123" not in bad.text


def test_unknown_user_then_binding_then_dialog(
    oa: tuple[TestClient, Tencent, WeChatChannel], runtime: Runtime
) -> None:
    client, tencent, _ = oa
    before = _counts(runtime)
    first = tencent.open_reply(_post(client, tencent, text_message("o-zw", OA, "查一下华为", 1)).text)
    assert first["Content"] == dmsg.UNKNOWN_USER
    assert first["ToUserName"] == "o-zw" and first["FromUserName"] == OA
    after = _counts(runtime)
    # Only the dedup mark: no identity, no state, no audit.
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"processed_message": 1}

    code = invite(runtime, "张伟")
    bound = tencent.open_reply(_post(client, tencent, text_message("o-zw", OA, f"绑定 {code}", 2)).text)
    assert "张伟" in bound["Content"] and "绑定成功" in bound["Content"]
    started = time.monotonic()
    answer = tencent.open_reply(_post(client, tencent, text_message("o-zw", OA, "查一下华为", 3)).text)
    print(f"\nwechat passive reply round trip: {(time.monotonic() - started) * 1000:.0f} ms")
    assert answer["Content"] not in (dmsg.UNKNOWN_USER, dmsg.INTERNAL_ERROR)
    assert "华为" in answer["Content"]
    with runtime.factory() as session:
        assert identity_for(session, "wechat", "o-zw") is not None


def test_forged_replayed_and_duplicate(oa: tuple[TestClient, Tencent, WeChatChannel], runtime: Runtime) -> None:
    client, tencent, _ = oa
    before = _counts(runtime)
    forged = _post(client, tencent, text_message("o-x", OA, "绑定 AAAA2222", 10), forge=True)
    assert forged.status_code == 403
    replayed = _post(client, tencent, text_message("o-x", OA, "绑定 AAAA2222", 11), timestamp=int(time.time()) - 301)
    assert replayed.status_code == 403
    future = _post(client, tencent, text_message("o-x", OA, "绑定 AAAA2222", 12), timestamp=int(time.time()) + 301)
    assert future.status_code == 403
    assert _counts(runtime) == before  # nothing processed, nothing written (no security event either)

    code = invite(runtime, "李娜")
    xml = text_message("o-ln", OA, f"绑定 {code}", 20)
    replies = [tencent.open_reply(_post(client, tencent, xml).text)["Content"] for _ in range(3)]
    # WeChat's retries of one MsgId: processed once, answered the same each time.
    assert replies[0] == replies[1] == replies[2] and "李娜" in replies[0]
    counts = _counts(runtime)
    assert counts["chat_identity"] == before["chat_identity"] + 1
    assert counts["processed_message"] == before["processed_message"] + 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"<xml><Encrypt>" + b"A" * (1024 * 1024) + b"</Encrypt></xml>", 413),
        (b"<xml><Encrypt>abc</Encr", 400),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
         b"<xml><Encrypt>&b;</Encrypt></xml>", 400),
        (b"", 400),
        (b"<xml><ToUserName>x</ToUserName></xml>", 400),
    ],
    ids=["1MB", "malformed", "entities", "empty", "not-encrypted"],
)
def test_bad_bodies(oa: tuple[TestClient, Tencent, WeChatChannel], runtime: Runtime, body: bytes,
                    status: int) -> None:
    client, tencent, _ = oa
    query, _ = tencent.callback("<xml/>")
    before = _counts(runtime)
    response = client.post("/wechat", params=query, content=body)
    assert response.status_code == status
    assert _counts(runtime) == before


def test_entities_inside_the_encrypted_message_are_refused(
    oa: tuple[TestClient, Tencent, WeChatChannel], runtime: Runtime
) -> None:
    client, tencent, _ = oa
    evil = ('<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<xml><FromUserName>o-e</FromUserName><MsgType>text</MsgType><Content>&x;</Content>"
            "<MsgId>99</MsgId></xml>")
    before = _counts(runtime)
    assert _post(client, tencent, evil).status_code == 400
    assert _counts(runtime) == before


def test_parse_xml_is_strict() -> None:
    assert parse_xml(b"<xml><A><![CDATA[<!x>]]></A></xml>")["A"] == "<!x>"
    with pytest.raises(Rejected):
        parse_xml(b"<other/>")


def test_events_and_non_text(oa: tuple[TestClient, Tencent, WeChatChannel], runtime: Runtime) -> None:
    client, tencent, _ = oa
    subscribe = ("<xml><ToUserName>gh</ToUserName><FromUserName>o-new</FromUserName><CreateTime>1700000001"
                 "</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>")
    assert tencent.open_reply(_post(client, tencent, subscribe).text)["Content"] == dmsg.UNKNOWN_USER
    view = subscribe.replace("subscribe", "VIEW")
    assert _post(client, tencent, view).text == "success"
    image = text_message("o-new", OA, "", 31).replace("[text]", "[image]")
    assert "文字" in tencent.open_reply(_post(client, tencent, image).text)["Content"]


# --- slow path: answer `success`, push through the API -------------------------------------------

class SlowDialogs:
    def __init__(self, seconds: float, replies: list[Reply]) -> None:
        self.seconds = seconds
        self.replies = replies
        self.calls: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()

    def handle(self, channel: str, external_id: str, text: str, *, message_id: str | None = None,
               now: object = None) -> list[Reply]:
        with self.lock:
            self.calls.append((external_id, text, message_id))
        time.sleep(self.seconds)
        return self.replies


@pytest.mark.parametrize("kind", ["wechat", "wecom"])
def test_slow_answer_is_pushed_through_the_api(kind: str, fresh_api: tuple[FakeAPI, str]) -> None:
    api, url = fresh_api
    slow = SlowDialogs(1.5, [Reply("好的，已记录。"), Reply("给经理的通知", to_staff_id=2)])
    storage = token_storage("")
    if kind == "wechat":
        settings = _oa_settings(api_base_url=f"{url}/cgi-bin/", reply_timeout_seconds=0.2)
        crypto = WeChatCrypto(settings.token.get_secret_value(), settings.encoding_aes_key.get_secret_value(), settings.app_id)
        channel: WeChatChannel | WeComChannel = WeChatChannel(settings, slow, WeChatSender(settings, storage))  # type: ignore[arg-type]
        app = build_app(wechat=channel)
    else:
        wsettings = WeComSettings(enabled=True, corp_id="ww1436e0e65a779aee", agent_id="1000002", secret="sec",
                                  token="tk", encoding_aes_key=new_aes_key(), api_base_url=f"{url}/cgi-bin/",
                                  reply_timeout_seconds=0.2)
        crypto = WorkCrypto(wsettings.token.get_secret_value(), wsettings.encoding_aes_key.get_secret_value(), wsettings.corp_id)
        channel = WeComChannel(wsettings, slow, WeComSender(wsettings, storage))  # type: ignore[arg-type]
        app = build_app(wecom=channel)
        settings = wsettings  # type: ignore[assignment]
    tencent = Tencent(crypto, "to", settings.token.get_secret_value())
    query, body = tencent.callback(text_message("u-slow", "to", "记一下", 555, agent="1000002"))
    with ServerThread(app) as server:  # a real socket this time
        started = time.monotonic()
        response = httpx.post(f"{server.url}/{kind}", params=query, content=body)
        elapsed = time.monotonic() - started
        assert response.status_code == 200 and response.text == "success"
        assert elapsed < 1.2  # answered before the dialogs finished
        sent = api.wait_for("/message/custom/send" if kind == "wechat" else "/message/send")
    assert len(sent) == 1  # the notice for someone else is left to the outbox
    payload = sent[0].params
    assert payload["text"]["content"] == "好的，已记录。"
    assert payload["touser"] == "u-slow"
    if kind == "wecom":
        assert payload["agentid"] == 1000002
    assert sent[0].query["access_token"].startswith("TOKEN-")
    assert len(api.named("/gettoken" if kind == "wecom" else "/cgi-bin/token")) == 1
    assert slow.calls == [("u-slow", "记一下", "555")]


def test_access_token_is_shared_between_processes(fresh_api: tuple[FakeAPI, str]) -> None:
    """Two senders (as two processes would) over one Redis: one token fetch."""
    import uuid

    import redis
    from wechatpy.session.redisstorage import RedisStorage

    api, url = fresh_api
    try:
        redis.Redis().ping()
    except redis.RedisError:
        pytest.skip("Redis not running on 127.0.0.1:6379")
    prefix = f"crmbot-test-{uuid.uuid4().hex[:8]}"
    settings = _oa_settings(api_base_url=f"{url}/cgi-bin/", app_id=f"wx{uuid.uuid4().hex[:16]}")
    first = WeChatSender(settings, RedisStorage(redis.Redis(), prefix=prefix))
    second = WeChatSender(settings, RedisStorage(redis.Redis(), prefix=prefix))
    first.send("o-1", Reply("一"))
    second.send("o-2", Reply("二"))
    assert len(api.named("/cgi-bin/token")) == 1
    tokens = {c.query["access_token"] for c in api.named("/message/custom/send")}
    assert len(tokens) == 1



@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_retries_racing_on_two_servers_are_processed_once(
    backend: str, demo_runtime_for, nlu_parser  # type: ignore[no-untyped-def]
) -> None:
    """WeChat retries of one MsgId reaching two server instances (own engines and pools) at once."""
    from concurrent.futures import ThreadPoolExecutor

    from crm_store.db import make_engine, session_factory
    from tests.bot.conftest import DEMO_NOW

    runtime = demo_runtime_for(backend)
    settings = _oa_settings()
    apps, engines = [], []
    for _ in range(2):
        engine = make_engine(runtime.config.database.url)
        engines.append(engine)
        engine_dialogs = DialogEngine(session_factory(engine), nlu_parser, runtime.config, clock=lambda: DEMO_NOW)
        apps.append(build_app(wechat=WeChatChannel(settings, engine_dialogs, sender=None)))
    tencent = Tencent(WeChatCrypto(settings.token.get_secret_value(), settings.encoding_aes_key.get_secret_value(), settings.app_id), OA, settings.token.get_secret_value())
    code = invite(runtime, "王强")
    query, body = tencent.callback(text_message("o-wq", OA, f"绑定 {code}", 777))
    with ServerThread(apps[0]) as one, ServerThread(apps[1]) as two:
        urls = [one.url, two.url, one.url, two.url]
        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda u: httpx.post(f"{u}/wechat", params=query, content=body, timeout=30),
                                      urls))
    for engine in engines:
        engine.dispose()
    contents = {tencent.open_reply(r.text)["Content"] for r in responses}
    assert len(contents) == 1 and "王强" in contents.pop()
    counts = _counts(runtime)
    with runtime.factory() as session:
        assert identity_for(session, "wechat", "o-wq") is not None
    assert counts["processed_message"] == 1 and counts["chat_identity"] == 1


@pytest.mark.parametrize("kind", ["wechat", "wecom"])
def test_exported_files_reach_wecom_and_are_explained_on_wechat(
    kind: str, fresh_api: tuple[FakeAPI, str], tmp_path: Path
) -> None:
    api, url = fresh_api
    export = tmp_path / "visits-202611.xlsx"
    export.write_bytes(b"PK\x03\x04 xlsx")
    storage = token_storage("")
    if kind == "wechat":
        sender: WeChatSender | WeComSender = WeChatSender(_oa_settings(api_base_url=f"{url}/cgi-bin/"), storage)
    else:
        sender = WeComSender(WeComSettings(enabled=True, corp_id="ww1", agent_id="1000002", secret="sec",
                                           api_base_url=f"{url}/cgi-bin/"), storage)
    sender.send("u-1", Reply("已导出3条拜访记录", file_path=str(export)))
    sent = [c.params for c in api.named("/message/custom/send" if kind == "wechat" else "/message/send")]
    if kind == "wecom":
        assert api.named("/media/upload") and sent[-1]["msgtype"] == "file"
        assert sent[-1]["file"]["media_id"] == "MEDIA-1"
    else:
        assert not api.named("/media/upload")
        assert "visits-202611.xlsx" in sent[-1]["text"]["content"] and "公众号不能发送文件" in sent[-1]["text"]["content"]
