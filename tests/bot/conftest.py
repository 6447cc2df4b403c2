"""Channel test fixtures: the real dialogs over a seeded demo database, Tencent request builders."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from crm_store.db import transaction
from crm_store.services import binding, find_staff
from crmbot.wiring import Runtime
from dialogs import DialogEngine
from tests.bot.fakes import FakeAPI, ServerThread
from tests.conftest import DEMO_NOW


@pytest.fixture
def runtime(demo_runtime_for: Callable[[str], Runtime]) -> Runtime:
    return demo_runtime_for("sqlite")


@pytest.fixture
def dialogs(runtime: Runtime, nlu_parser) -> DialogEngine:  # type: ignore[no-untyped-def]
    return DialogEngine(runtime.factory, nlu_parser, runtime.config, clock=lambda: DEMO_NOW)


@pytest.fixture(scope="session")
def fake_api() -> Iterator[tuple[FakeAPI, str]]:
    api = FakeAPI()
    with ServerThread(api.app) as server:
        yield api, server.url


@pytest.fixture
def fresh_api(fake_api: tuple[FakeAPI, str]) -> tuple[FakeAPI, str]:
    api, url = fake_api
    with api.lock:
        api.calls.clear()
        api.updates.clear()
    return api, url


def invite(runtime: Runtime, name: str) -> str:
    with transaction(runtime.factory) as session:
        staff = find_staff(session, name)
        assert staff is not None
        return binding.create_invite(session, staff.id, actor=None, now=DEMO_NOW).code


def new_aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()[:-1]


@dataclass
class Tencent:
    """Builds callbacks exactly as Tencent sends them (safe mode) and opens our encrypted replies."""

    crypto: WeChatCrypto
    to_user: str
    token: str

    def callback(self, inner_xml: str, *, timestamp: int | None = None, nonce: str = "1320562132",
                 forge: bool = False) -> tuple[dict[str, str], bytes]:
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
        sealed = xmltodict.parse(body)["xml"]
        plaintext = self.crypto.decrypt_message(body, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"])
        return xmltodict.parse(plaintext)["xml"]


def text_message(user: str, to: str, content: str, msg_id: int, *, agent: str | None = None,
                 create_time: int = 1700000000) -> str:
    extra = f"<AgentID>{agent}</AgentID>" if agent else ""
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>{extra}</xml>")
