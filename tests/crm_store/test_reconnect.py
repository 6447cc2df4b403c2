"""Without a ping before every checkout, a connection the server dropped fails once and is replaced: the
inbox's commit retries on a fresh connection (PostgreSQL: the server really terminates the backend)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, text

from crm_store.db import make_engine, retry_on_disconnect, session_factory, transaction
from crm_store.models import InboxMessage
from crm_store.services import inbox

NOW = datetime.fromisoformat("2026-12-02T10:00:00+08:00")


def test_a_dropped_connection_is_replaced_on_retry(pg_url: str) -> None:
    engine = make_engine(pg_url)
    factory = session_factory(engine)
    try:
        with engine.connect() as conn:  # the pooled connection the next transaction will get
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with make_engine(pg_url).connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        calls = []

        def commit() -> inbox.Accepted:
            calls.append(1)
            with transaction(factory) as session:
                return inbox.accept(session, channel="wechat", message_key="after-restart", external_id="o-1",
                                    text="你好", now=NOW)

        accepted = retry_on_disconnect(commit)
        assert accepted.new and len(calls) == 2  # the first try met the dead connection
        with factory() as session:
            assert session.scalar(select(InboxMessage.text).where(InboxMessage.id == accepted.id)) == "你好"
        with pytest.raises(ZeroDivisionError):  # any other error is not retried
            retry_on_disconnect(lambda: 1 / 0)
    finally:
        engine.dispose()
