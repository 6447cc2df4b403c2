"""Outgoing messages per channel, for the scheduler's notifier and the slow-reply path (synchronous).

Each Sender raises DeliveryError when the platform refuses or cannot be reached; the outbox retries.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Protocol, TextIO

import httpx
from wechatpy.client import WeChatClient as _OfficialClient
from wechatpy.enterprise.client import WeChatClient as _WorkClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage

from bot import buttons
from bot import messages as BM
from bot.render import as_plain_text, split_text, utf8_len
from crmbot.config import Config, TelegramSettings, WeChatSettings, WeComSettings
from dialogs.reply import Reply

log = logging.getLogger(__name__)

TELEGRAM_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
# Customer-service / app text messages: 2048 bytes is the documented ceiling; keep a margin.
WECHAT_LIMIT_BYTES = 2000


class DeliveryError(Exception):
    """The message was not delivered; safe to retry later."""


class Sender(Protocol):
    channel: str

    def send(self, external_id: str, reply: Reply) -> None: ...


# --- WeChat / WeCom clients -------------------------------------------------------------------


class OfficialClient(_OfficialClient):
    """wechatpy's client with the token URL taken from API_BASE_URL (wechatpy hard-codes Tencent's)."""

    def __init__(self, appid: str, secret: str, *, api_base_url: str, session: SessionStorage,
                 timeout: float = 10.0) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.API_BASE_URL = api_base_url

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


class WorkClient(_WorkClient):
    def __init__(self, corp_id: str, secret: str, *, api_base_url: str, session: SessionStorage,
                 timeout: float = 10.0) -> None:
        super().__init__(corp_id, secret, session=session, timeout=timeout)
        self.API_BASE_URL = api_base_url

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret}
        )


def token_storage(url: str) -> SessionStorage:
    """Access tokens shared by every process (Redis); empty url = this process only."""
    if not url:
        return MemoryStorage()
    import redis
    from wechatpy.session.redisstorage import RedisStorage

    return RedisStorage(redis.Redis.from_url(url), prefix="crmbot")


class _TencentSender:
    channel = ""
    client: _OfficialClient | _WorkClient

    def send(self, external_id: str, reply: Reply) -> None:
        try:
            if reply.image_path:
                self._send_image(external_id, reply.image_path)
            for part in split_text(as_plain_text(reply), WECHAT_LIMIT_BYTES, measure=utf8_len):
                self._send_text(external_id, part)
            if reply.file_path:
                self._send_file(external_id, reply.file_path)
        except (WeChatClientException, OSError, ValueError) as exc:
            raise DeliveryError(f"{self.channel} send to {external_id} failed: {exc}") from exc

    def _upload(self, path: str, kind: str = "image") -> str:
        with Path(path).open("rb") as media:
            result = self.client.media.upload(kind, media)
        return str(result["media_id"])

    def _send_text(self, user: str, text: str) -> None:
        raise NotImplementedError

    def _send_image(self, user: str, path: str) -> None:
        raise NotImplementedError

    def _send_file(self, user: str, path: str) -> None:
        raise NotImplementedError


class WeChatSender(_TencentSender):
    """Official Account customer-service messages (within 48 h of the user's last message)."""

    channel = "wechat"

    def __init__(self, settings: WeChatSettings, storage: SessionStorage) -> None:
        self.client = OfficialClient(settings.app_id, settings.secret.get_secret_value(), api_base_url=settings.api_base_url,
                                     session=storage)

    def _send_text(self, user: str, text: str) -> None:
        self.client.message.send_text(user, text)

    def _send_image(self, user: str, path: str) -> None:
        self.client.message.send_image(user, self._upload(path))

    def _send_file(self, user: str, path: str) -> None:
        # Customer-service messages cannot carry files on an Official Account: say where to get it.
        self.client.message.send_text(user, BM.FILE_NOT_SUPPORTED.format(name=Path(path).name))


class WeComSender(_TencentSender):
    """WeCom self-built app messages."""

    channel = "wecom"

    def __init__(self, settings: WeComSettings, storage: SessionStorage) -> None:
        self.client = WorkClient(settings.corp_id, settings.secret.get_secret_value(), api_base_url=settings.api_base_url,
                                 session=storage)
        self.agent_id = int(settings.agent_id or 0)

    def _send_text(self, user: str, text: str) -> None:
        self.client.message.send_text(self.agent_id, user, text)

    def _send_image(self, user: str, path: str) -> None:
        self.client.message.send_image(self.agent_id, user, self._upload(path))

    def _send_file(self, user: str, path: str) -> None:
        self.client.message.send_file(self.agent_id, user, self._upload(path, "file"))


# --- Telegram ---------------------------------------------------------------------------------


class TelegramSender:
    """Plain Bot API over HTTP (synchronous, usable from the scheduler's threads)."""

    channel = "telegram"

    def __init__(self, settings: TelegramSettings, client: httpx.Client | None = None) -> None:
        self.url = f"{settings.base_url}{settings.token.get_secret_value()}/"
        self.http = client or httpx.Client(timeout=settings.request_timeout_seconds)

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.post(self.url + method, **kwargs)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DeliveryError(f"telegram {method} failed: {exc}") from exc
        if not body.get("ok"):
            raise DeliveryError(f"telegram {method} refused: {body.get('description')}")
        return body

    def send(self, external_id: str, reply: Reply) -> None:
        markup = buttons.keyboard_json(reply.buttons)
        if reply.image_path:
            caption = reply.text if len(reply.text) <= TELEGRAM_CAPTION_LIMIT else ""
            data: dict[str, Any] = {"chat_id": external_id, "caption": caption}
            if markup and caption:
                data["reply_markup"] = json.dumps(markup)
            try:
                with Path(reply.image_path).open("rb") as photo:
                    self._call("sendPhoto", data=data, files={"photo": photo})
            except OSError as exc:
                raise DeliveryError(f"cannot read {reply.image_path}: {exc}") from exc
            if caption:
                return
        parts = split_text(reply.text, TELEGRAM_LIMIT)
        for number, part in enumerate(parts):
            payload: dict[str, Any] = {"chat_id": external_id, "text": part}
            if markup and number == len(parts) - 1:
                payload["reply_markup"] = markup
            self._call("sendMessage", json=payload)
        if reply.file_path:
            try:
                with Path(reply.file_path).open("rb") as document:
                    self._call("sendDocument", data={"chat_id": external_id}, files={"document": document})
            except OSError as exc:
                raise DeliveryError(f"cannot read {reply.file_path}: {exc}") from exc


class ConsoleSender:
    channel = "console"

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out

    def send(self, external_id: str, reply: Reply) -> None:
        from bot.console import render

        out = self.out or sys.stdout
        out.write(f"[→ {external_id}] {render(reply)}\n")
        out.flush()


def build_senders(config: Config, storage: SessionStorage | None = None) -> dict[str, Sender]:
    """One sender per enabled channel, plus the console."""
    senders: dict[str, Sender] = {"console": ConsoleSender()}
    channels = config.channels
    if channels.telegram.enabled:
        senders["telegram"] = TelegramSender(channels.telegram)
    if channels.wechat.enabled or channels.wecom.enabled:
        storage = storage or token_storage(config.server.token_cache_url)
        if channels.wechat.enabled:
            senders["wechat"] = WeChatSender(channels.wechat, storage)
        if channels.wecom.enabled:
            senders["wecom"] = WeComSender(channels.wecom, storage)
    return senders
