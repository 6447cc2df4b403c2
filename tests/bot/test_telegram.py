"""Telegram: the whole `crmbot run` server with PTB's Bot against a fake Bot API on 127.0.0.1, updates
posted over HTTP to our webhook route. Every 200 means the update is in the inbox; replies come from the
outbox. Full flow: rep submits an order → manager taps 批准 → rep notified."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot import buttons
from bot import messages as BM
from bot.channels.telegram import SECRET_HEADER
from bot.fakes import FakeAPI
from bot.fakes.telegram import BOT_USER, callback_update, text_update
from crm_store.models import ApprovalStep, AuditLog, InboxMessage
from crmbot.wiring import Runtime
from dialogs import DialogEngine, Reply
from dialogs import messages as DM
from dialogs.reply import Button, Outcome
from tests.bot.conftest import Live, count, invite, serve

TOKEN = "123456:TEST-token"
SECRET = "s3cr3t-header-value"
REP, MANAGER = 1001, 2002


def settings(url: str, *, webhook: bool = True, **kw: Any) -> dict[str, Any]:
    return {"enabled": True, "token": TOKEN, "base_url": f"{url}/bot", "base_file_url": f"{url}/file/bot",
            "webhook_url": "https://bot.example.com/telegram/webhook" if webhook else "",
            "webhook_secret": SECRET, **kw}


class Bot:
    """Posts updates to our server like Telegram does; reads what our server sent to the fake API."""

    def __init__(self, api: FakeAPI, live: Live) -> None:
        self.api, self.live = api, live

    def post(self, update: dict[str, Any], secret: str | None = SECRET, **kw: Any) -> httpx.Response:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        return httpx.post(f"{self.live.url}/telegram/webhook", json=update, headers=headers, **kw)

    def say(self, uid: int, text: str, expect: int = 1) -> list[str]:
        """Post a text message; wait until `expect` more messages were sent to that chat."""
        before = len(self.sent_to(uid))
        assert self.post(text_update(uid, text)).status_code == 200
        self.wait_sent(uid, before + expect, text)
        return [c.params.get("text", "") for c in self.sent_to(uid)[before:]]

    def wait_sent(self, uid: int, total: int, what: str = "") -> None:
        deadline = time.monotonic() + 20
        while len(self.sent_to(uid)) < total:
            assert time.monotonic() < deadline, f"no reply to {what!r}: {self.sent_to(uid)}"
            time.sleep(0.02)

    def sent_to(self, uid: int) -> list[Any]:
        return [c for c in self.api.named("/sendMessage") if int(c.params["chat_id"]) == uid]


@pytest.fixture
def telegram(runtime: Runtime, dialogs: DialogEngine, fresh_api: tuple[FakeAPI, str]) -> Iterator[Bot]:
    api, url = fresh_api
    with serve(runtime, dialogs, {"telegram": settings(url)}) as live:
        api.wait_for("/setWebhook")
        yield Bot(api, live)


def test_startup_calls_getme_and_setwebhook_with_secret(telegram: Bot) -> None:
    assert telegram.api.named("/getMe")
    hook = telegram.api.wait_for("/setWebhook")[0].params
    assert hook["url"] == "https://bot.example.com/telegram/webhook" and hook["secret_token"] == SECRET
    health = httpx.get(f"{telegram.live.url}/healthz").json()
    assert health["status"] == "ok" and health["channels"] == {"telegram": "ok"} and health["nlu"] == "ok"


def test_secret_size_shape_and_depth_are_checked(telegram: Bot, runtime: Runtime) -> None:
    assert telegram.post(text_update(REP, "你好"), secret=None).status_code == 403
    assert telegram.post(text_update(REP, "你好"), secret="wrong").status_code == 403
    assert telegram.post({"update_id": "x", "message": 5}).status_code == 400
    assert telegram.post(text_update(REP, "长" * (2 * 1024 * 1024))).status_code == 413
    deep = '{"update_id": 1, "x": ' + "[" * 100000 + "]" * 100000 + "}"
    response = httpx.post(f"{telegram.live.url}/telegram/webhook", content=deep,
                          headers={SECRET_HEADER: SECRET, "content-type": "application/json"})
    assert response.status_code == 400
    time.sleep(0.3)
    assert count(runtime, InboxMessage) == 0 and not telegram.sent_to(REP)


def test_acknowledged_means_committed_and_a_copy_gets_no_second_reply(telegram: Bot, runtime: Runtime) -> None:
    update = text_update(REP, "你好")
    for _ in range(6):  # Telegram (or a proxy) posting the same update again
        assert telegram.post(update).status_code == 200
        with runtime.factory() as session:  # the 200 came after the commit
            assert session.scalar(select(InboxMessage.text)) == "你好"
    telegram.wait_sent(REP, 1)
    time.sleep(0.5)
    assert [c.params["text"] for c in telegram.sent_to(REP)] == [DM.UNKNOWN_USER]
    assert count(runtime, InboxMessage) == 1


def test_non_text_is_answered_in_the_webhook_response(telegram: Bot, runtime: Runtime) -> None:
    update = text_update(REP, "x")
    del update["message"]["text"]
    update["message"]["photo"] = [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]
    answer = telegram.post(update).json()
    assert answer == {"method": "sendMessage", "chat_id": REP, "text": BM.NON_TEXT}
    assert count(runtime, InboxMessage) == 0


def test_voice_is_answered_with_a_request_for_text(telegram: Bot, runtime: Runtime) -> None:
    """Issue 17: Telegram sends voice as audio only; no offline recogniser is installed, so ask for text."""
    update = text_update(REP, "x")
    del update["message"]["text"]
    update["message"]["voice"] = {"file_id": "v", "file_unique_id": "u", "duration": 4, "mime_type": "audio/ogg"}
    answer = telegram.post(update).json()
    assert answer == {"method": "sendMessage", "chat_id": REP, "text": BM.VOICE_NEEDS_TEXT}
    assert count(runtime, InboxMessage) == 0


def test_order_approval_flow_with_buttons(telegram: Bot, runtime: Runtime) -> None:
    api = telegram.api
    assert telegram.say(REP, "查一下华为") == [DM.UNKNOWN_USER]
    assert "绑定成功" in telegram.say(REP, f"绑定 {invite(runtime, '张伟')}")[0]
    assert "绑定成功" in telegram.say(MANAGER, f"绑定 {invite(runtime, '陈静')}")[0]

    assert "确认" in telegram.say(REP, "给华为下单 服务器2台")[0]
    submitted = telegram.say(REP, "确认")
    assert "已提交" in submitted[0] and "SO20261127002" in submitted[0]

    telegram.wait_sent(MANAGER, 2, "the approval notice")  # the outbox delivers it to the manager
    notice = telegram.sent_to(MANAGER)[-1]
    assert "待审批" in notice.params["text"]
    keyboard = notice.params["reply_markup"]["inline_keyboard"]
    labels = {b["text"]: b["callback_data"] for row in keyboard for b in row}
    assert labels == {"批准": "同意 SO20261127002", "驳回": "驳回 SO20261127002"}

    message = notice.result
    approved = count(runtime, ApprovalStep, ApprovalStep.status == "approved")
    started = time.monotonic()
    tap = telegram.post(callback_update(MANAGER, message, labels["批准"], "cbq-1"))
    assert tap.json() == {"method": "answerCallbackQuery", "callback_query_id": "cbq-1"}  # spinner stops
    edited = api.wait_for("/editMessageText")[0].params
    elapsed_ms = (time.monotonic() - started) * 1000
    assert int(edited["message_id"]) == message["message_id"]
    assert "→ 批准：已批准订单 SO20261127002" in edited["text"]
    assert "reply_markup" not in edited  # the buttons are gone

    # A double tap (a second callback id for the same button) is answered, nothing applied twice.
    again = telegram.post(callback_update(MANAGER, message, labels["批准"], "cbq-2")).json()
    assert again["text"] == BM.CALLBACK_STALE and again["callback_query_id"] == "cbq-2"
    time.sleep(0.3)
    assert len(api.named("/editMessageText")) == 1
    assert count(runtime, ApprovalStep, ApprovalStep.status == "approved") == approved + 1
    key = f"cb:{MANAGER}:{message['message_id']}:{labels['批准']}"
    assert count(runtime, AuditLog, AuditLog.action == "order.approve", AuditLog.via_message == key) == 1

    deadline = time.monotonic() + 20  # the outbox tells the rep
    while "已批准" not in telegram.sent_to(REP)[-1].params["text"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    print(f"\ncallback → editMessageText round trip: {elapsed_ms:.0f} ms")


class StubDialogs:
    """Dialogs answering with a long text, a picture and a long-button pick list."""

    def __init__(self, factory: Any, image: Path) -> None:
        self.factory = factory
        self.image = image
        self.seen: list[tuple[str, str, str | None]] = []

    def process(self, channel: str, external_id: str, text: str, *, message_id: str | None = None,
                now: Any = None, finish: Any = None) -> Outcome:
        self.seen.append((external_id, text, message_id))
        long_choice = "选第一个：华润置地有限公司（北京朝阳区建国路八十八号华润大厦二十层）"
        outcome = Outcome([Reply("长" * 9000), Reply("周报", image_path=str(self.image)),
                           Reply("选哪个？", buttons=(Button("1", long_choice), Button("2", "2")))],
                          [Reply("给别人的", to_staff_id=1)])
        with self.factory() as session:
            finish(session, outcome)
            session.commit()
        return outcome


def test_long_text_photo_and_long_button(runtime: Runtime, fresh_api: tuple[FakeAPI, str], tmp_path: Path) -> None:
    api, url = fresh_api
    image = tmp_path / "chart.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    stub = StubDialogs(runtime.factory, image)
    with serve(runtime, stub, {"telegram": settings(url)}) as live:
        bot = Bot(api, live)
        texts = bot.say(REP, "周报", expect=4)
        photo = api.wait_for("/sendPhoto")[0]
    assert [len(t) for t in texts[:3]] == [4096, 4096, 808]
    assert texts[3] == "选哪个？" and "给别人的" not in texts
    assert photo.params["caption"] == "周报" and photo.files["photo"].startswith(b"\x89PNG")
    data = [b["callback_data"] for row in bot.sent_to(REP)[-1].params["reply_markup"]["inline_keyboard"]
            for b in row]
    assert all(len(d.encode()) <= 64 for d in data)
    # The long one travels as a key any process can read (here: a second server on the same database).
    with serve(runtime, stub, {"telegram": settings(url)}, node_id="other-node") as other:
        assert buttons.decode(data[0], other.served.intake.recall_button).startswith("选第一个")
    assert stub.seen == [(str(REP), "周报", f"{REP}:{stub.seen[0][2].split(':')[1]}")]


def test_polling_mode(runtime: Runtime, dialogs: DialogEngine, fresh_api: tuple[FakeAPI, str]) -> None:
    api, url = fresh_api
    with serve(runtime, dialogs, {"telegram": settings(url, webhook=False, webhook_secret="")}) as live:
        bot = Bot(api, live)
        with api.lock:
            api.updates.append(text_update(REP, "你好"))
        bot.wait_sent(REP, 1, "你好")
        # No webhook is registered in polling mode, and a stray POST is refused.
        assert bot.post(text_update(REP, "x"), secret="nope").status_code == 403
    assert bot.sent_to(REP)[0].params["text"] == DM.UNKNOWN_USER
    assert api.named("/deleteWebhook") and not api.named("/setWebhook")
    assert BOT_USER["username"] == "crm_test_bot"


def test_unreachable_telegram_does_not_take_wechat_down(runtime: Runtime, dialogs: DialogEngine,
                                                        fresh_api: tuple[FakeAPI, str]) -> None:
    from tests.bot.test_wechat import OA, content, oa_channel, post, text_message

    dead = "http://127.0.0.1:9"  # nothing listens there: like api.telegram.org seen from mainland China
    said: list[str] = []
    with serve(runtime, dialogs, {"telegram": settings(dead, request_timeout_seconds=0.5),
                                  "wechat": oa_channel(fresh_api[1])}) as live:
        live.served.app.state.channels.announce = said.append
        deadline = time.monotonic() + 20
        while httpx.get(f"{live.url}/healthz").json()["channels"]["telegram"] == "starting":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        health = httpx.get(f"{live.url}/healthz").json()
        assert health["channels"]["telegram"].startswith("failed") and health["channels"]["wechat"] == "ok"
        assert health["status"] == "ok"
        assert content(post(live, text_message("o-any", OA, "你好", 77))) == DM.UNKNOWN_USER


def test_sends_go_through_ptb_and_split_photos_and_files(runtime: Runtime, dialogs: DialogEngine,
                                                         fresh_api: tuple[FakeAPI, str], tmp_path: Path) -> None:
    api, url = fresh_api
    with serve(runtime, dialogs, {"telegram": settings(url)}) as live:
        channel = live.served.intake.channels["telegram"]
        api.wait_for("/setWebhook")
        channel.send(str(REP), Reply("a" * 5000, buttons=(Button("批准", "同意 SO1"),)))
        image = tmp_path / "c.png"
        image.write_bytes(b"\x89PNG....")
        channel.send(str(REP), Reply("图", image_path=str(image)))
        export = tmp_path / "visits-202611.xlsx"
        export.write_bytes(b"PK\x03\x04 xlsx")
        channel.send(str(REP), Reply("已导出3条拜访记录", file_path=str(export)))
    sent = api.named("/sendMessage")
    assert [len(c.params["text"]) for c in sent] == [4096, 904, 9]
    assert "reply_markup" not in sent[0].params and sent[1].params["reply_markup"]["inline_keyboard"]
    assert api.named("/sendPhoto")[0].files["photo"] == b"\x89PNG...."
    assert api.named("/sendDocument")[0].files["document"] == b"PK\x03\x04 xlsx"
