"""Telegram through python-telegram-bot 22: updates by webhook (our own Starlette route, as in PTB's
custom-webhook example) or long polling; every message out through PTB's Bot.

An update is committed to the inbox before Telegram gets its 200 (Telegram never redelivers after a 200);
a copy of an update already in the inbox is acknowledged and nothing else. Replies always travel through
the outbox. Button taps: one button on one message is one decision; the spinner is answered in the
webhook response itself, and the tapped message is edited to show the decision.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field, SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot import buttons
from bot import messages as BM
from bot.channels import register
from bot.channels.base import Channel, ChannelSettings, DeliveryError, Inbound, Outgoing
from bot.render import split_text
from crm_store.rules import Secret
from dialogs.reply import Button, Reply

if TYPE_CHECKING:
    from telegram.ext import ExtBot

    from bot.intake import Intake

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024
ALLOWED_UPDATES = ["message", "callback_query"]
TELEGRAM_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
SEND_TIMEOUT_SECONDS = 60.0
T = TypeVar("T")


class TelegramSettings(ChannelSettings):
    token: Secret = SecretStr("")
    webhook_url: str = ""  # empty: long polling (no public HTTPS address needed)
    webhook_secret: Secret = SecretStr("")
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    request_timeout_seconds: float = Field(10.0, gt=0)
    # Telegram is blocked in mainland China: e.g. http://127.0.0.1:7890 or socks5://127.0.0.1:1080.
    proxy_url: str = ""

    def problems(self, name: str) -> list[str]:
        found = []
        if not self.token:
            found.append(f"channels.{name}.token 未填写 / missing")
        if self.webhook_url and not self.webhook_secret:
            found.append(f"channels.{name}.webhook_secret 必须填写（webhook 模式）/ required with webhook_url")
        return found

    def single_receiver(self) -> bool:
        return not self.webhook_url  # getUpdates answers a second poller with 409 Conflict


# --- reading updates ------------------------------------------------------------------------------

def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _user_ok(user: object) -> bool:
    return isinstance(user, dict) and _int(user.get("id")) and isinstance(user.get("is_bot"), bool)


def _message_ok(message: object) -> bool:
    if not isinstance(message, dict) or not _int(message.get("message_id")) or not _int(message.get("date")):
        return False
    chat = message.get("chat")
    if not isinstance(chat, dict) or not _int(chat.get("id")) or not isinstance(chat.get("type"), str):
        return False
    if "from" in message and not _user_ok(message["from"]):
        return False
    return all(isinstance(message[k], str) for k in ("text", "caption") if message.get(k) is not None)


def well_formed(data: dict[str, Any]) -> bool:
    """The fields we read have the types Telegram sends (a number as text, a dict as chat id ... is refused)."""
    if not _int(data.get("update_id")):
        return False
    for key in ("message", "edited_message"):
        if key in data and not _message_ok(data[key]):
            return False
    query = data.get("callback_query")
    if query is None:
        return True
    return (isinstance(query, dict) and isinstance(query.get("id"), str) and _user_ok(query.get("from"))
            and isinstance(query.get("data", ""), str)
            and ("message" not in query or _message_ok(query["message"])))


def _label(message: dict[str, Any], data: str, default: str) -> str:
    markup = message.get("reply_markup")
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else []:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and button.get("callback_data") == data and isinstance(button.get("text"), str):
                return button["text"]
    return default


def markup_json(reply_buttons: tuple[Button, ...], remember: buttons.Remember) -> Any:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    if not reply_buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row]
         for row in buttons.rows(reply_buttons, remember)]
    )


class _Loop:
    """PTB's Bot is asyncio; the outbox sends from threads. One event loop thread owns the Bot."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="telegram-bot", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@register
