"""Shared by the benchmarks and the scale-out scenario: machine line, percentiles, a throw-away
PostgreSQL database, the NLU model cache, and WeChat callbacks built with wechatpy exactly as Tencent
sends them (safe mode), the same way tests/bot/conftest.py does.
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import psycopg
from wechatpy.crypto import WeChatCrypto

from bot.fakes.tencent import Tencent as FakeTencent
from bot.fakes.tencent import new_aes_key  # noqa: F401  (re-exported for the benchmarks)
from bot.fakes.tencent import text_message as fake_text_message

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


class MachineTime:
    """Where this machine's CPU time went between two readings of /proc/stat: busy, idle, and stolen (the
    hypervisor gave the vCPUs to another tenant). Steal is what makes wall figures drift here: 15-40 % of
    a run in a busy minute, near 0 in a quiet one. CPU seconds of our processes do not include it."""

    FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")

    def __init__(self) -> None:
        self.start = self._read()
        self.shares: dict[str, float] = {}

    @staticmethod
    def _read() -> list[int]:
        with open("/proc/stat") as stat:
            return [int(x) for x in stat.readline().split()[1:9]]

    def stop(self) -> MachineTime:
        delta = [b - a for a, b in zip(self.start, self._read(), strict=True)]
        total = sum(delta) or 1
        self.shares = {name: value / total for name, value in zip(self.FIELDS, delta, strict=True)}
        return self

    @property
    def steal(self) -> float:
        return self.shares.get("steal", 0.0)

    def text(self) -> str:
        idle = self.shares.get("idle", 0.0) + self.shares.get("iowait", 0.0)
        return f"machine: {self.steal:.0%} stolen, {idle:.0%} idle"


def speed_reference() -> str:
    """CPU seconds of a fixed pure-Python loop, now: this shared machine's speed drifts by a third within
    minutes (other tenants), so a CPU figure is read against this yardstick measured in the same run."""
    import time

    started = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return f"speed reference (10M-step Python loop): {time.process_time() - started:.2f} s CPU"


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


class Tencent(FakeTencent):
    """Seals callbacks as Tencent does (safe mode), a fresh nonce each time, and opens our passive replies:
    bot.fakes.tencent.Tencent, keyed by token / AES key / app id."""

    def __init__(self, token: str, aes_key: str, app_id: str, to_user: str = "gh_bench") -> None:
        super().__init__(WeChatCrypto(token, aes_key, app_id), to_user, token)

    def callback(self, inner_xml: str, nonce: str | None = None, **kw: object) -> tuple[dict[str, str], bytes]:
        return super().callback(inner_xml, nonce=nonce or uuid.uuid4().hex[:10], **kw)  # type: ignore[arg-type]

    def open_reply(self, body: str) -> str | None:  # type: ignore[override]
        """The Content of an encrypted passive reply; None for `success` (reply pushed later or none)."""
        if not body.lstrip().startswith("<xml"):
            return None
        return str(super().open_reply(body).get("Content") or "")


def text_message(user: str, to: str, content: str, msg_id: int) -> str:
    """A text message as sent now (CDATA-safe content)."""
    return fake_text_message(user, to, content.replace("]]>", "]]]]><![CDATA[>"), msg_id,
                             create_time=int(time.time()))
