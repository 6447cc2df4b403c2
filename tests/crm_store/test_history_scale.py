"""customer_history stays fast with a million visits in the table."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from crm_store.services import customer_history, log_visit
from tests.crm_store.helpers import NOW, Org, add_customer

# CRMBOT_TEST_HISTORY_ROWS=100000 for a quicker local run; the suite default is the full million.
ROWS = int(os.environ.get("CRMBOT_TEST_HISTORY_ROWS", "1000000"))


@pytest.mark.slow
def test_history_with_a_million_visits(session: Session, org: Org) -> None:
    busy = add_customer(session, "大客户", org.rep_a)
    quiet = add_customer(session, "小客户", org.rep_a)
    session.commit()
    params = {"busy": busy.id, "quiet": quiet.id, "staff": org.rep_a.staff_id, "n": ROWS}
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA foreign_keys=OFF"))  # bulk fixture load: the ids are known good
        session.execute(
            text(
                "INSERT INTO visit (customer_id, staff_id, visited_at, summary, created_at) "
                "WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < :n) "
                "SELECT CASE WHEN x % 10 = 0 THEN :quiet ELSE :busy END, :staff, "
                "datetime('2024-01-01', '+' || x || ' minutes') || '.000000', '例行拜访 ' || x, "
                "'2026-01-01 00:00:00.000000' FROM seq"
            ),
            params,
        )
        session.commit()
        session.execute(text("PRAGMA foreign_keys=ON"))
        session.execute(text("ANALYZE"))
    else:
        session.execute(text("SET LOCAL session_replication_role = replica"))  # skip FK triggers for the load
        session.execute(
            text(
                "INSERT INTO visit (customer_id, staff_id, visited_at, summary, created_at) "
                "SELECT CASE WHEN x % 10 = 0 THEN :quiet ELSE :busy END, :staff, "
                "TIMESTAMPTZ '2024-01-01 00:00:00+00' + x * INTERVAL '1 minute', '例行拜访 ' || x, now() "
                "FROM generate_series(1, :n) AS x"
            ),
            params,
        )
        session.commit()
        session.execute(text("ANALYZE visit"))
    session.commit()
    log_visit(session, org.rep_a, quiet.id, summary="最新一次", visited_at=NOW, now=NOW)
    session.commit()

    for customer, expected_total in ((busy, ROWS - ROWS // 10), (quiet, ROWS // 10 + 1)):
        started = time.perf_counter()
        page, total = customer_history(session, org.rep_a, customer.id, offset=0, limit=5)
        more, _ = customer_history(session, org.rep_a, customer.id, offset=5, limit=5)
        elapsed = time.perf_counter() - started
        assert total == expected_total
        assert len(page) == 5 and len(more) == 5
        assert page[0].at > more[0].at
        assert elapsed < 2.0, f"customer_history took {elapsed:.2f}s"
    page, _ = customer_history(session, org.rep_a, quiet.id, limit=1)
    assert page[0].text == "拜访：最新一次"
