"""A fake Telegram Bot API (under /bot<token>/<method>) and builders of the updates Telegram posts."""

from __future__ import annotations

import itertools
import time
from typing import Any

from bot.fakes.server import FakeAPI, fake_platform

BOT_USER = {"id": 777000, "is_bot": True, "first_name": "销售助手", "username": "crm_test_bot"}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_ids = itertools.count(int(time.time() * 1000) % 10**9)


@fake_platform("/bot")
def telegram_api(api: FakeAPI, path: str, params: dict[str, Any]) -> dict[str, Any]:
    method = path.rsplit("/", 1)[-1]
    return {"ok": True, "result": _result(api, method, params)}


def _result(api: FakeAPI, method: str, params: dict[str, Any]) -> Any:
    if method == "getMe":
        return BOT_USER
    if method == "getUpdates":
        with api.lock:
            offset = int(params.get("offset") or 0)
            pending = [u for u in api.updates if u["update_id"] >= offset]
        if not pending:
            time.sleep(0.05)
        return pending
    if method in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText"):
        message_id = int(params.get("message_id") or api.next("telegram_message", 5000))
        message: dict[str, Any] = {
            "message_id": message_id, "date": int(time.time()),
            "chat": {"id": int(params.get("chat_id") or 0), "type": "private"}, "from": BOT_USER,
        }
        if method == "sendPhoto":
            message["photo"] = [{"file_id": "p1", "file_unique_id": "u1", "width": 10, "height": 10}]
            message["caption"] = params.get("caption", "")
        elif method == "sendDocument":
            message["document"] = {"file_id": "d1", "file_unique_id": "u2"}
        else:
            message["text"] = params.get("text", "")
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
        return message
    return True  # answerCallbackQuery, setWebhook, deleteWebhook, ...


def user(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": f"u{uid}"}


def text_update(uid: int, text: str, *, update_id: int | None = None) -> dict[str, Any]:
    n = update_id if update_id is not None else next(_ids)
    return {"update_id": n, "message": {"message_id": n, "date": int(time.time()), "from": user(uid),
                                        "chat": {"id": uid, "type": "private"}, "text": text}}


def callback_update(uid: int, sent: dict[str, Any], data: str, query_id: str) -> dict[str, Any]:
    return {"update_id": next(_ids), "callback_query": {"id": query_id, "from": user(uid), "chat_instance": "ci",
                                                        "data": data, "message": sent}}
