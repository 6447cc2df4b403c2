"""本月各门店会员消费 as text, for the sales_report job."""

from __future__ import annotations

from datetime import datetime, timedelta

from crm_store.services import members
from dialogs import messages as DM
from dialogs.base import Turn


def member_sales_text(turn: Turn, start: datetime, end: datetime, *, by_clerk: bool = False) -> str:
    """本月各门店会员消费 as text, for the sales_report job: stores (and their clerks) in [start, end)."""
    stores = members.store_sales(turn.session, turn.actor, start, end)
    last_day = (end - timedelta(seconds=1)).astimezone(turn.tz)
    span = {"start": members.fmt_date(start.astimezone(turn.tz).date()), "end": members.fmt_date(last_day.date())}
    if not stores:
        return DM.MEMBER_SALES_NONE.format(**span)
    clerks = members.clerk_sales(turn.session, turn.actor, start, end) if by_clerk else []
    lines = [DM.MEMBER_SALES_HEADER.format(**span)]
    for store in stores:
        lines.append(DM.MEMBER_SALES_STORE.format(
            store=store.store, amount=DM.money(store.amount), purchases=store.purchases, members=store.members
        ))
        lines.extend(
            DM.MEMBER_SALES_CLERK.format(clerk=c.clerk, amount=DM.money(c.amount), purchases=c.purchases)
            for c in clerks if c.store == store.store
        )
    return "\n".join(lines)
