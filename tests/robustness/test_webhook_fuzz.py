"""Hostile payloads through the HTTP webhooks of the whole `crmbot run` server: Telegram JSON updates with the
right secret, WeChat/WeCom callbacks correctly signed and encrypted. Never a 500, never a logged error, never a
partial write; an acknowledged message is one inbox row at most, processed, and its reply delivered (never
the dialogs' internal-error answer)."""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import and_, func, or_, select
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

from bot.fakes import FakeAPI
from bot.fakes.tencent import Tencent, new_aes_key
from crm_store.db import transaction
from crm_store.models import InboxMessage, OutboxMessage
from crm_store.services import bind_identity, find_staff
from crmbot.wiring import Runtime
from dialogs import DialogEngine
from dialogs import messages as DM
from tests.bot.conftest import Live, serve
from tests.bot.test_telegram import SECRET, Bot
from tests.bot.test_telegram import settings as telegram_settings
from tests.robustness.conftest import HOSTILE, max_ids, snapshot, unaudited
from tests.security.conftest import DEMO_NOW, changed

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
OK_STATUSES = {200, 400, 403, 413}
REP = 31001
_ids = itertools.count(10_000)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                         st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4)), max_leaves=12)
hostile_text = st.one_of(st.sampled_from([t for t in HOSTILE if "\ud800" not in t and "\udfff" not in t]),
                         st.text(max_size=60))


def _bind(runtime: Runtime, channel: str, external_id: str, name: str) -> None:
    with transaction(runtime.factory) as session:
        staff = find_staff(session, name)
        assert staff is not None
        bind_identity(session, channel, external_id, staff_id=staff.id, now=DEMO_NOW)


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


def _settle(runtime: Runtime, timeout: float = 30) -> None:
    """Until every accepted message is processed (or failed, which the error check reports) and every
    message queued for the outbox has been tried: nothing of one example runs on into the next."""
    deadline = time.monotonic() + timeout
    while True:
        with runtime.factory() as session:
            inbox_busy = session.scalar(select(func.count()).select_from(InboxMessage).where(or_(
                InboxMessage.status == "processing",
                and_(InboxMessage.status == "pending", InboxMessage.last_error.is_(None)))))
            outbox_busy = session.scalar(select(func.count()).select_from(OutboxMessage).where(or_(
                OutboxMessage.status == "sending",
                and_(OutboxMessage.status == "pending", OutboxMessage.attempts == 0))))
        if not inbox_busy and not outbox_busy:
            return
        assert time.monotonic() < deadline, f"not settled: inbox {inbox_busy}, outbox {outbox_busy}"
        time.sleep(0.02)


def _undelivered(runtime: Runtime) -> list[tuple[str, str, str | None]]:
    """Replies to a sender that were not handed to the platform (every failure here is a lost reply)."""
    with runtime.factory() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply",
                                                           OutboxMessage.status != "sent"))
        return [(r.idempotency_key, r.status, r.last_error) for r in rows]


def _failed_inbox(runtime: Runtime) -> list[tuple[str, str, str | None]]:
    with runtime.factory() as session:
        rows = session.scalars(select(InboxMessage).where(InboxMessage.status != "done"))
        return [(r.message_key, r.status, r.last_error) for r in rows]


# --- Telegram ------------------------------------------------------------------------------------

@pytest.fixture
def telegram_bot(runtime: Runtime, dialogs: DialogEngine, fresh_api: tuple[FakeAPI, str]) -> Iterator[Bot]:
    api, url = fresh_api
    _bind(runtime, "telegram", str(REP), "张伟")
    with serve(runtime, dialogs, {"telegram": telegram_settings(url)}) as live:
        api.wait_for("/setWebhook")
        yield Bot(api, live)


def _message(text: Any, **extra: Any) -> dict[str, Any]:
    n = next(_ids)
    return {"update_id": n, "message": {"message_id": n, "date": int(time.time()), "text": text,
                                        "from": {"id": REP, "is_bot": False, "first_name": "z"},
                                        "chat": {"id": REP, "type": "private"}, **extra}}


def _drop(update: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    copy = json.loads(json.dumps(update))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node.pop(path[-1], None)
    return copy


telegram_payloads = st.one_of(
    hostile_text.map(_message),  # hostile text, well-formed update
    json_values.map(_message),  # text of the wrong type: number, list, null, nested garbage
    st.sampled_from([("message", "from"), ("message", "chat"), ("message", "date"), ("message", "message_id"),
                     ("message", "text"), ("update_id",)]).map(lambda p: _drop(_message("查一下华为"), p)),
    st.builds(lambda n, garbage: {"update_id": n, "message": garbage}, st.integers(), json_values),
    st.builds(lambda n, key, garbage: {"update_id": n, key: garbage}, st.integers(0, 2**31),
              st.sampled_from(["callback_query", "edited_message", "poll", "x"]), json_values),
    json_values,
)
raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda cut: json.dumps(_message("拜访了华为"))[:cut].encode(), st.integers(0, 150)),
    st.just(b'{"update_id": 1, "message": {"text": "\xff\xfe\xfa"}}'),
    st.just(json.dumps(_message("长" * 600_000)).encode()),  # over the 1 MB limit: 413
    st.just(json.dumps(_message("长" * 100_000)).encode()),  # accepted, answered "too long"
    st.just(json.dumps(_message("a\ud800b\udfff")).encode()),  # lone surrogates, escaped as JSON allows
)


