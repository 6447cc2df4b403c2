"""A fake Tencent API (WeChat Official Account and WeCom, under /cgi-bin/...) and a builder of callbacks
sealed exactly as Tencent sends them (safe mode, wechatpy's crypto)."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass
from typing import Any

from bot.fakes.server import FakeAPI, fake_platform


@fake_platform("/cgi-bin")
def tencent_api(api: FakeAPI, path: str, params: dict[str, Any]) -> dict[str, Any]:
    if path.endswith("/token") or path.endswith("/gettoken"):
        return {"errcode": 0, "access_token": f"TOKEN-{api.next('tencent_token')}", "expires_in": 7200}
    if path.endswith("/media/upload"):
        return {"errcode": 0, "type": "image", "media_id": "MEDIA-1"}
    return {"errcode": 0, "errmsg": "ok"}


def new_aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()[:-1]


@dataclass
class Tencent:
    """Builds callbacks exactly as Tencent sends them (safe mode) and opens our encrypted replies.
    `crypto`: wechatpy's WeChatCrypto (Official Account) or enterprise WeChatCrypto (WeCom)."""

    crypto: Any
    to_user: str
    token: str

    def callback(self, inner_xml: str, *, timestamp: int | None = None, nonce: str = "1320562132",
                 forge: bool = False) -> tuple[dict[str, str], bytes]:
        import xmltodict

        stamp = str(timestamp if timestamp is not None else int(time.time()))
        sealed = xmltodict.parse(self.crypto.encrypt_message(inner_xml, nonce, stamp))["xml"]
        signature = sealed["MsgSignature"]
        if forge:
            signature = hashlib.sha1(b"forged" + stamp.encode()).hexdigest()
        body = (f"<xml><ToUserName><![CDATA[{self.to_user}]]></ToUserName>"
                f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>").encode()
        plain_signature = hashlib.sha1("".join(sorted([self.token, stamp, nonce])).encode()).hexdigest()
        query = {"signature": plain_signature, "timestamp": stamp, "nonce": nonce, "openid": "x",
                 "encrypt_type": "aes", "msg_signature": signature}
        return query, body

    def open_reply(self, body: str) -> dict[str, str]:
        import xmltodict

        sealed = xmltodict.parse(body)["xml"]
        plaintext = self.crypto.decrypt_message(body, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"])
        return xmltodict.parse(plaintext)["xml"]


def text_message(user: str, to: str, content: str, msg_id: int, *, agent: str | None = None,
                 create_time: int = 1700000000) -> str:
    extra = f"<AgentID>{agent}</AgentID>" if agent else ""
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>{extra}</xml>")
