"""Telegram: the real PTB Application against a fake Bot API on 127.0.0.1, updates posted over HTTP to
our webhook route. Full flow: rep submits an order → manager taps 批准 → rep notified."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot import buttons
from bot import messages as BM
from bot.http import build_app
from bot.senders import TelegramSender
from bot.telegram import SECRET_HEADER, TelegramChannel
from crm_store.models import ApprovalStep, AuditLog, ProcessedMessage
from crmbot.config import SchedulerSettings, TelegramSettings
from crmbot.wiring import Runtime
from dialogs import DialogEngine, Reply
from dialogs import messages as dmsg
from dialogs.reply import Button
from tests.bot.conftest import DEMO_NOW, invite
from tests.bot.fakes import BOT_USER, FakeAPI, ServerThread

TOKEN = "123456:TEST-token"
SECRET = "s3cr3t-header-value"
REP, MANAGER = 1001, 2002
_ids = itertools.count(1)


def _settings(url: str, *, webhook: bool = True) -> TelegramSettings:
    return TelegramSettings(enabled=True, token=TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot",
                            webhook_url="https://bot.example.com/telegram/webhook" if webhook else "",
                            webhook_secret=SECRET)


def _user(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": f"u{uid}"}


def text_update(uid: int, text: str) -> dict[str, Any]:
    n = next(_ids)
    return {"update_id": n, "message": {"message_id": n, "date": int(time.time()), "from": _user(uid),
                                        "chat": {"id": uid, "type": "private"}, "text": text}}


def callback_update(uid: int, sent: dict[str, Any], data: str, query_id: str) -> dict[str, Any]:
    message = {**sent, "reply_markup": sent.get("reply_markup")} if sent.get("reply_markup") else sent
    return {"update_id": next(_ids), "callback_query": {"id": query_id, "from": _user(uid), "chat_instance": "ci",
                                                        "data": data, "message": message}}


class Bot:
    """Our app with PTB inside, served on a real socket; posts updates like Telegram does."""

    def __init__(self, api: FakeAPI, server: ServerThread) -> None:
        self.api, self.server = api, server

    def post(self, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        return httpx.post(f"{self.server.url}/telegram/webhook", json=update, headers=headers)

    def say(self, uid: int, text: str, expect: int = 1) -> list[str]:
        """Post a text message; wait until `expect` more messages were sent to that chat."""
        before = len(self.sent_to(uid))
        assert self.post(text_update(uid, text)).status_code == 200
        deadline = time.monotonic() + 20
        while len(self.sent_to(uid)) < before + expect:
            assert time.monotonic() < deadline, f"no reply to {text!r}: {self.sent_to(uid)}"
            time.sleep(0.02)
        return [c.params.get("text", "") for c in self.sent_to(uid)[before:]]

    def sent_to(self, uid: int) -> list[Any]:
        return [c for c in self.api.named("/sendMessage") if int(c.params["chat_id"]) == uid]


@pytest.fixture
def telegram(runtime: Runtime, dialogs: DialogEngine, fresh_api: tuple[FakeAPI, str]) -> Iterator[Bot]:
    api, url = fresh_api
    channel = TelegramChannel(_settings(url), dialogs)
    with ServerThread(build_app(runtime, telegram=channel)) as server:
        yield Bot(api, server)


def _deliver_outbox(runtime: Runtime, url: str) -> None:
    from scheduler.clock import FakeClock
    from scheduler.notifier import Notifier

    notifier = Notifier(runtime.factory, {"telegram": TelegramSender(_settings(url))}, SchedulerSettings(),
                        runtime.config.tz, clock=FakeClock(DEMO_NOW), worker_id="test")
    notifier.deliver_once(DEMO_NOW)


def _count(runtime: Runtime, model: type, *where: Any) -> int:
    with runtime.factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_startup_calls_getme_and_setwebhook_with_secret(telegram: Bot) -> None:
    assert telegram.api.named("/getMe")
    hook = telegram.api.wait_for("/setWebhook")[0].params
    assert hook["url"] == "https://bot.example.com/telegram/webhook" and hook["secret_token"] == SECRET
    assert httpx.get(f"{telegram.server.url}/healthz").json()["status"] == "ok"


def test_secret_header_is_checked(telegram: Bot, runtime: Runtime) -> None:
    before = _count(runtime, ProcessedMessage)
    assert telegram.post(text_update(REP, "你好"), secret=None).status_code == 403
    assert telegram.post(text_update(REP, "你好"), secret="wrong").status_code == 403
    assert telegram.post({"update_id": "x", "message": 5}).status_code == 400
    huge = text_update(REP, "长" * (2 * 1024 * 1024))
    assert telegram.post(huge).status_code == 413
    time.sleep(0.3)
    assert _count(runtime, ProcessedMessage) == before and not telegram.sent_to(REP)


def test_order_approval_flow_with_buttons(telegram: Bot, runtime: Runtime, fresh_api: tuple[FakeAPI, str]) -> None:
    api, url = fresh_api
    assert telegram.say(REP, "查一下华为") == [dmsg.UNKNOWN_USER]
    assert "绑定成功" in telegram.say(REP, f"绑定 {invite(runtime, '张伟')}")[0]
    assert "绑定成功" in telegram.say(MANAGER, f"绑定 {invite(runtime, '陈静')}")[0]

    assert "确认" in telegram.say(REP, "给华为下单 服务器2台")[0]
    submitted = telegram.say(REP, "确认")
    assert "已提交" in submitted[0] and "SO20261127002" in submitted[0]
    assert not telegram.sent_to(MANAGER)[1:]  # the manager's notice goes through the outbox, not the reply

    _deliver_outbox(runtime, url)
    notice = telegram.sent_to(MANAGER)[-1]
    assert "待审批" in notice.params["text"]
    keyboard = notice.params["reply_markup"]["inline_keyboard"]
    labels = {b["text"]: b["callback_data"] for row in keyboard for b in row}
    assert labels == {"批准": "同意 SO20261127002", "驳回": "驳回 SO20261127002"}

    message = {**notice.result, "reply_markup": notice.params["reply_markup"]}
    approved = _count(runtime, ApprovalStep, ApprovalStep.status == "approved")
    started = time.monotonic()
    assert telegram.post(callback_update(MANAGER, message, labels["批准"], "cbq-1")).status_code == 200
    edited = api.wait_for("/editMessageText")[0].params
    elapsed_ms = (time.monotonic() - started) * 1000
    assert int(edited["message_id"]) == notice.result["message_id"]
    assert "→ 批准：已批准订单 SO20261127002" in edited["text"]
    assert "reply_markup" not in edited  # the buttons are gone
    assert api.wait_for("/answerCallbackQuery")[0].params["callback_query_id"] == "cbq-1"

    # A double tap (a second callback id for the same button) is answered, nothing applied twice.
    assert telegram.post(callback_update(MANAGER, message, labels["批准"], "cbq-2")).status_code == 200
    answers = api.wait_for("/answerCallbackQuery", 2)
    assert answers[1].params.get("text") == BM.CALLBACK_STALE
    time.sleep(0.2)
    assert len(api.named("/editMessageText")) == 1
    assert _count(runtime, ApprovalStep, ApprovalStep.status == "approved") == approved + 1
    key = f"cb:{MANAGER}:{notice.result['message_id']}:{labels['批准']}"
    assert _count(runtime, AuditLog, AuditLog.action == "order.approve", AuditLog.via_message == key) == 1

    _deliver_outbox(runtime, url)
    assert "已批准" in telegram.sent_to(REP)[-1].params["text"]
    print(f"\ncallback → editMessageText round trip: {elapsed_ms:.0f} ms")


class StubDialogs:
    """Dialogs answering with a long text, a picture and a long-button pick list."""

    def __init__(self, factory: Any, image: Path) -> None:
        self.factory = factory
        self.image = image
        self.seen: list[tuple[str, str, str | None]] = []

    def handle(self, channel: str, external_id: str, text: str, *, message_id: str | None = None,
               now: Any = None) -> list[Reply]:
        self.seen.append((external_id, text, message_id))
        long_choice = "选第一个：华润置地有限公司（北京朝阳区建国路八十八号华润大厦二十层）"
        return [Reply("长" * 9000), Reply("周报", image_path=str(self.image)),
                Reply("选哪个？", buttons=(Button("1", long_choice), Button("2", "2"))),
                Reply("给别人的", to_staff_id=1)]


def test_long_text_photo_and_long_button(runtime: Runtime, fresh_api: tuple[FakeAPI, str], tmp_path: Path) -> None:
    api, url = fresh_api
    image = tmp_path / "chart.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    stub = StubDialogs(runtime.factory, image)
    channel = TelegramChannel(_settings(url), stub)  # type: ignore[arg-type]
    with ServerThread(build_app(runtime, telegram=channel)) as server:
        bot = Bot(api, server)
        texts = bot.say(REP, "周报", expect=4)
        photo = api.wait_for("/sendPhoto")[0]
    assert [len(t) for t in texts[:3]] == [4096, 4096, 808]
    assert texts[3] == "选哪个？" and "给别人的" not in texts
    assert photo.params["caption"] == "周报" and photo.files["photo"].startswith(b"\x89PNG")
    data = [b["callback_data"] for row in bot.sent_to(REP)[-1].params["reply_markup"]["inline_keyboard"]
            for b in row]
    assert all(len(d.encode()) <= 64 for d in data) and buttons.decode(data[0]).startswith("选第一个")
    assert stub.seen == [(str(REP), "周报", f"{REP}:{stub.seen[0][2].split(':')[1]}")]


def test_polling_mode(runtime: Runtime, dialogs: DialogEngine, fresh_api: tuple[FakeAPI, str]) -> None:
    api, url = fresh_api
    channel = TelegramChannel(_settings(url, webhook=False), dialogs)
    with ServerThread(build_app(runtime, telegram=channel)) as server:
        with api.lock:
            api.updates.append(text_update(REP, "你好"))
        deadline = time.monotonic() + 20
        while not Bot(api, server).sent_to(REP):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # No webhook route is needed in polling mode, but a stray POST is still refused.
        assert Bot(api, server).post(text_update(REP, "x"), secret="nope").status_code == 403
    assert Bot(api, server).sent_to(REP)[0].params["text"] == dmsg.UNKNOWN_USER
    assert api.named("/deleteWebhook") and not api.named("/setWebhook")
    assert BOT_USER["username"] == "crm_test_bot"


def test_sync_sender_splits_and_sends_photos(fresh_api: tuple[FakeAPI, str], tmp_path: Path) -> None:
    api, url = fresh_api
    sender = TelegramSender(_settings(url))
    sender.send(str(REP), Reply("a" * 5000, buttons=(Button("批准", "同意 SO1"),)))
    image = tmp_path / "c.png"
    image.write_bytes(b"\x89PNG....")
    sender.send(str(REP), Reply("图", image_path=str(image)))
    sent = api.named("/sendMessage")
    assert [len(c.params["text"]) for c in sent] == [4096, 904]
    assert "reply_markup" not in sent[0].params and sent[1].params["reply_markup"]["inline_keyboard"]
    assert api.named("/sendPhoto")[0].files["photo"] == b"\x89PNG...."
    export = tmp_path / "visits-202611.xlsx"
    export.write_bytes(b"PK\x03\x04 xlsx")
    sender.send(str(REP), Reply("已导出3条拜访记录", file_path=str(export)))
    assert api.named("/sendDocument")[0].files["document"] == b"PK\x03\x04 xlsx"
