"""Shared by the benchmarks and the scale-out scenario: machine line, percentiles, a throw-away
PostgreSQL database, the NLU model cache, and WeChat callbacks built with wechatpy exactly as Tencent
sends them (safe mode), the same way tests/bot/conftest.py does.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import platform
import socket
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
import xmltodict
from wechatpy.crypto import WeChatCrypto

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PG_ADMIN_URL = os.environ.get("CRMBOT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NLU_MODEL_PATH = os.environ.get("CRMBOT_BENCH_NLU_MODEL", "/tmp/crmbot-bench-nlu/model.pkl")


# --- machine ------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def pg_version(admin_url: str = PG_ADMIN_URL) -> str:
    try:
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "?"
    except psycopg.Error as exc:
        return f"unreachable ({type(exc).__name__})"


def machine_line(admin_url: str = PG_ADMIN_URL) -> str:
    return (f"cpu: {cpu_model()}  cores: {os.cpu_count()}  python: {platform.python_version()}  "
            f"postgresql: {pg_version(admin_url)}  load average: {load_average()}")


def ensure_model(path: str = NLU_MODEL_PATH) -> None:
    """Train the cached benchmark model when it is missing or stale (servers never train)."""
    from zoneinfo import ZoneInfo

    from crmbot.config import Config
    from nlu import load_parser

    load_parser(Config.model_validate({"nlu": {"model_path": path}}).nlu, ZoneInfo("Asia/Shanghai"),
                train_if_missing=True)


# --- figures ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(min(rank, len(ordered))) - 1]


# --- throw-away PostgreSQL database -------------------------------------------------------------


@contextlib.contextmanager
def throwaway_pg(prefix: str = "crmbot_bench", admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """CREATE a uniquely named database, yield its SQLAlchemy URL, DROP it (WITH FORCE) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = admin_url.rpartition("/")
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- WeChat Official Account callbacks ----------------------------------------------------------


def new_aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()[:-1]


@dataclass
class Tencent:
    """Seals callbacks as Tencent does (safe mode) and opens our encrypted passive replies."""

    token: str
    aes_key: str
    app_id: str
    to_user: str = "gh_bench"

    def __post_init__(self) -> None:
        self.crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)

    def callback(self, inner_xml: str, nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        stamp = str(int(time.time()))
        nonce = nonce or uuid.uuid4().hex[:10]
        sealed = xmltodict.parse(self.crypto.encrypt_message(inner_xml, nonce, stamp))["xml"]
        body = (f"<xml><ToUserName><![CDATA[{self.to_user}]]></ToUserName>"
                f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>").encode()
        plain = hashlib.sha1("".join(sorted([self.token, stamp, nonce])).encode()).hexdigest()
        query = {"signature": plain, "timestamp": stamp, "nonce": nonce, "openid": "x",
                 "encrypt_type": "aes", "msg_signature": sealed["MsgSignature"]}
        return query, body

    def open_reply(self, body: str) -> str | None:
        """The Content of an encrypted passive reply; None for `success` (reply pushed later or none)."""
        if not body.lstrip().startswith("<xml"):
            return None
        sealed = xmltodict.parse(body)["xml"]
        plain = self.crypto.decrypt_message(body, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"])
        return str(xmltodict.parse(plain)["xml"].get("Content") or "")


def text_message(user: str, to: str, content: str, msg_id: int) -> str:
    content = content.replace("]]>", "]]]]><![CDATA[>")
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")
