"""Hostile payloads through the HTTP webhooks: Telegram JSON updates with the right secret, WeChat/WeCom
callbacks correctly signed and encrypted. Never a 500, never a crash in the handlers, never a partial write."""

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
from starlette.testclient import TestClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

from bot.http import build_app
from bot.telegram import TelegramChannel
from bot.wechat import WeChatChannel
from bot.wecom import WeComChannel
from crm_store.db import transaction
from crm_store.services import bind_identity, find_staff
from crmbot.config import WeChatSettings, WeComSettings
from crmbot.wiring import Runtime
from dialogs import DialogEngine
from dialogs import messages as dmsg
from tests.bot.conftest import Tencent, new_aes_key
from tests.bot.fakes import FakeAPI, ServerThread
from tests.bot.test_telegram import SECRET, Bot, _settings
from tests.robustness.conftest import HOSTILE, max_ids, snapshot, unaudited
from tests.security.conftest import DEMO_NOW, changed

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
OK_STATUSES = {200, 400, 403, 413}
REP, SENTINEL = 31001, 31002
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


# --- Telegram ------------------------------------------------------------------------------------

@pytest.fixture
def telegram_bot(runtime: Runtime, dialogs: DialogEngine, fresh_api: tuple[FakeAPI, str]) -> Iterator[Bot]:
    api, url = fresh_api
    _bind(runtime, "telegram", str(REP), "张伟")
    channel = TelegramChannel(_settings(url), dialogs)
    with ServerThread(build_app(runtime, telegram=channel)) as server:
        yield Bot(api, server)


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


def _settle(bot: Bot, timeout: float = 20) -> None:
    """PTB handles updates one at a time: once a sentinel update is answered, the ones before it are done."""
    before = len(bot.sent_to(SENTINEL))
    n = next(_ids)
    sentinel = {"update_id": n, "message": {"message_id": n, "date": int(time.time()), "text": "你好",
                                            "from": {"id": SENTINEL, "is_bot": False, "first_name": "s"},
                                            "chat": {"id": SENTINEL, "type": "private"}}}
    assert bot.post(sentinel).status_code == 200
    deadline = time.monotonic() + timeout
    while len(bot.sent_to(SENTINEL)) <= before:
        assert time.monotonic() < deadline, "telegram handlers stuck"
        time.sleep(0.01)


@FUZZ
@given(payload=st.one_of(telegram_payloads.map(lambda p: json.dumps(p).encode()), raw_bodies))
def test_telegram_hostile_updates(telegram_bot: Bot, runtime: Runtime, caplog: pytest.LogCaptureFixture,
                                  payload: bytes) -> None:
    caplog.set_level(logging.WARNING)
    caplog.clear()  # one capture per example
    with runtime.factory() as session:
        baseline = max_ids(session)
    response = httpx.post(f"{telegram_bot.server.url}/telegram/webhook", content=payload,
                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"},
                          timeout=30)
    assert response.status_code in OK_STATUSES, (response.status_code, payload[:200])
    _settle(telegram_bot)
    assert not _errors(caplog), (_errors(caplog), payload[:200])
    assert unaudited(runtime, baseline) == {}
    sent = [c.params.get("text", "") for c in telegram_bot.sent_to(REP)]
    assert dmsg.INTERNAL_ERROR not in sent


# --- WeChat / WeCom ------------------------------------------------------------------------------

OA = "gh_fuzz"


@pytest.fixture
def tencent_apps(runtime: Runtime, dialogs: DialogEngine) -> dict[str, tuple[TestClient, Tencent]]:
    _bind(runtime, "wechat", "o-zw", "张伟")
    _bind(runtime, "wecom", "zhangwei", "张伟")
    oa = WeChatSettings(enabled=True, app_id="wxfuzz0000000001", secret="s", token="tok-fuzz",
                        encoding_aes_key=new_aes_key())
    work = WeComSettings(enabled=True, corp_id="wwfuzz000000001", agent_id="1000002", secret="s",
                         token="tok-wecom-fuzz", encoding_aes_key=new_aes_key())
    app = build_app(runtime, wechat=WeChatChannel(oa, dialogs, sender=None),
                    wecom=WeComChannel(work, dialogs, sender=None))
    client = TestClient(app)
    return {
        "wechat": (client, Tencent(WeChatCrypto(oa.token.get_secret_value(), oa.encoding_aes_key.get_secret_value(), oa.app_id), OA, oa.token.get_secret_value())),
        "wecom": (client, Tencent(WorkCrypto(work.token.get_secret_value(), work.encoding_aes_key.get_secret_value(), work.corp_id), work.corp_id,
                                  work.token.get_secret_value())),
    }


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
def test_tencent_hostile_callbacks(tencent_apps: dict[str, tuple[TestClient, Tencent]], runtime: Runtime,
                                   caplog: pytest.LogCaptureFixture, kind: str, inner: str | bytes) -> None:
    caplog.set_level(logging.ERROR)
    caplog.clear()
    client, tencent = tencent_apps[kind]
    with runtime.factory() as session:
        baseline = max_ids(session)
    before = snapshot(runtime)
    query, body = _seal(tencent, inner)
    response = client.post(f"/{kind}", params=query, content=body)
    assert response.status_code in OK_STATUSES, (response.status_code, inner[:200])
    if response.status_code != 200:
        assert snapshot(runtime) == before  # refused: nothing at all was written
    elif response.text != "success":
        reply = tencent.open_reply(response.text)
        assert reply["Content"] and dmsg.INTERNAL_ERROR not in reply["Content"]
    assert changed(before, snapshot(runtime)).get("processed_message", 0) <= 1
    assert not _errors(caplog), _errors(caplog)
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
def test_tencent_garbage_bodies_with_valid_query(tencent_apps: dict[str, tuple[TestClient, Tencent]],
                                                 runtime: Runtime, body: bytes) -> None:
    client, tencent = tencent_apps["wechat"]
    query, _ = tencent.callback("<xml/>")
    before = snapshot(runtime)
    response = client.post("/wechat", params=query, content=body)
    assert response.status_code in {400, 403, 413}, (response.status_code, body[:100])
    assert snapshot(runtime) == before


@pytest.mark.parametrize("update", [
    _message({"a": 1}), _message(["查一下华为"]), _message(12345), _message(True),
    {**_message("x"), "message": {**_message("x")["message"], "chat": {"id": "42", "type": "private"}}},
    {**_message("x"), "message": {**_message("x")["message"], "date": False}},
    {"update_id": 5, "callback_query": {"id": "q", "from": {"id": REP, "is_bot": False}, "data": {"x": 1}}},
    {"update_id": 6, "callback_query": {"id": 7, "from": {"id": REP, "is_bot": False}, "data": "同意"}},
], ids=["text-dict", "text-list", "text-int", "text-bool", "chat-id-str", "date-bool", "cb-data-dict", "cb-id-int"])
def test_telegram_wrong_types_are_refused_before_the_handlers(dialogs: DialogEngine, update: dict[str, Any]) -> None:
    """Regression: PTB's de_json accepts these and the handler then crashed after a 200."""
    from tests.security.test_channel_auth import _telegram

    client, channel = _telegram(dialogs, SECRET)
    response = client.post("/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status_code == 400 and channel.application.update_queue.empty()
