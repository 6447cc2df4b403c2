"""WeChat Official Account callbacks (safe mode), and the machinery WeCom shares (bot/wecom.py).

Order of checks on POST: body size (413) → timestamp window (403) → XML safety/shape (400) →
msg_signature (403) → AES decryption (400) → inner XML (400). Nothing touches the database before
all of them pass. Then the dialogs run in a thread; an answer ready within reply_timeout_seconds
goes back as an encrypted passive reply, a slower one is pushed through the API afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bot import messages as BM
from bot.render import as_plain_text, own, utf8_len
from bot.senders import WECHAT_LIMIT_BYTES, DeliveryError, Sender
from crmbot.config import WeChatSettings, WeComSettings
from dialogs import DialogEngine
from dialogs.reply import Reply

log = logging.getLogger(__name__)

# Anything like <!DOCTYPE or <!ENTITY (entity expansion, external entities) outside CDATA sections.
_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.DOTALL)
_UNSAFE_XML = re.compile(rb"<!|<\?xml-stylesheet", re.IGNORECASE)
_TEXT_EVENTS = {"click"}


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Inbound:
    user: str
    to: str
    text: str | None  # None: nothing to answer (an event we ignore)
    message_key: str
    supported: bool = True  # False: a picture, file, location ... gets NON_TEXT, the dialogs are not asked


def parse_xml(raw: bytes | str) -> dict[str, Any]:
    """The <xml> root as a dict; refuses DTDs/entities before the parser sees them."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if _UNSAFE_XML.search(_CDATA.sub(b"", data)):
        raise Rejected(400, "unsafe xml")
    try:
        parsed = xmltodict.parse(data, disable_entities=True)
    except (ExpatError, ValueError) as exc:
        raise Rejected(400, f"malformed xml: {exc}") from exc
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(root, dict):
        raise Rejected(400, "no <xml> root")
    return root


def _field(root: dict[str, Any], name: str) -> str:
    value = root.get(name)
    return value if isinstance(value, str) else ""


def inbound_from(root: dict[str, Any]) -> Inbound:
    user, to = _field(root, "FromUserName"), _field(root, "ToUserName")
    if not user:
        raise Rejected(400, "no FromUserName")
    kind = _field(root, "MsgType")
    msg_id = _field(root, "MsgId")
    # Events carry no MsgId: WeChat's documented dedup key is FromUserName + CreateTime.
    key = msg_id or f"{user}:{_field(root, 'CreateTime')}:{_field(root, 'Event')}"
    if kind == "text":
        return Inbound(user, to, _field(root, "Content"), key)
    if kind == "voice" and _field(root, "Recognition"):
        return Inbound(user, to, _field(root, "Recognition"), key)
    if kind == "event":
        event = _field(root, "Event").lower()
        if event == "subscribe":
            return Inbound(user, to, "", key)  # unknown users get the binding prompt
        if event in _TEXT_EVENTS and _field(root, "EventKey"):
            return Inbound(user, to, _field(root, "EventKey"), key)
        return Inbound(user, to, None, key)
    return Inbound(user, to, "", key, supported=False)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_user: str, text: str, now: int) -> str:
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(text)}</Content></xml>"
    )


