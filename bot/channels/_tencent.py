"""What WeChat Official Accounts (wechat.py) and WeCom apps (wecom.py) share: safe-mode callbacks, the
passive reply within Tencent's 5 s, and pushes through their message APIs.

Order of checks on POST: body size (413) → timestamp format and window (403) → XML safety/shape (400) →
msg_signature (403) → AES decryption (400) → inner XML (400). Nothing touches the database before all of
them pass. Then the message is committed to the inbox; a reply ready within `reply_timeout_seconds` goes
back as an encrypted passive reply, otherwise Tencent hears `success` and the reply is pushed from the
outbox. A retry of a message already in the inbox is answered the same way, never processed twice.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from xml.parsers.expat import ExpatError

from pydantic import Field, SecretStr
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot import messages as BM
from bot.channels.base import Channel, ChannelSettings, DeliveryError, Inbound
from bot.render import as_plain_text, split_text, utf8_len
from crm_store.rules import Secret
from dialogs.reply import Reply

if TYPE_CHECKING:
    from wechatpy.session import SessionStorage

    from bot.intake import Intake

log = logging.getLogger(__name__)

# Customer-service / app text messages: 2048 bytes is the documented ceiling; keep a margin.
WECHAT_LIMIT_BYTES = 2000
# Anything like <!DOCTYPE or <!ENTITY (entity expansion, external entities) outside CDATA sections.
_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.DOTALL)
_UNSAFE_XML = re.compile(rb"<!|<\?xml-stylesheet", re.IGNORECASE)
# A Unix time in seconds: ASCII digits only ("²".isdigit() is True in Python), and not absurdly long.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_TEXT_EVENTS = {"click"}


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class TencentSettings(ChannelSettings):
    secret: Secret = SecretStr("")
    token: Secret = SecretStr("")
    encoding_aes_key: Secret = SecretStr("")
    replay_window_seconds: int = Field(300, ge=1)
    # WeChat waits 5 s for a passive reply; slower answers are pushed through the API instead.
    reply_timeout_seconds: float = Field(4.0, gt=0, le=4.5)

    required_fields: ClassVar[tuple[str, ...]] = ("secret", "token", "encoding_aes_key")
    fetches_access_tokens: ClassVar[bool] = True

    def problems(self, name: str) -> list[str]:
        found = [f"channels.{name}.{key} 未填写 / missing" for key in self.required_fields if not getattr(self, key)]
        if self.encoding_aes_key and len(self.encoding_aes_key) != 43:
            found.append(f"channels.{name}.encoding_aes_key 应为 43 个字符 / must be 43 characters")
        return found

    @property
    def callback_token(self) -> str:
        return self.token.get_secret_value()

    @property
    def aes_key(self) -> str:
        return self.encoding_aes_key.get_secret_value()


def refuse_unsafe(data: bytes) -> None:
    """DTDs and entities (expansion bombs, external entities) are refused before any parser sees them."""
    if _UNSAFE_XML.search(_CDATA.sub(b"", data)):
        raise Rejected(400, "unsafe xml")


def parse_xml(raw: bytes | str) -> dict[str, Any]:
    """The <xml> root as a dict; refuses DTDs/entities before the parser sees them."""
    import xmltodict

    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    refuse_unsafe(data)
    try:
        parsed = xmltodict.parse(data, disable_entities=True)
    except (ExpatError, ValueError) as exc:
        raise Rejected(400, f"malformed xml: {exc}") from exc
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(root, dict):
        raise Rejected(400, "no <xml> root")
    return root


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_user: str, text: str, now: int) -> str:
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(text)}</Content></xml>"
    )


def token_storage(url: str) -> SessionStorage:
    """Access tokens shared by every process (Redis); empty url = this process only."""
    if not url:
        from wechatpy.session.memorystorage import MemoryStorage

        return MemoryStorage()
    import redis
    from wechatpy.session.redisstorage import RedisStorage

    return RedisStorage(redis.Redis.from_url(url), prefix="crmbot")


class TencentChannel(Channel):
    """One callback endpoint (Official Account or WeCom app) and its push API."""

    path: str = ""
    settings: TencentSettings

    def __init__(
        self,
        settings: TencentSettings,
        intake: Intake | None,
        *,
        max_body_bytes: int = 65536,
        token_cache_url: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(settings, intake, max_body_bytes=max_body_bytes, token_cache_url=token_cache_url)
        self.passive_window_seconds = settings.reply_timeout_seconds
        self.clock = clock
        self.crypto = self._crypto()
        self._client: Any = None

    # --- what each platform fills in --------------------------------------------------------------
    def _crypto(self) -> Any:
        raise NotImplementedError

    def _make_client(self, storage: SessionStorage) -> Any:
        raise NotImplementedError

    def _parse(self, plaintext: str) -> Any:
        raise NotImplementedError

    def _send_text(self, user: str, text: str) -> None:
        raise NotImplementedError

    def _send_image(self, user: str, path: str) -> None:
        raise NotImplementedError

    def _send_file(self, user: str, path: str) -> None:
        raise NotImplementedError

    def _echo(self, query: Any) -> str:
        """The echostr to return once the URL-verification signature checks out (raises if it does not)."""
        raise NotImplementedError

    async def verify(self, request: Request) -> Response:
        """URL verification (GET): held to the replay window like callbacks, then the platform's own check."""
        from wechatpy.exceptions import InvalidSignatureException

        q = request.query_params
        try:
            self.check_timestamp(q.get("timestamp", ""))
            return PlainTextResponse(self._echo(q))
        except (Rejected, InvalidSignatureException):
            return PlainTextResponse("forbidden", status_code=403)
        except Exception:  # signed but undecryptable (WeCom): wrong key or corp id
            return PlainTextResponse("bad echostr", status_code=400)

    # --- routes -----------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [Route(self.path, self.verify, methods=["GET"]), Route(self.path, self.receive, methods=["POST"])]

    def check_timestamp(self, timestamp: str) -> None:
        """Callbacks and URL verification alike: a signature is good only within the replay window."""
        if not _TIMESTAMP.fullmatch(timestamp):
            raise Rejected(403, "bad timestamp")
        if abs(self.clock() - int(timestamp)) > self.settings.replay_window_seconds:
            raise Rejected(403, "timestamp outside window")

    async def receive(self, request: Request) -> Response:
        try:
            inbound, to_user = await self._open(request)
        except Rejected as rejected:
            log.warning("%s callback refused (%s): %s", self.name, rejected.status, rejected.reason)
            return PlainTextResponse(rejected.reason, status_code=rejected.status)
        if inbound is None:
            return PlainTextResponse("success")
        if not inbound.payload.get("supported", True):
            said = BM.VOICE_NEEDS_TEXT if inbound.payload.get("voice") else BM.NON_TEXT
            return self._passive(inbound, to_user, [Reply(said)])
        assert self.intake is not None
        replies = await self.intake.receive(inbound, self.passive_window_seconds)
        if replies is None:
            return PlainTextResponse("success")  # committed; the reply comes through the outbox
        return self._passive(inbound, to_user, replies)

    async def _open(self, request: Request) -> tuple[Inbound | None, str]:
        q = request.query_params
        signature, timestamp, nonce = q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
        body = await self._read_body(request)
        if not signature or not nonce:
            raise Rejected(403, "missing signature")
        self.check_timestamp(timestamp)
        plaintext = self.decrypt(body, signature, timestamp, nonce)
        refuse_unsafe(plaintext.encode("utf-8"))  # then wechatpy parses it, once
        return self.inbound(plaintext)

    def inbound(self, plaintext: str) -> tuple[Inbound | None, str]:
        """wechatpy's message → our Inbound (None for an event we do not answer), and whom to answer from
        (ToUserName: the account the message was sent to)."""
        try:
            message = self._parse(plaintext)
            to_user = str(message.target or "")
            user = message.source
            kind = message.type
            event = (getattr(message, "event", "") or "").lower()
            msg_id = message.id
            create_time = message.time
        except (KeyError, ValueError, TypeError, AttributeError, ExpatError) as exc:
            raise Rejected(400, f"malformed message: {type(exc).__name__}") from exc
        if not user or not isinstance(user, str):
            raise Rejected(400, "no FromUserName")
        # Events carry no MsgId: WeChat's documented dedup key is FromUserName + CreateTime.
        key = str(msg_id) if msg_id else f"{user}:{create_time}:{event}"
        payload: dict[str, Any] = {}
        if kind == "text":
            text = message.content or ""
        elif kind == "voice" and getattr(message, "recognition", None):
            text, payload = message.recognition, {"voice": True}
        elif kind == "event" or event:
            if event == "subscribe":
                text = ""  # unknown users get the binding prompt
            elif event in _TEXT_EVENTS and getattr(message, "key", None):
                text = message.key
            else:
                return None, to_user
        else:  # a voice message without WeChat's recognition (WeCom never has it) asks for text too
            return Inbound(self.name, user, key, "", {"supported": False, "voice": kind == "voice"}), to_user
        return Inbound(self.name, user, key, str(text), payload), to_user

    def decrypt(self, body: bytes | str, signature: str, timestamp: str, nonce: str) -> str:
        """Outer XML → signature check → AES (safe mode) → the plaintext message XML."""
        from wechatpy.exceptions import InvalidSignatureException

        outer = parse_xml(body)
        encrypted = outer.get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise Rejected(400, "not encrypted (safe mode required)")
        try:
            plaintext = self.crypto.decrypt_message({"Encrypt": encrypted}, signature, timestamp, nonce)
        except InvalidSignatureException as exc:
            raise Rejected(403, "bad signature") from exc
        except Exception as exc:  # wrong app id/corp id, bad padding, bad base64
            raise Rejected(400, f"cannot decrypt: {type(exc).__name__}") from exc
        return plaintext.decode("utf-8") if isinstance(plaintext, bytes) else str(plaintext)

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and len(declared) < 12 and int(declared) > self.max_body_bytes:
            raise Rejected(413, "body too large")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > self.max_body_bytes:
                raise Rejected(413, "body too large")
        return bytes(body)

    def _passive(self, inbound: Inbound, to_user: str, replies: list[Reply]) -> Response:
        if not replies:
            return PlainTextResponse("success")
        text = "\n\n".join(as_plain_text(r) for r in replies)
        attachments = [r for r in replies if r.image_path or r.file_path]
        if utf8_len(text) > WECHAT_LIMIT_BYTES or attachments:
            # One passive message cannot carry this: the outbox pushes it all instead.
            assert self.intake is not None
            self.intake.push(inbound, replies)
            return PlainTextResponse("success")
        xml = text_reply_xml(inbound.external_id, to_user, text, int(self.clock()))
        encrypted = self.crypto.encrypt_message(xml, secrets.token_hex(8), str(int(self.clock())))
        return Response(encrypted, media_type="application/xml")

    # --- sending (the outbox's threads) -------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._make_client(token_storage(self.token_cache_url))
        return self._client

    def send(self, external_id: str, reply: Reply, options: dict[str, Any] | None = None) -> None:
        from wechatpy.exceptions import WeChatClientException

        try:
            if reply.image_path:
                self._send_image(external_id, reply.image_path)
            for part in split_text(as_plain_text(reply), WECHAT_LIMIT_BYTES, measure=utf8_len):
                self._send_text(external_id, part)
            if reply.file_path:
                self._send_file(external_id, reply.file_path)
        except (WeChatClientException, OSError, ValueError, KeyError, TypeError) as exc:
            # KeyError/TypeError: an API answer without the field we need (e.g. no media_id) is a failed
            # delivery to retry, never a dropped reply.
            raise DeliveryError(f"{self.name} send to {external_id} failed: {type(exc).__name__}: {exc}") from exc

    def _upload(self, path: str, kind: str = "image") -> str:
        with Path(path).open("rb") as media:
            result = self.client.media.upload(kind, media)
        media_id = result.get("media_id") if isinstance(result, dict) else None
        if not media_id:
            raise DeliveryError(f"{self.name} upload of {Path(path).name} returned no media_id: {result!r:.200}")
        return str(media_id)


def token_url_client(base: type, token_path: str, params: Callable[[Any], dict[str, str]]) -> type:
    """wechatpy's client with the token URL taken from API_BASE_URL (wechatpy hard-codes Tencent's)."""

    class Client(base):  # type: ignore[misc, valid-type]
        def __init__(self, key: str, secret: str, *, api_base_url: str, session: Any, timeout: float = 10.0):
            super().__init__(key, secret, session=session, timeout=timeout)
            self.API_BASE_URL = api_base_url

        def fetch_access_token(self) -> dict[str, Any]:
            return self._fetch_access_token(url=self.API_BASE_URL + token_path, params=params(self))

    return Client
