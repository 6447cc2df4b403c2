"""Heartbeat rows of running scheduler processes, so `crmbot scheduler status` can say who leads.

Operational bookkeeping (not business data), so no audit rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from crm_store.models import SchedulerNode
from crm_store.services.common import require_aware


def heartbeat(session: Session, node_id: str, *, hostname: str, pid: int, is_leader: bool, now: datetime) -> None:
    require_aware(now)
    node = session.get(SchedulerNode, node_id)
    if node is None:
        session.add(SchedulerNode(node_id=node_id, hostname=hostname[:100], pid=pid, is_leader=is_leader,
                                  started_at=now, heartbeat_at=now))
    else:
        node.is_leader = is_leader
        node.heartbeat_at = now
    if is_leader:  # a dead leader's row must not keep claiming the title
        session.execute(update(SchedulerNode).where(SchedulerNode.node_id != node_id).values(is_leader=False))
    session.flush()


def remove(session: Session, node_id: str) -> None:
    session.execute(delete(SchedulerNode).where(SchedulerNode.node_id == node_id))


def live_nodes(session: Session, now: datetime, *, stale_after: timedelta) -> list[SchedulerNode]:
    stmt = select(SchedulerNode).where(SchedulerNode.heartbeat_at >= now - stale_after)
    return list(session.scalars(stmt.order_by(SchedulerNode.is_leader.desc(), SchedulerNode.started_at)))


def prune(session: Session, now: datetime, *, older_than: timedelta) -> None:
    session.execute(delete(SchedulerNode).where(SchedulerNode.heartbeat_at < now - older_than))