class TencentChannel:
    """One callback endpoint (Official Account or WeCom app)."""

    channel = "wechat"

    def __init__(
        self,
        settings: WeChatSettings | WeComSettings,
        dialogs: DialogEngine,
        sender: Sender | None,
        *,
        max_body_bytes: int = 65536,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.dialogs = dialogs
        self.sender = sender
        self.max_body_bytes = max_body_bytes
        self.clock = clock
        self.crypto = self._crypto()
        self._pushes: set[asyncio.Task[None]] = set()

    def _crypto(self) -> Any:
        assert isinstance(self.settings, WeChatSettings)
        return WeChatCrypto(self.settings.token.get_secret_value(), self.settings.encoding_aes_key.get_secret_value(),
                            self.settings.app_id)

    # --- GET: URL verification ------------------------------------------------------------------
    async def verify(self, request: Request) -> Response:
        q = request.query_params
        try:
            check_signature(self.settings.token.get_secret_value(), q.get("signature", ""), q.get("timestamp", ""),
                            q.get("nonce", ""))
        except InvalidSignatureException:
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse(q.get("echostr", ""))

    # --- POST: messages -------------------------------------------------------------------------
    async def receive(self, request: Request) -> Response:
        try:
            inbound, nonce, timestamp = await self._open(request)
        except Rejected as rejected:
            log.warning("%s callback refused (%s): %s", self.channel, rejected.status, rejected.reason)
            return PlainTextResponse(rejected.reason, status_code=rejected.status)
        if inbound.text is None:
            return PlainTextResponse("success")
        if not inbound.supported:
            return self._passive(inbound, [Reply(BM.NON_TEXT)], nonce, timestamp)
        work = asyncio.create_task(asyncio.to_thread(
            self.dialogs.handle, self.channel, inbound.user, inbound.text, message_id=inbound.message_key
        ))
        try:
            replies = await asyncio.wait_for(asyncio.shield(work), self.settings.reply_timeout_seconds)
        except TimeoutError:
            # Too slow for WeChat's 5 s: answer now, push the reply when it is ready.
            push = asyncio.create_task(self._push_later(inbound.user, work))
            self._pushes.add(push)
            push.add_done_callback(self._pushes.discard)
            return PlainTextResponse("success")
        return self._passive(inbound, own(replies), nonce, timestamp)

    async def _open(self, request: Request) -> tuple[Inbound, str, str]:
        q = request.query_params
        signature, timestamp, nonce = q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
        body = await self._read_body(request)
        if not signature or not nonce or not timestamp.isdigit():
            raise Rejected(403, "missing signature")
        if abs(self.clock() - int(timestamp)) > self.settings.replay_window_seconds:
            raise Rejected(403, "timestamp outside window")
        plaintext = self.decrypt(body, signature, timestamp, nonce)
        return inbound_from(parse_xml(plaintext)), nonce, timestamp

    def decrypt(self, body: bytes | str, signature: str, timestamp: str, nonce: str) -> str:
        """Outer XML → signature check → AES (safe mode) → the plaintext message XML."""
        outer = parse_xml(body)
        if not _field(outer, "Encrypt"):
            raise Rejected(400, "not encrypted (safe mode required)")
        try:
            plaintext = self.crypto.decrypt_message({"Encrypt": outer["Encrypt"]}, signature, timestamp, nonce)
        except InvalidSignatureException as exc:
            raise Rejected(403, "bad signature") from exc
        except Exception as exc:  # wrong app id/corp id, bad padding, bad base64
            raise Rejected(400, f"cannot decrypt: {type(exc).__name__}") from exc
        return plaintext.decode("utf-8") if isinstance(plaintext, bytes) else str(plaintext)

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise Rejected(413, "body too large")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > self.max_body_bytes:
                raise Rejected(413, "body too large")
        return bytes(body)

    def _passive(self, inbound: Inbound, replies: list[Reply], nonce: str, timestamp: str) -> Response:
        if not replies:
            return PlainTextResponse("success")
        text = "\n\n".join(as_plain_text(r) for r in replies)
        attachments = [r for r in replies if r.image_path or r.file_path]
        if utf8_len(text) > WECHAT_LIMIT_BYTES or attachments:
            # One passive message cannot carry this: push it all through the API instead.
            self._spawn_push(inbound.user, replies)
            return PlainTextResponse("success")
        xml = text_reply_xml(inbound.user, inbound.to, text, int(self.clock()))
        encrypted = self.crypto.encrypt_message(xml, secrets.token_hex(8), str(int(self.clock())))
        return Response(encrypted, media_type="application/xml")

    def _spawn_push(self, user: str, replies: list[Reply]) -> None:
        push = asyncio.create_task(self._push(user, replies))
        self._pushes.add(push)
        push.add_done_callback(self._pushes.discard)

    async def _push_later(self, user: str, work: asyncio.Task[list[Reply]]) -> None:
        try:
            replies = await work
        except Exception:
            log.exception("%s dialog failed for %s", self.channel, user)
            replies = [Reply(BM.REPLY_UNAVAILABLE)]
        await self._push(user, own(replies))

    async def _push(self, user: str, replies: list[Reply]) -> None:
        if self.sender is None:
            log.error("%s: no sender configured, reply to %s dropped", self.channel, user)
            return
        for reply in replies:
            try:
                await asyncio.to_thread(self.sender.send, user, reply)  # wechatpy is blocking
            except DeliveryError:
                log.exception("%s push to %s failed", self.channel, user)

    async def drain(self) -> None:
        """Wait for pending pushes (shutdown, tests)."""
        while self._pushes:
            await asyncio.gather(*list(self._pushes), return_exceptions=True)


class WeChatChannel(TencentChannel):
    channel = "wechat"
