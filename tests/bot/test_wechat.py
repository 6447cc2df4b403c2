"""WeChat Official Account + WeCom callbacks: built and encrypted with wechatpy exactly as Tencent sends
them, posted over HTTP to the whole `crmbot run` server, replies decrypted and checked.
Every acknowledged message is in the inbox first; slow replies are pushed from the outbox."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

from bot import messages as BM
from bot.channels._tencent import Rejected, parse_xml
from bot.channels.wechat import WeChatChannel, WeChatSettings
from bot.channels.wecom import WeComChannel, WeComSettings
from bot.fakes import FakeAPI
from bot.fakes.tencent import Tencent, new_aes_key, text_message
from crm_store.models import InboxMessage, OutboxMessage, Reminder, Visit
from crm_store.services import identity_for
from crmbot.wiring import Runtime
from dialogs import DialogEngine, Reply
from dialogs import messages as DM
from dialogs.reply import Outcome
from tests.bot.conftest import Live, counts, invite, serve

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "wechat_test_vectors.json").read_text("utf-8"))
APP_ID = "wx2c2769f8efd9abc2"
OA = "gh_10f6c3c3ac5a"


def oa_channel(url: str = "http://127.0.0.1:9/", **kw: Any) -> dict[str, Any]:
    return {"enabled": True, "app_id": APP_ID, "secret": "s3cret", "token": "tok123",
            "encoding_aes_key": kw.pop("encoding_aes_key", AES_KEY), "api_base_url": f"{url}/cgi-bin/", **kw}


AES_KEY = new_aes_key()
TENCENT = Tencent(WeChatCrypto("tok123", AES_KEY, APP_ID), OA, "tok123")


def post(live: Live, xml: str, *, path: str = "/wechat", tencent: Tencent = TENCENT, **kw: Any) -> httpx.Response:
    query, body = tencent.callback(xml, **kw)
    return httpx.post(f"{live.url}{path}", params=query, content=body, headers={"content-type": "text/xml"},
                      timeout=30)


def content(response: httpx.Response, tencent: Tencent = TENCENT) -> str:
    assert response.status_code == 200, response.text
    return tencent.open_reply(response.text)["Content"]


def inbox_rows(runtime: Runtime) -> list[InboxMessage]:
    with runtime.factory() as session:
        return list(session.scalars(select(InboxMessage).order_by(InboxMessage.id)))


def outbox_rows(runtime: Runtime, kind: str = "reply") -> list[OutboxMessage]:
    with runtime.factory() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                                    .order_by(OutboxMessage.id)))


def wait_until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def oa(runtime: Runtime, dialogs: DialogEngine, fresh_api: tuple[FakeAPI, str]) -> Any:
    with serve(runtime, dialogs, {"wechat": oa_channel(fresh_api[1])}) as live:
        yield live


# --- Tencent's published samples -----------------------------------------------------------------

def test_official_account_sample_decrypts() -> None:
    v = VECTORS["tencent_official_account_sample"]
    settings = WeChatSettings(token=v["token"], encoding_aes_key=v["encoding_aes_key"], app_id=v["appid"])
    channel = WeChatChannel(settings, None)
    plaintext = channel.decrypt(v["xml"], v["msg_signature"], v["timestamp"], v["nonce"])
    assert plaintext == v["decrypted_plaintext"]
    with pytest.raises(Rejected) as forged:
        channel.decrypt(v["xml"], "0" * 40, v["timestamp"], v["nonce"])
    assert forged.value.status == 403


@pytest.mark.parametrize("name", ["tencent_wecom_doc_90968_sample", "tencent_weworkapi_python_callback_sample",
                                  "wechatpy_own_tests"])
def test_wecom_samples_verify_and_decrypt(name: str) -> None:
    from starlette.testclient import TestClient

    from bot.http import build_app

    v = VECTORS[name]
    v = v.get("work_crypto", v)
    settings = WeComSettings(token=v["token"], encoding_aes_key=v["encoding_aes_key"], corp_id=v["corp_id"])
    check = v["verify_url"]
    # The sample's own time: URL verification is held to the same replay window as callbacks.
    channel = WeComChannel(settings, None, clock=lambda: float(check["timestamp"]) + 5)
    client = TestClient(build_app([channel]))
    answer = client.get("/wecom", params={"msg_signature": check["msg_signature"], "timestamp": check["timestamp"],
                                          "nonce": check["nonce"], "echostr": check["echostr"]})
    assert answer.status_code == 200 and answer.text == check["decrypted_echostr"]
    wrong = client.get("/wecom", params={"msg_signature": "0" * 40, "timestamp": check["timestamp"],
                                         "nonce": check["nonce"], "echostr": check["echostr"]})
    assert wrong.status_code == 403
    stale = TestClient(build_app([WeComChannel(settings, None)]))  # today: the sample is years old
    old = stale.get("/wecom", params={"msg_signature": check["msg_signature"], "timestamp": check["timestamp"],
                                      "nonce": check["nonce"], "echostr": check["echostr"]})
    assert old.status_code == 403 and check["decrypted_echostr"] not in old.text
    message = v["message"]
    body = message.get("xml") or f"<xml><Encrypt><![CDATA[{message['encrypt']}]]></Encrypt></xml>"
    plaintext = channel.decrypt(body, message["msg_signature"], message["timestamp"], message["nonce"])
    assert plaintext == message["decrypted_plaintext"]


# --- Official Account over HTTP ------------------------------------------------------------------

def test_url_verification_checks_signature_and_age(oa: Live) -> None:
    query, _ = TENCENT.callback("<xml/>")
    ok = httpx.get(f"{oa.url}/wechat", params={**query, "echostr": "hello123"})
    assert ok.status_code == 200 and ok.text == "hello123"
    bad = httpx.get(f"{oa.url}/wechat", params={**query, "signature": "f" * 40, "echostr": "hello123"})
    assert bad.status_code == 403 and "hello123" not in bad.text
    month_old, _ = TENCENT.callback("<xml/>", timestamp=int(time.time()) - 30 * 86400)
    old = httpx.get(f"{oa.url}/wechat", params={**month_old, "echostr": "hello123"})
    assert old.status_code == 403 and "hello123" not in old.text


@pytest.mark.parametrize("stamp", ["²", "1" * 5000, "-5", "１７００"], ids=["superscript", "5000-digits", "neg", "fullwidth"])
def test_odd_timestamps_are_refused_with_one_log_line(oa: Live, stamp: str, caplog: pytest.LogCaptureFixture) -> None:
    query, body = TENCENT.callback(text_message("o-t", OA, "你好", 5))
    caplog.clear()
    for method in ("post", "get"):
        response = httpx.request(method.upper(), f"{oa.url}/wechat", params={**query, "timestamp": stamp},
                                 content=body if method == "post" else None)
        assert response.status_code in (400, 403), response.text
        assert "Traceback" not in response.text
    assert not [r for r in caplog.records if r.exc_info]
    assert not inbox_rows(oa.runtime)


def test_unknown_user_then_binding_then_dialog(oa: Live) -> None:
    runtime = oa.runtime
    before = counts(runtime)
    first = content(post(oa, text_message("o-zw", OA, "查一下华为", 1)))
    assert first == DM.UNKNOWN_USER
    after = counts(runtime)
    # The inbox row only: no identity, no state, no audit.
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"inbox": 1}

    code = invite(runtime, "张伟")
    bound = content(post(oa, text_message("o-zw", OA, f"绑定 {code}", 2)))
    assert "张伟" in bound and "绑定成功" in bound
    answer = content(post(oa, text_message("o-zw", OA, "查一下华为", 3)))
    assert answer not in (DM.UNKNOWN_USER, DM.INTERNAL_ERROR) and "华为" in answer
    with runtime.factory() as session:
        assert identity_for(session, "wechat", "o-zw") is not None
    rows = inbox_rows(runtime)
    assert [r.status for r in rows] == ["done"] * 3 and all(r.delivery is None for r in rows)
    assert not outbox_rows(runtime)  # all three answered passively


def test_forged_replayed_and_duplicate(oa: Live) -> None:
    runtime = oa.runtime
    before = counts(runtime)
    assert post(oa, text_message("o-x", OA, "绑定 AAAA2222", 10), forge=True).status_code == 403
    assert post(oa, text_message("o-x", OA, "绑定 AAAA2222", 11), timestamp=int(time.time()) - 305).status_code == 403
    assert post(oa, text_message("o-x", OA, "绑定 AAAA2222", 12), timestamp=int(time.time()) + 305).status_code == 403
    assert counts(runtime) == before  # nothing stored, nothing written (no security event either)

    code = invite(runtime, "李娜")
    xml = text_message("o-ln", OA, f"绑定 {code}", 20)
    replies = [content(post(oa, xml)) for _ in range(3)]
    # WeChat's retries of one MsgId: processed once, answered the same each time.
    assert replies[0] == replies[1] == replies[2] and "李娜" in replies[0]
    after = counts(runtime)
    assert after["chat_identity"] == before["chat_identity"] + 1
    assert after["inbox"] == before["inbox"] + 1


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
def test_bad_bodies(oa: Live, body: bytes, status: int) -> None:
    query, _ = TENCENT.callback("<xml/>")
    before = counts(oa.runtime)
    response = httpx.post(f"{oa.url}/wechat", params=query, content=body)
    assert response.status_code == status
    assert counts(oa.runtime) == before


def test_entities_and_missing_fields_inside_the_encrypted_message_are_refused(oa: Live) -> None:
    evil = ('<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<xml><FromUserName>o-e</FromUserName><MsgType>text</MsgType><Content>&x;</Content>"
            "<MsgId>99</MsgId></xml>")
    before = counts(oa.runtime)
    assert post(oa, evil).status_code == 400
    assert post(oa, "<xml><FromUserName>o-e</FromUserName><Content>x</Content></xml>").status_code == 400
    assert post(oa, text_message("o-e", OA, "x", 1).replace("<MsgId>1", "<MsgId>abc")).status_code == 400
    assert counts(oa.runtime) == before


def test_parse_xml_is_strict() -> None:
    assert parse_xml(b"<xml><A><![CDATA[<!x>]]></A></xml>")["A"] == "<!x>"
    with pytest.raises(Rejected):
        parse_xml(b"<other/>")


def test_events_and_non_text(oa: Live) -> None:
    subscribe = ("<xml><ToUserName>gh</ToUserName><FromUserName>o-new</FromUserName><CreateTime>1700000001"
                 "</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>")
    assert content(post(oa, subscribe)) == DM.UNKNOWN_USER
    view = subscribe.replace("subscribe", "VIEW")
    assert post(oa, view).text == "success"
    image = text_message("o-new", OA, "", 31).replace("[text]", "[image]")
    assert "文字" in content(post(oa, image))


def voice_message(user: str, to: str, recognition: str | None, msg_id: int, *, agent: str | None = None) -> str:
    """A voice message as WeChat sends it; <Recognition> only when the account has speech recognition on."""
    said = f"<Recognition><![CDATA[{recognition}]]></Recognition>" if recognition is not None else ""
    extra = f"<AgentID>{agent}</AgentID>" if agent else ""
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
            f"<MediaId><![CDATA[media-{msg_id}]]></MediaId><Format><![CDATA[amr]]></Format>{said}"
            f"<MsgId>{msg_id}</MsgId>{extra}</xml>")


def test_voice_message_recognition_is_the_text_and_the_visit_is_marked_voice(oa: Live) -> None:
    """Issue 17: WeChat's own speech recognition is the message; the summary shows what was heard, and the
    record says it came by voice."""
    runtime = oa.runtime
    assert "绑定成功" in content(post(oa, text_message("o-voice", OA, f"绑定 {invite(runtime, '张伟')}", 40)))
    heard = "今天上午拜访了华为张总，聊了新项目，提醒我明天上午10点报价"
    summary = content(post(oa, voice_message("o-voice", OA, heard, 41)))
    assert f"语音识别：「{heard}」" in summary and "一共2项" in summary and "来源：语音" in summary
    saved = content(post(oa, text_message("o-voice", OA, "确认", 42)))
    assert "已保存2项（语音记录）" in saved
    with runtime.factory() as session:
        visits = session.scalars(select(Visit).where(Visit.summary == "今天上午拜访了华为张总，聊了新项目")).all()
        assert [v.source for v in visits] == ["voice"]
        assert session.scalar(select(Reminder).where(Reminder.text == "报价", Reminder.status == "pending"))
    assert inbox_rows(runtime)[1].payload == {"voice": True}


def test_voice_without_recognition_asks_for_text(oa: Live) -> None:
    answer = content(post(oa, voice_message("o-v2", OA, None, 50)))
    assert answer == BM.VOICE_NEEDS_TEXT
    image = text_message("o-v2", OA, "", 51).replace("[text]", "[image]")
    assert content(post(oa, image)) == BM.NON_TEXT
    assert not inbox_rows(oa.runtime)


def test_wecom_voice_asks_for_text(runtime: Runtime, dialogs: DialogEngine, fresh_api: tuple[FakeAPI, str]) -> None:
    """WeCom sends voice as audio only (no recognition) and no offline recogniser is installed."""
    with serve(runtime, dialogs, {"wecom": wecom_channel(fresh_api[1])}) as live:
        response = post(live, voice_message("u-v", "to", None, 60, agent="1000002"), path="/wecom", tencent=WECOM)
        assert content(response, WECOM) == BM.VOICE_NEEDS_TEXT
    assert not inbox_rows(runtime)


# --- the inbox: slow replies, crashes, concurrency -------------------------------------------------

class SlowDialogs:
    """Stands in for the dialog engine: takes `seconds`, then answers (and marks the inbox row done)."""

    def __init__(self, seconds: float, replies: list[Reply]) -> None:
        self.seconds = seconds
        self.replies = replies
        self.calls: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()
        self.factory: Any = None

    def process(self, channel: str, external_id: str, text: str, *, message_id: str | None = None,
                now: object = None, finish: Any = None) -> Outcome:
        with self.lock:
            self.calls.append((external_id, text, message_id))
        time.sleep(self.seconds)
        outcome = Outcome([r for r in self.replies if r.to_staff_id is None],
                          [r for r in self.replies if r.to_staff_id is not None])
        with self.factory() as session:
            finish(session, outcome)
            session.commit()
        return outcome


def wecom_channel(url: str, **kw: Any) -> dict[str, Any]:
    return {"enabled": True, "corp_id": "ww1436e0e65a779aee", "agent_id": "1000002", "secret": "sec",
            "token": "tk", "encoding_aes_key": WECOM_KEY, "api_base_url": f"{url}/cgi-bin/", **kw}


WECOM_KEY = new_aes_key()
WECOM = Tencent(WorkCrypto("tk", WECOM_KEY, "ww1436e0e65a779aee"), "to", "tk")


@pytest.mark.parametrize("kind", ["wechat", "wecom"])
def test_slow_answer_is_committed_then_pushed_from_the_outbox(
    kind: str, runtime: Runtime, fresh_api: tuple[FakeAPI, str]
) -> None:
    api, url = fresh_api
    slow = SlowDialogs(1.5, [Reply("好的，已记录。"), Reply("给经理的通知", to_staff_id=2)])
    slow.factory = runtime.factory
    channel = oa_channel(url, reply_timeout_seconds=0.3) if kind == "wechat" else \
        wecom_channel(url, reply_timeout_seconds=0.3)
    tencent = TENCENT if kind == "wechat" else WECOM
    with serve(runtime, slow, {kind: channel}) as live:
        started = time.monotonic()
        response = post(live, text_message("u-slow", "to", "记一下", 555, agent="1000002"), path=f"/{kind}",
                        tencent=tencent)
        elapsed = time.monotonic() - started
        assert response.status_code == 200 and response.text == "success"
        assert elapsed < 1.2  # answered before the dialogs finished
        # Acknowledged means committed: the row is there before the dialogs are done.
        row = inbox_rows(runtime)[0]
        assert row.message_key == "555" and row.text == "记一下" and row.delivery == "push"
        sent = api.wait_for("/message/custom/send" if kind == "wechat" else "/message/send")
        wait_until(lambda: [r for r in outbox_rows(runtime) if r.status == "sent"])
    assert len(sent) == 1  # the notice for someone else is not the sender's reply
    payload = sent[0].params
    assert payload["text"]["content"] == "好的，已记录。" and payload["touser"] == "u-slow"
    if kind == "wecom":
        assert payload["agentid"] == 1000002
    assert sent[0].query["access_token"].startswith("TOKEN-")
    assert slow.calls == [("u-slow", "记一下", "555")]
    assert [r.status for r in inbox_rows(runtime)] == ["done"]


def test_retry_during_slow_processing_is_answered_once(runtime: Runtime, fresh_api: tuple[FakeAPI, str]) -> None:
    """Tencent retries after 5 s while the first copy is still being processed: one processing, one reply."""
    api, url = fresh_api
    slow = SlowDialogs(1.0, [Reply("记好了")])
    slow.factory = runtime.factory
    with serve(runtime, slow, {"wechat": oa_channel(url, reply_timeout_seconds=0.3)}) as live:
        xml = text_message("u-r", OA, "记一下", 556)
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda _: post(live, xml).text, range(3)))
        assert answers == ["success"] * 3
        api.wait_for("/message/custom/send")
        time.sleep(0.5)
    assert len(api.named("/message/custom/send")) == 1 and len(slow.calls) == 1


def test_upload_answer_without_media_id_is_retried_not_dropped(
    runtime: Runtime, dialogs: DialogEngine, fresh_api: tuple[FakeAPI, str], tmp_path: Path
) -> None:
    api, url = fresh_api
    api.overrides["/media/upload"] = {"errcode": 0, "type": "image"}  # no media_id
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG fake")
    with serve(runtime, dialogs, {"wecom": wecom_channel(url)}) as live:
        live.served.intake.push(_inbound("u-img"), [Reply("本周周报", image_path=str(chart))])
        row = wait_until(lambda: [r for r in outbox_rows(live.runtime) if r.attempts >= 1 and r.status == "pending"])
        assert "media_id" in (row[0].last_error or "")
        api.overrides.clear()
        live.served.scheduler.notifier.deliver_once(_far_future())  # the back-off has passed
    sent = [c.params for c in api.named("/message/send")]
    assert any(p.get("msgtype") == "image" for p in sent) and any(p.get("msgtype") == "text" for p in sent)
    assert [r.status for r in outbox_rows(runtime)] == ["sent"]


def _inbound(user: str) -> Any:
    from bot.channels.base import Inbound

    return Inbound("wecom", user, f"k-{user}", "周报")


def _far_future() -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(hours=2)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_first_messages_of_new_accounts_all_count(
    backend: str, demo_runtime_for: Any, nlu_parser: Any, fresh_api: tuple[FakeAPI, str]
) -> None:
    """4 freshly bound accounts × 3 different visits posted at once → 12 visits, 12 passive replies."""
    from crm_store.models import ChatIdentity, Staff, Visit
    from tests.bot.conftest import DEMO_NOW

    runtime = demo_runtime_for(backend)
    accounts = {  # new OpenID -> (rep, three of that rep's own customers)
        "o-new-0": ("张伟", ["华为", "华润置地", "绿地控股"]),
        "o-new-1": ("李娜", ["万科物业", "比亚迪", "海底捞"]),
        "o-new-2": ("王强", ["长城汽车", "美的集团", "南京银行"]),
        "o-new-3": ("张伟", ["华润医药", "华为", "绿地控股"]),  # a second account of the same rep
    }
    with runtime.factory() as session:
        staff = {s.name: s for s in session.scalars(select(Staff).where(Staff.name.in_(["张伟", "李娜", "王强"])))}
        for member in staff.values():  # they write visits without a 确认 step, as trusted staff do
            member.skip_confirm = True
        for openid, (name, _) in accounts.items():
            session.add(ChatIdentity(channel="wechat", external_id=openid, staff_id=staff[name].id,
                                     bound_at=DEMO_NOW))
        session.commit()
        visits_before = session.query(Visit).count()
    engine = DialogEngine(runtime.factory, nlu_parser, runtime.config, clock=lambda: DEMO_NOW)
    with serve(runtime, engine, {"wechat": oa_channel(fresh_api[1])}) as live:
        jobs = [(openid, f"今天上午拜访了{customer}，聊了新项目", 9000 + u * 10 + m)
                for u, (openid, (_, names)) in enumerate(accounts.items()) for m, customer in enumerate(names)]
        with ThreadPoolExecutor(12) as pool:
            responses = list(pool.map(lambda j: post(live, text_message(j[0], OA, j[1], j[2])), jobs))
        texts = [r.text if r.text == "success" else content(r) for r in responses]
        wait_until(lambda: all(r.status == "done" for r in inbox_rows(runtime)) and len(inbox_rows(runtime)) == 12)
    assert all(t != DM.INTERNAL_ERROR for t in texts)
    with runtime.factory() as session:
        assert session.query(Visit).count() == visits_before + 12