class TelegramChannel(Channel):
    name = "telegram"
    settings_model = TelegramSettings
    settings: TelegramSettings
    # PTB's AIORateLimiter already holds every send to Telegram's limits (30/s overall, 20/min per group):
    # the outbox's own bucket would only count the same messages twice.
    rate_per_second = 1000.0

    def __init__(self, settings: TelegramSettings, intake: Intake | None, *, max_body_bytes: int = 65536,
                 token_cache_url: str = "") -> None:
        super().__init__(settings, intake, max_body_bytes=max_body_bytes, token_cache_url=token_cache_url)
        self.webhook_mode = bool(settings.webhook_url)
        self._loop: _Loop | None = None
        self._bot: ExtBot[Any] | None = None
        self._connected = False
        self._polling: asyncio.Future[None] | None = None

    def routes(self) -> list[BaseRoute]:
        # Also in polling mode: a stray POST is refused (no secret configured → 403), never a 404 to probe.
        return [Route("/telegram/webhook", self.webhook, methods=["POST"])]

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        from telegram.ext import AIORateLimiter, ExtBot
        from telegram.request import HTTPXRequest

        settings = self.settings
        self._loop = _Loop()

        def request(read_timeout: float) -> HTTPXRequest:
            return HTTPXRequest(read_timeout=read_timeout, connect_timeout=settings.request_timeout_seconds,
                                proxy=settings.proxy_url or None)

        self._bot = ExtBot(settings.token.get_secret_value(), base_url=settings.base_url, base_file_url=settings.base_file_url,
                           request=request(settings.request_timeout_seconds),
                           get_updates_request=request(settings.request_timeout_seconds + 30),
                           rate_limiter=AIORateLimiter())
        bot = self._bot
        await self._loop.run_async(bot.initialize())  # getMe: a wrong token or no route fails here
        if self.webhook_mode:
            await self._loop.run_async(bot.set_webhook(url=settings.webhook_url,
                                                       secret_token=settings.webhook_secret.get_secret_value(),
                                                       allowed_updates=ALLOWED_UPDATES))
        else:
            await self._loop.run_async(bot.delete_webhook())
            self._polling = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._poll(), self._loop.loop))
        self._connected = True

    async def stop(self) -> None:
        if self._loop is None:
            return
        if self._polling is not None:
            self._polling.cancel()
        if self._bot is not None:
            try:
                await asyncio.wait_for(self._loop.run_async(self._bot.shutdown()), 5)
            except Exception:
                log.warning("telegram bot shutdown failed", exc_info=True)
        self._loop.close()
        self._loop = None
        self._connected = False

    # --- inbound ----------------------------------------------------------------------------------
    async def webhook(self, request: Request) -> Response:
        expected = self.settings.webhook_secret.get_secret_value()
        given = request.headers.get(SECRET_HEADER, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and len(declared) < 12 and int(declared) > MAX_UPDATE_BYTES:
            return PlainTextResponse("too large", status_code=413)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return PlainTextResponse("too large", status_code=413)
        try:
            data = json.loads(body)
            json.dumps(data, ensure_ascii=False).encode()  # lone surrogates ("\ud800" is valid JSON) are no text
            if not isinstance(data, dict) or not well_formed(data):
                raise ValueError("not an update, or fields of the wrong type")
        except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested thousands deep
            log.warning("bad telegram update: %s", str(exc)[:200])
            return PlainTextResponse("bad update", status_code=400)
        answer = await self.take(data)
        # Telegram accepts one Bot API call as the webhook's answer: no extra round trip for the spinner.
        return JSONResponse(answer) if answer else Response(status_code=200)

    async def take(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """Commit one update to the inbox; returns a Bot API call to answer with right away, if any."""
        assert self.intake is not None
        message = data.get("message")
        if isinstance(message, dict):
            sender = message.get("from") or message["chat"]
            chat_id = message["chat"]["id"]
            if message.get("text") is None:
                said = BM.VOICE_NEEDS_TEXT if message.get("voice") or message.get("audio") else BM.NON_TEXT
                return {"method": "sendMessage", "chat_id": chat_id, "text": said}
            await self.intake.enqueue(Inbound(self.name, str(sender["id"]), f"{chat_id}:{message['message_id']}",
                                              message["text"], {"chat_id": chat_id}))
            return None
        query = data.get("callback_query")
        if isinstance(query, dict):
            return await self._take_callback(query)
        return None  # edited messages and other updates: nothing to do

    async def _take_callback(self, query: dict[str, Any]) -> dict[str, Any]:
        assert self.intake is not None
        answer: dict[str, Any] = {"method": "answerCallbackQuery", "callback_query_id": query["id"]}
        data = query.get("data") or ""
        text = await asyncio.to_thread(buttons.decode, data, self.intake.recall_button)
        if text is None:
            return {**answer, "text": BM.BUTTON_EXPIRED, "show_alert": True}
        original = query.get("message")
        user_id = query["from"]["id"]
        payload: dict[str, Any] = {"chat_id": user_id}
        if isinstance(original, dict):
            # One button on one message is one decision: a double tap (two callback ids) applies once.
            key = f"cb:{original['chat']['id']}:{original['message_id']}:{data}"
            payload = {"chat_id": original["chat"]["id"]}
            if isinstance(original.get("text"), str) and original["text"]:
                payload["edit"] = {"message_id": original["message_id"], "text": original["text"],
                                   "label": _label(original, data, text)}
        else:
            key = f"cb:{query['id']}"
        new = await self.intake.enqueue(Inbound(self.name, str(user_id), key, text, payload))
        return answer if new else {**answer, "text": BM.CALLBACK_STALE}

    async def _poll(self) -> None:
        """Long polling (no webhook_url): the same intake as the webhook. Telegram drops an update from
        getUpdates only once a later offset is asked for, i.e. after it is committed here."""
        assert self._bot is not None
        offset = 0
        while True:
            try:
                updates = await self._bot.get_updates(offset=offset, timeout=25, allowed_updates=ALLOWED_UPDATES)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("telegram getUpdates failed: %s", exc)
                await asyncio.sleep(5)
                continue
            for update in updates:
                data = update.to_dict()
                if well_formed(data):
                    answer = await self.take(data)
                    if answer:
                        await self._call(answer)
                offset = update.update_id + 1

    async def _call(self, answer: dict[str, Any]) -> None:
        assert self._bot is not None
        method = answer.pop("method")
        try:
            if method == "answerCallbackQuery":
                await self._bot.answer_callback_query(answer["callback_query_id"], text=answer.get("text"),
                                                      show_alert=answer.get("show_alert", False))
            elif method == "sendMessage":
                await self._bot.send_message(answer["chat_id"], answer["text"])
        except Exception:
            log.warning("telegram %s failed", method, exc_info=True)

    # --- outbound ---------------------------------------------------------------------------------
    def outgoing(self, payload: dict[str, Any], replies: list[Reply]) -> list[Outgoing]:
        """After a button tap, the tapped message is edited to show the decision (with the first short
        answer folded in); the other replies follow as new messages."""
        edit = payload.get("edit")
        if not isinstance(edit, dict):
            return [Outgoing(r) for r in replies]
        decision = f"{edit['text']}\n\n→ {edit['label']}"
        rest = list(replies)
        first = rest[0] if rest else None
        if first is not None and not first.buttons and not first.image_path and not first.file_path:
            decision += "：" + first.text
            rest = rest[1:]
        edited = Reply(split_text(decision, TELEGRAM_LIMIT)[0])
        return [Outgoing(edited, {"edit_message_id": edit["message_id"]}), *(Outgoing(r) for r in rest)]

    def send(self, external_id: str, reply: Reply, options: dict[str, Any] | None = None) -> None:
        if not self._connected or self._loop is None:
            raise DeliveryError("telegram 尚未连接 / not connected yet")
        try:
            self._loop.run(self._send(int(external_id), reply, options or {}), SEND_TIMEOUT_SECONDS)
        except DeliveryError:
            raise
        except Exception as exc:  # TelegramError, timeouts, unreadable files: the outbox retries
            raise DeliveryError(f"telegram send to {external_id} failed: {type(exc).__name__}: {exc}") from exc

    async def _send(self, chat_id: int, reply: Reply, options: dict[str, Any]) -> None:
        from telegram.error import BadRequest

        bot = self._bot
        assert bot is not None
        if options.get("edit_message_id"):
            try:
                await bot.edit_message_text(reply.text, chat_id=chat_id, message_id=int(options["edit_message_id"]))
            except BadRequest as exc:  # the message is too old or unchanged: not worth a retry
                log.warning("could not edit telegram message %s: %s", options["edit_message_id"], exc)
            return
        assert self.intake is not None
        keyboard = await asyncio.to_thread(markup_json, reply.buttons, self.intake.remember_button)
        if reply.image_path and Path(reply.image_path).is_file():
            caption = reply.text if len(reply.text) <= TELEGRAM_CAPTION_LIMIT else None
            with Path(reply.image_path).open("rb") as photo:
                await bot.send_photo(chat_id, photo, caption=caption, reply_markup=keyboard if caption else None)
            if caption is not None:
                return
        parts = split_text(reply.text, TELEGRAM_LIMIT)
        for number, part in enumerate(parts):
            last = number == len(parts) - 1
            await bot.send_message(chat_id, part, reply_markup=keyboard if last else None)
        if reply.file_path and Path(reply.file_path).is_file():
            with Path(reply.file_path).open("rb") as document:
                await bot.send_document(chat_id, document, filename=Path(reply.file_path).name)