@FUZZ
@given(payload=st.one_of(telegram_payloads.map(lambda p: json.dumps(p).encode()), raw_bodies))
def test_telegram_hostile_updates(telegram_bot: Bot, runtime: Runtime, caplog: pytest.LogCaptureFixture,
                                  payload: bytes) -> None:
    caplog.set_level(logging.WARNING)
    caplog.clear()  # one capture per example
    with runtime.factory() as session:
        baseline = max_ids(session)
    before = snapshot(runtime)
    response = httpx.post(
        f"{telegram_bot.live.url}/telegram/webhook", content=payload,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"}, timeout=30)
    assert response.status_code in OK_STATUSES, (response.status_code, payload[:200])
    if response.status_code != 200:
        assert snapshot(runtime) == before  # refused: nothing at all was written
    _settle(runtime)
    assert changed(before, snapshot(runtime)).get("inbox", 0) <= 1
    assert not _errors(caplog), (_errors(caplog), payload[:200])
    assert not _failed_inbox(runtime) and not _undelivered(runtime), payload[:200]
    assert unaudited(runtime, baseline) == {}
    sent = [c.params.get("text", "") for c in telegram_bot.sent_to(REP)]
    assert DM.INTERNAL_ERROR not in sent


# --- WeChat / WeCom ------------------------------------------------------------------------------

OA = "gh_fuzz"


@pytest.fixture
def tencent_apps(runtime: Runtime, dialogs: DialogEngine, fresh_api: tuple[FakeAPI, str]
                 ) -> Iterator[dict[str, tuple[Live, Tencent]]]:
    _bind(runtime, "wechat", "o-zw", "张伟")
    _bind(runtime, "wecom", "zhangwei", "张伟")
    api = f"{fresh_api[1]}/cgi-bin/"
    oa = {"enabled": True, "app_id": "wxfuzz0000000001", "secret": "s", "token": "tok-fuzz",
          "encoding_aes_key": new_aes_key(), "api_base_url": api}
    work = {"enabled": True, "corp_id": "wwfuzz000000001", "agent_id": "1000002", "secret": "s",
            "token": "tok-wecom-fuzz", "encoding_aes_key": new_aes_key(), "api_base_url": api}
    with serve(runtime, dialogs, {"wechat": oa, "wecom": work}) as live:
        yield {
            "wechat": (live, Tencent(WeChatCrypto(oa["token"], oa["encoding_aes_key"], oa["app_id"]), OA,
                                     oa["token"])),
            "wecom": (live, Tencent(WorkCrypto(work["token"], work["encoding_aes_key"], work["corp_id"]),
                                    work["corp_id"], work["token"])),
        }


def _post(live: Live, kind: str, query: dict[str, str], body: bytes) -> httpx.Response:
    return httpx.post(f"{live.url}/{kind}", params=query, content=body, timeout=30)


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _inner(user: str, kind: str, content: str, msg_id: str, extra: str = "") -> str:
    return (f"<xml><ToUserName>{_cdata(OA)}</ToUserName><FromUserName>{_cdata(user)}</FromUserName>"
            f"<CreateTime>1700000000</CreateTime><MsgType>{_cdata(kind)}</MsgType>"
            f"<Content>{_cdata(content)}</Content><MsgId>{msg_id}</MsgId>{extra}</xml>")


xml_garbage = st.one_of(
    st.just("<Content><a>1</a><b/></Content>"), st.just("<FromUserName><x>y</x></FromUserName>"),
    st.just("<MsgId><![CDATA[]]></MsgId>"), st.just("<Event>subscribe</Event>"), st.just("<Recognition>查一下华为</Recognition>"),
    st.text(st.sampled_from("<>/&;abc\"' "), max_size=20), st.just(""),
)
inner_xml = st.one_of(
    st.builds(lambda text, n: _inner("o-zw", "text", text, str(n)), hostile_text, st.integers(1, 10**12)),
    st.builds(lambda kind, text, extra: _inner("o-zw", kind, text, str(next(_ids)), extra),
              st.sampled_from(["text", "event", "voice", "image", "location", "", "TEXT", "<b>"]), hostile_text,
              xml_garbage),
    st.builds(lambda user, text: _inner(user, "text", text, str(next(_ids))),
              st.text(max_size=30), hostile_text),  # unknown and empty users
    st.builds(lambda cut: _inner("o-zw", "text", "拜访了华为", "5")[:cut], st.integers(0, 200)),  # truncated
    st.builds(lambda n: _inner("o-zw", "text", "长" * n, str(next(_ids))), st.sampled_from([2001, 15_000, 60_000])),
    st.text(max_size=100),
)


def _seal(tencent: Tencent, inner: str | bytes) -> tuple[dict[str, str], bytes]:
    return tencent.callback(inner)  # type: ignore[arg-type]  (wechatpy takes bytes as well)


@FUZZ
@given(kind=st.sampled_from(["wechat", "wecom"]),
       inner=st.one_of(inner_xml, inner_xml.map(lambda x: x.encode("utf-8")[:-3] + b"\xff\xfe</xml>"),
                       st.binary(max_size=100)))
def test_tencent_hostile_callbacks(tencent_apps: dict[str, tuple[Live, Tencent]], runtime: Runtime,
                                   caplog: pytest.LogCaptureFixture, kind: str, inner: str | bytes) -> None:
    caplog.set_level(logging.ERROR)
    caplog.clear()
    live, tencent = tencent_apps[kind]
    with runtime.factory() as session:
        baseline = max_ids(session)
    before = snapshot(runtime)
    query, body = _seal(tencent, inner)
    response = _post(live, kind, query, body)
    assert response.status_code in OK_STATUSES, (response.status_code, inner[:200])
    if response.status_code != 200:
        assert snapshot(runtime) == before  # refused: nothing at all was written
    elif response.text != "success":
        reply = tencent.open_reply(response.text)
        assert reply["Content"] and DM.INTERNAL_ERROR not in reply["Content"]
    _settle(runtime)  # a reply that missed the passive window is pushed from the outbox meanwhile
    assert changed(before, snapshot(runtime)).get("inbox", 0) <= 1
    assert not _errors(caplog), _errors(caplog)
    assert not _failed_inbox(runtime) and not _undelivered(runtime), inner[:200]
    assert unaudited(runtime, baseline) == {}


@FUZZ
@given(body=st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    st.builds(lambda cut: b"<xml><ToUserName>x</ToUserName><Encrypt><![CDATA[" + b"QUJD" * 40 + b"]]></Encrypt></xml>"[:cut],
              st.integers(0, 250)),
    st.sampled_from([b"<xml><Encrypt><a>b</a></Encrypt></xml>", b"<xml><Encrypt></Encrypt></xml>",
                     b"<xml>" + b"<a>" * 5000 + b"</xml>", b"\xef\xbb\xbf<xml><Encrypt>x</Encrypt></xml>",
                     b"<xml><Encrypt>" + b"A" * 70_000 + b"</Encrypt></xml>"]),
))
def test_tencent_garbage_bodies_with_valid_query(tencent_apps: dict[str, tuple[Live, Tencent]],
                                                 runtime: Runtime, body: bytes) -> None:
    live, tencent = tencent_apps["wechat"]
    query, _ = tencent.callback("<xml/>")
    before = snapshot(runtime)
    response = _post(live, "wechat", query, body)
    assert response.status_code in {400, 403, 413}, (response.status_code, body[:100])
    assert snapshot(runtime) == before


