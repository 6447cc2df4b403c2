"""Telegram through python-telegram-bot 22, webhook (our own Starlette route) or long polling.

Follows PTB's custom-webhook example: `updater(None)`, our route checks the secret header and puts
the update on `application.update_queue`. The dialogs are synchronous: called in a thread.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import buttons
from bot import messages as BM
from bot.render import own, split_text
from bot.senders import TELEGRAM_CAPTION_LIMIT, TELEGRAM_LIMIT
from crm_store.services import binding
from crmbot.config import TelegramSettings
from dialogs import DialogEngine
from dialogs.reply import Button, Reply

log = logging.getLogger(__name__)

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024
ALLOWED_UPDATES = ["message", "callback_query"]


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


def well_formed(data: dict[str, object]) -> bool:
    """The fields our handlers read have the types Telegram sends; PTB's de_json does not check them
    (a number as text, a dict as chat id ... would crash a handler after we answered 200)."""
    for key in ("message", "edited_message"):
        if key in data and not _message_ok(data[key]):
            return False
    query = data.get("callback_query")
    if query is None:
        return True
    return (isinstance(query, dict) and isinstance(query.get("id"), str) and _user_ok(query.get("from"))
            and isinstance(query.get("data", ""), str)
            and ("message" not in query or _message_ok(query["message"])))


def markup(reply_buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    if not reply_buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row]
         for row in buttons.rows(reply_buttons)]
    )


class TelegramChannel:
    channel = CHANNEL

    def __init__(self, settings: TelegramSettings, dialogs: DialogEngine) -> None:
        self.settings = settings
        self.dialogs = dialogs
        self.webhook_mode = bool(settings.webhook_url)
        builder = (
            Application.builder()
            .token(settings.token.get_secret_value())
            .base_url(settings.base_url)
            .base_file_url(settings.base_file_url)
            .rate_limiter(AIORateLimiter())
            .job_queue(None)  # scheduling lives in scheduler/
            .read_timeout(settings.request_timeout_seconds)
        )
        if self.webhook_mode:
            builder = builder.updater(None)
        self.application = builder.build()
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, self._on_text))
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & ~filters.TEXT, self._on_other))
        self.application.add_handler(CallbackQueryHandler(self._on_callback))

    # --- lifecycle (called from the HTTP app's lifespan) ------------------------------------------
    async def start(self) -> None:
        await self.application.initialize()  # getMe; process_update needs it
        await self.application.start()
        if self.webhook_mode:
            await self.application.bot.set_webhook(
                url=self.settings.webhook_url, secret_token=self.settings.webhook_secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
            )
        elif self.application.updater is not None:
            await self.application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    # --- webhook route ----------------------------------------------------------------------------
    async def webhook(self, request: Request) -> Response:
        expected = self.settings.webhook_secret.get_secret_value()
        given = request.headers.get(SECRET_HEADER, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_UPDATE_BYTES:
            return PlainTextResponse("too large", status_code=413)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return PlainTextResponse("too large", status_code=413)
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            if not well_formed(data):
                raise ValueError("fields of the wrong type")
            update = Update.de_json(data, self.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("bad telegram update: %s", exc)
            return PlainTextResponse("bad update", status_code=400)
        await self.application.update_queue.put(update)
        return Response(status_code=200)

    # --- handlers ---------------------------------------------------------------------------------
    async def _ask(self, user_id: int, text: str, key: str) -> list[Reply]:
        return await asyncio.to_thread(self.dialogs.handle, CHANNEL, str(user_id), text, message_id=key)

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.message, update.effective_user
        if message is None or user is None or message.text is None:
            return
        replies = await self._ask(user.id, message.text, f"{message.chat_id}:{message.message_id}")
        await self.send(message.chat_id, own(replies))

    async def _on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.message is not None:
            await self.send(update.message.chat_id, [Reply(BM.NON_TEXT)])

    def _seen(self, key: str) -> bool:
        with self.dialogs.factory() as session:
            return binding.processed(session, CHANNEL, key)

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        data = query.data or ""
        text = buttons.decode(data)
        if text is None:
            await query.answer(BM.BUTTON_EXPIRED, show_alert=True)
            return
        original = query.message if isinstance(query.message, Message) else None
        # One button on one message is one decision: a double tap (two callback ids) applies once.
        key = f"cb:{original.chat_id}:{original.message_id}:{data}" if original else f"cb:{query.id}"
        if await asyncio.to_thread(self._seen, key):
            await query.answer(BM.CALLBACK_STALE)
            return
        await query.answer()
        replies = own(await self._ask(query.from_user.id, text, key))
        chat_id = original.chat_id if original else query.from_user.id
        if original is not None and original.text:
            label = next((b.text for row in (original.reply_markup.inline_keyboard if original.reply_markup else ())
                          for b in row if b.callback_data == data), text)
            decision = f"{original.text}\n\n→ {label}"
            first = replies[0] if replies else None
            if first is not None and not first.buttons and not first.image_path:
                decision += "：" + first.text
                replies = replies[1:]
            try:
                await query.edit_message_text(split_text(decision, TELEGRAM_LIMIT)[0])
            except TelegramError:
                log.warning("could not edit message %s", original.message_id, exc_info=True)
        await self.send(chat_id, replies)

    # --- sending ----------------------------------------------------------------------------------
    async def send(self, chat_id: int | str, replies: list[Reply]) -> None:
        bot = self.application.bot
        for reply in replies:
            keyboard = markup(reply.buttons)
            if reply.image_path and Path(reply.image_path).is_file():
                caption = reply.text if len(reply.text) <= TELEGRAM_CAPTION_LIMIT else None
                with Path(reply.image_path).open("rb") as photo:
                    await bot.send_photo(chat_id, photo, caption=caption, reply_markup=keyboard if caption else None)
                if caption is not None:
                    continue
            parts = split_text(reply.text, TELEGRAM_LIMIT)
            for number, part in enumerate(parts):
                last = number == len(parts) - 1
                await bot.send_message(chat_id, part, reply_markup=keyboard if last else None)
            if reply.file_path and Path(reply.file_path).is_file():
                with Path(reply.file_path).open("rb") as document:
                    await bot.send_document(chat_id, document, filename=Path(reply.file_path).name)

