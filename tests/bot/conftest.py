"""Channel test fixtures: the real dialogs over a seeded demo database, the whole `crmbot run` server
(channels, inbox workers, outbox) on a real socket, and the platform fakes from bot.fakes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.fakes import FakeAPI, ServerThread
from crm_store.db import transaction
from crm_store.services import binding, find_staff
from crmbot.config import Config
from crmbot.serve import Served, bind, build_server
from crmbot.wiring import Runtime
from dialogs import DialogEngine
from tests.conftest import DEMO_NOW
from tests.crm_store.helpers import table_counts

__all__ = ["DEMO_NOW", "Live", "count", "counts", "dialogs", "fake_api", "fresh_api", "invite", "runtime", "serve"]


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
        api.overrides.clear()
    return api, url


def invite(runtime: Runtime, name: str) -> str:
    with transaction(runtime.factory) as session:
        staff = find_staff(session, name)
        assert staff is not None
        return binding.create_invite(session, staff.id, actor=None, now=DEMO_NOW).code


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.factory() as session:
        return table_counts(session)


def count(runtime: Runtime, model: type, *where: Any) -> int:
    with runtime.factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@dataclass
class Live:
    served: Served
    url: str
    runtime: Runtime


def test_config(runtime: Runtime, channels: dict[str, dict[str, Any]], **sections: Any) -> Config:
    data: dict[str, Any] = {
        "database": {"url": runtime.config.database.url},
        "channels": channels,
        "server": {"token_cache_url": ""},
        "scheduler": {"enabled": False, "poll_seconds": 0.2, "retry_base_seconds": 1},
        "inbox": {"poll_seconds": 0.2, "claim_timeout_seconds": 5},
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return Config.model_validate(data)


def demo_clock() -> Callable[[], datetime]:
    """The demo's reference time, moving on with real time (outbox back-offs and claim timeouts elapse)."""
    started = time.monotonic()
    return lambda: DEMO_NOW + timedelta(seconds=time.monotonic() - started)


@contextlib.contextmanager
def serve(runtime: Runtime, dialogs: Any, channels: dict[str, dict[str, Any]], *, node_id: str = "test-node",
          **sections: Any) -> Iterator[Live]:
    """The whole `crmbot run` server (channels, inbox workers, outbox delivery) on a real socket."""
    config = test_config(runtime, channels, **sections)
    served = build_server(config, sock=bind("127.0.0.1", 0), dialogs=dialogs, node_id=node_id,
                          announce=lambda line: None, clock=demo_clock())
    with ServerThread(server=served.server, sockets=[served.sock]) as thread:
        served.intake._ready.wait(10)
        starter = served.app.state.channels
        deadline = time.monotonic() + 20
        while "starting" in starter.status.values() and time.monotonic() < deadline:
            time.sleep(0.02)
        yield Live(served, thread.url, runtime)