@pytest.mark.parametrize("update", [
    _message({"a": 1}), _message(["查一下华为"]), _message(12345), _message(True),
    {**_message("x"), "message": {**_message("x")["message"], "chat": {"id": "42", "type": "private"}}},
    {**_message("x"), "message": {**_message("x")["message"], "date": False}},
    {"update_id": 5, "callback_query": {"id": "q", "from": {"id": REP, "is_bot": False}, "data": {"x": 1}}},
    {"update_id": 6, "callback_query": {"id": 7, "from": {"id": REP, "is_bot": False}, "data": "同意"}},
    _message("a\ud800b"),  # a lone surrogate: valid JSON, not storable text (was a 500 at the inbox INSERT)
], ids=["text-dict", "text-list", "text-int", "text-bool", "chat-id-str", "date-bool", "cb-data-dict", "cb-id-int",
        "lone-surrogate"])
def test_telegram_wrong_types_are_refused_before_the_handlers(runtime: Runtime, update: dict[str, Any]) -> None:
    """Regression: PTB's de_json accepts these and the handler then crashed after a 200. Refused before the
    inbox: nothing is acknowledged that could not be processed."""
    from tests.security.test_channel_auth import _telegram

    client = _telegram(runtime, SECRET)
    before = snapshot(runtime)
    response = client.post("/telegram/webhook", content=json.dumps(update),  # ASCII: escapes as Telegram sends
                           headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"})
    assert response.status_code == 400 and snapshot(runtime) == before
