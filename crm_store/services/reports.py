"""Sales reports: figures for a period against the previous one, as text and a PNG chart.

A rep sees only their own figures, a manager their team's (and their own), a director or admin everyone's.
Periods are half-open [start, end) in aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from crm_store import charts
from crm_store import messages as SM
from crm_store.errors import InvalidInput, PermissionDenied
from crm_store.models import STAGE_PROBABILITY, Customer, Opportunity, Order, Staff, Visit
from crm_store.services.common import ALL_CUSTOMERS_ROLES, Actor, actor_for_staff, money_value, require_aware

REPORT_ROLES = ("rep", "manager", "director", "admin")
OPEN_STAGES = ("initial", "qualified", "proposal", "negotiation")
MAX_SPAN = timedelta(days=366)


# --- periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive

    def previous(self) -> Period:
        """The period before: the previous calendar month for a month, else the same length earlier."""
        start_local, end_local = self.start, self.end
        if (
            start_local.day == 1 and end_local.day == 1 and start_local.time() == time(0) and end_local.time() == time(0)
            and _add_months(start_local.date(), 1) == end_local.date()
        ):
            first = _add_months(start_local.date(), -1)
            return Period(datetime.combine(first, time(0), tzinfo=start_local.tzinfo), self.start)
        return Period(self.start - (self.end - self.start), self.start)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def day_start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def week_of(day: date, tz: tzinfo) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period(day_start(monday, tz), day_start(monday + timedelta(days=7), tz))


def month_of(day: date, tz: tzinfo) -> Period:
    first = day.replace(day=1)
    return Period(day_start(first, tz), day_start(_add_months(first, 1), tz))


def period_from_span(start: datetime, last: datetime, tz: tzinfo) -> Period:
    """An NLU span (inclusive end such as 23:59:59) as whole local days [start day, day after last)."""
    first_day = start.astimezone(tz).date()
    last_day = last.astimezone(tz).date()
    if last_day < first_day:
        raise InvalidInput(SM.REPORT_SPAN_INVALID)
    return Period(day_start(first_day, tz), day_start(last_day + timedelta(days=1), tz))


# --- scope --------------------------------------------------------------------------------------


def scope_ids(session: Session, actor: Actor) -> set[int] | None:
    """Staff whose figures the actor may see; None means everyone."""
    if actor.staff_id is None or actor.role not in REPORT_ROLES:
        raise PermissionDenied(SM.REPORT_NO_PERMISSION)
    if actor.role in ALL_CUSTOMERS_ROLES:
        return None
    if actor.role == "manager":
        team = set(session.scalars(select(Staff.id).where(Staff.manager_id == actor.staff_id)))
        return team | {actor.staff_id}
    return {actor.staff_id}


def scope_label(actor: Actor) -> str:
    if actor.role in ALL_CUSTOMERS_ROLES:
        return SM.REPORT_SCOPE_ALL
    if actor.role == "manager":
        return SM.REPORT_SCOPE_TEAM.format(team=actor.team or actor.name)
    return SM.REPORT_SCOPE_OWN


def _in_scope(column: Any, ids: set[int] | None) -> ColumnElement[bool]:
    return true() if ids is None else column.in_(sorted(ids))


# --- figures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageFigure:
    stage: str
    count: int
    amount: Decimal
    weighted: Decimal = Decimal(0)  # amount × each opportunity's own win probability (a rep may set 60%)


@dataclass
class Figures:
    """Everything measured over one period for one scope."""

    period: Period
    visits: dict[int, int] = field(default_factory=dict)  # staff id -> visits
    new_customers: int = 0
    won_count: int = 0
    won_amount: Decimal = Decimal(0)
    lost_count: int = 0
    lost_amount: Decimal = Decimal(0)
    orders_count: int = 0
    orders_amount: Decimal = Decimal(0)

    @property
    def visits_total(self) -> int:
        return sum(self.visits.values())


@dataclass
class SalesReport:
    title: str
    scope: str
    people: list[tuple[int, str]]  # (staff id, name) in display order
    current: Figures
    previous: Figures
    pipeline: list[StageFigure]  # open opportunities now, by stage in funnel order
    previous_label: str = SM.REPORT_CHART_PREVIOUS

    @property
    def pipeline_count(self) -> int:
        return sum(s.count for s in self.pipeline)

    @property
    def pipeline_amount(self) -> Decimal:
        return sum((s.amount for s in self.pipeline), Decimal(0))

    @property
    def pipeline_weighted(self) -> Decimal:
        return sum((s.weighted for s in self.pipeline), Decimal(0)).quantize(Decimal("0.01"))


def measure(session: Session, ids: set[int] | None, period: Period) -> Figures:
    figures = Figures(period)
    start, end = period.start, period.end
    rows = session.execute(
        select(Visit.staff_id, func.count(Visit.id))
        .where(Visit.visited_at >= start, Visit.visited_at < end, _in_scope(Visit.staff_id, ids))
        .group_by(Visit.staff_id)
    ).all()
    figures.visits = {staff_id: int(count) for staff_id, count in rows}
    figures.new_customers = session.scalar(
        select(func.count(Customer.id)).where(
            Customer.created_at >= start, Customer.created_at < end, _in_scope(Customer.owner_id, ids)
        )
    ) or 0
    for stage in ("won", "lost"):
        count, amount = session.execute(
            select(func.count(Opportunity.id), func.sum(Opportunity.amount)).where(
                Opportunity.stage == stage, Opportunity.closed_at >= start, Opportunity.closed_at < end,
                _in_scope(Opportunity.owner_id, ids),
            )
        ).one()
        setattr(figures, f"{stage}_count", int(count or 0))
        setattr(figures, f"{stage}_amount", money_value(amount))
    count, amount = session.execute(
        select(func.count(Order.id), func.sum(Order.total)).where(
            Order.status == "approved", Order.decided_at >= start, Order.decided_at < end,
            _in_scope(Order.submitter_id, ids),
        )
    ).one()
    figures.orders_count, figures.orders_amount = int(count or 0), money_value(amount)
    return figures


def open_pipeline(session: Session, ids: set[int] | None) -> list[StageFigure]:
    """Open opportunities by stage; the weighted amount uses each opportunity's stored probability
    (a stage's default only where none is stored)."""
    rows = session.execute(
        select(Opportunity.stage, Opportunity.probability, func.count(Opportunity.id), func.sum(Opportunity.amount))
        .where(Opportunity.stage.in_(OPEN_STAGES), _in_scope(Opportunity.owner_id, ids))
        .group_by(Opportunity.stage, Opportunity.probability)
    ).all()
    found: dict[str, tuple[int, Decimal, Decimal]] = {}
    for stage, probability, count, amount in rows:
        percent = STAGE_PROBABILITY[stage] if probability is None else probability
        total = money_value(amount)
        n, summed, weighted = found.get(stage, (0, Decimal("0.00"), Decimal(0)))
        found[stage] = (n + int(count), summed + total, weighted + total * Decimal(percent) / 100)
    return [StageFigure(s, *found.get(s, (0, Decimal("0.00"), Decimal(0)))) for s in OPEN_STAGES]


def _people(session: Session, actor: Actor, ids: set[int] | None, figures: list[Figures]) -> list[tuple[int, str]]:
    """Sales people in scope: reps (and the actor if a manager), plus anyone who logged a visit."""
    with_visits = {staff_id for f in figures for staff_id in f.visits}
    stmt = select(Staff.id, Staff.name, Staff.role, Staff.active).order_by(Staff.id)
    if ids is not None:
        stmt = stmt.where(Staff.id.in_(sorted(ids)))
    people = []
    for staff_id, name, role, active in session.execute(stmt):
        if staff_id in with_visits or (active and role == "rep") or (ids is not None and staff_id == actor.staff_id
                                                                       and role == "rep"):
            people.append((staff_id, name))
    return people


def sales_report(
    session: Session, actor: Actor, period: Period, *, title: str = SM.REPORT_TITLE,
    previous: Period | None = None, now: datetime | None = None, person: int | None = None,
) -> SalesReport:
    """Figures for `period` against the previous one. With `now` inside the period (本周 on a Friday), the
    comparison is the same elapsed part of the previous period (上期同期), not all of it."""
    require_aware(period.start)
    require_aware(period.end)
    require_aware(now)
    if period.end <= period.start or period.end - period.start > MAX_SPAN:
        raise InvalidInput(SM.REPORT_SPAN_INVALID)
    ids = scope_ids(session, actor)
    scope = scope_label(actor)
    if person is not None:  # 李娜这个月业绩: one person of the actor's scope
        staff = session.get(Staff, person)
        if staff is None or (ids is not None and person not in ids):
            raise PermissionDenied(SM.REPORT_PERSON_OUT_OF_SCOPE.format(name=staff.name if staff else ""))
        ids, scope = {person}, staff.name
    current = measure(session, ids, period)
    label = SM.REPORT_CHART_PREVIOUS
    if previous is None:
        previous = period.previous()
        if now is not None and period.start < now < period.end:
            previous = Period(previous.start, previous.start + (now - period.start))
            label = SM.REPORT_PREVIOUS_SAME_TIME
    before = measure(session, ids, previous)
    return SalesReport(
        title=title,
        scope=scope,
        people=_people(session, actor, ids, [current, before]),
        current=current,
        previous=before,
        pipeline=open_pipeline(session, ids),
        previous_label=label,
    )


# --- text ---------------------------------------------------------------------------------------


def fmt_money(amount: Any) -> str:
    value = Decimal(str(amount or 0))
    if value >= 10000:
        wan = (value / 10000).quantize(Decimal("0.01"))
        return f"{wan.normalize():f}万元"
    return f"{value.quantize(Decimal('0.01')).normalize():f}元"


def fmt_delta(now: int, before: int) -> str:
    if now > before:
        return SM.REPORT_DELTA_UP.format(value=now - before)
    if now < before:
        return SM.REPORT_DELTA_DOWN.format(value=before - now)
    return SM.REPORT_DELTA_SAME


def fmt_day(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日"


def report_text(report: SalesReport, tz: tzinfo, *, sections: tuple[str, ...] = ("visits", "customers", "deals",
                                                                                "pipeline")) -> str:
    cur, prev, label = report.current, report.previous, report.previous_label
    last = cur.period.end - timedelta(seconds=1)
    lines = [SM.REPORT_HEAD.format(title=report.title, scope=report.scope, start=fmt_day(cur.period.start, tz),
                                  end=fmt_day(last, tz))]
    if "visits" in sections:
        lines.append(SM.REPORT_VISITS.format(count=cur.visits_total, previous=prev.visits_total, label=label,
                                            delta=fmt_delta(cur.visits_total, prev.visits_total)))
        lines.extend(
            SM.REPORT_VISITS_PERSON.format(name=name, count=cur.visits.get(sid, 0), previous=prev.visits.get(sid, 0),
                                          label=label)
            for sid, name in report.people
        )
    if "customers" in sections:
        lines.append(SM.REPORT_NEW_CUSTOMERS.format(count=cur.new_customers, previous=prev.new_customers, label=label,
                                                   delta=fmt_delta(cur.new_customers, prev.new_customers)))
    if "deals" in sections:
        lines.append(SM.REPORT_WON.format(count=cur.won_count, amount=fmt_money(cur.won_amount),
                                         previous=prev.won_count, previous_amount=fmt_money(prev.won_amount),
                                         label=label))
        lines.append(SM.REPORT_LOST.format(count=cur.lost_count, amount=fmt_money(cur.lost_amount)))
        lines.append(SM.REPORT_ORDERS.format(count=cur.orders_count, amount=fmt_money(cur.orders_amount),
                                            previous_amount=fmt_money(prev.orders_amount), label=label))
    if "pipeline" in sections:
        if report.pipeline_count == 0:
            lines.append(SM.REPORT_PIPELINE_EMPTY)
        else:
            lines.append(SM.REPORT_PIPELINE.format(count=report.pipeline_count, amount=fmt_money(report.pipeline_amount),
                                                  weighted=fmt_money(report.pipeline_weighted)))
            lines.extend(
                SM.REPORT_PIPELINE_STAGE.format(stage=SM.STAGE_NAMES[s.stage], count=s.count, amount=fmt_money(s.amount))
                for s in report.pipeline
            )
    return "\n".join(lines)


# --- charts -------------------------------------------------------------------------------------


def _wan(amount: Decimal) -> float:
    return round(float(amount) / 10000, 1)


def report_chart(report: SalesReport, path: Path, tz: tzinfo) -> Path:
    last = report.current.period.end - timedelta(seconds=1)
    people = report.people or [(0, SM.REPORT_NOBODY)]
    return charts.render_sales_chart(
        path,
        title=f"{report.title}｜{report.scope}｜{fmt_day(report.current.period.start, tz)}至{fmt_day(last, tz)}",
        people=[name for _sid, name in people],
        visits=[report.current.visits.get(sid, 0) for sid, _name in people],
        previous_visits=[report.previous.visits.get(sid, 0) for sid, _name in people],
        current_label=SM.REPORT_CHART_CURRENT,
        previous_label=report.previous_label,
        stages=[SM.STAGE_NAMES[s.stage] for s in report.pipeline],
        stage_amounts_wan=[_wan(s.amount) for s in report.pipeline],
        stage_counts=[s.count for s in report.pipeline],
        visits_title=SM.REPORT_CHART_VISITS,
        pipeline_title=SM.REPORT_CHART_PIPELINE,
        amount_label=SM.REPORT_AXIS_WAN,
    )


def funnel_chart(report: SalesReport, path: Path) -> Path:
    return charts.render_bars(
        path, title=f"{SM.REPORT_TITLE_FUNNEL}｜{report.scope}", horizontal=True, color="#43a047",
        axis_label=SM.REPORT_AXIS_WAN,
        labels=[SM.STAGE_NAMES[s.stage] for s in report.pipeline],
        values=[_wan(s.amount) for s in report.pipeline],
        value_labels=[f"{s.count}个 / {fmt_money(s.amount)}" for s in report.pipeline],
    )


def visits_chart(report: SalesReport, path: Path, tz: tzinfo) -> Path:
    last = report.current.period.end - timedelta(seconds=1)
    people = report.people or [(0, SM.REPORT_NOBODY)]
    counts = [report.current.visits.get(sid, 0) for sid, _name in people]
    return charts.render_bars(
        path, title=f"{SM.REPORT_CHART_VISITS}｜{fmt_day(report.current.period.start, tz)}至{fmt_day(last, tz)}",
        labels=[name for _sid, name in people], values=counts, value_labels=[str(c) for c in counts],
        axis_label=SM.REPORT_AXIS_VISITS,
    )


def store_chart(stores: list[Any], path: Path, period: Period, tz: tzinfo) -> Path:
    """Bars of member purchases per store (rows of crm_store.services.members.store_sales)."""
    last = period.end - timedelta(seconds=1)
    return charts.render_bars(
        path, title=SM.REPORT_CHART_STORES.format(start=fmt_day(period.start, tz), end=fmt_day(last, tz)),
        labels=[s.store for s in stores], values=[float(s.amount) for s in stores],
        value_labels=[f"{fmt_money(s.amount)}（{s.purchases}笔）" for s in stores], color="#8e24aa",
        axis_label=SM.REPORT_AXIS_YUAN,
    )


def chart_path(charts_dir: Path | str, kind: str, actor_id: int | None, period: Period, stamp: datetime) -> Path:
    name = f"{kind}-{actor_id or 0}-{period.start:%Y%m%d}-{period.end:%Y%m%d}-{stamp:%H%M%S%f}.png"
    return Path(charts_dir) / name


# --- the Monday push ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyReport:
    text: str
    image_path: str | None


def weekly_report_for_manager(
    session: Session, manager_id: int, week_start: date, tz: tzinfo, charts_dir: Path | str
) -> tuple[str, str | None]:
    """The team report for the week starting on Monday `week_start`: (text, chart PNG path)."""
    actor = actor_for_staff(session, manager_id)
    if actor.role != "manager":
        raise PermissionDenied(SM.WEEKLY_NOT_MANAGER)
    period = week_of(week_start, tz)
    report = sales_report(session, actor, period, title=SM.REPORT_TITLE_WEEKLY)
    path = Path(charts_dir) / f"weekly-{manager_id}-{period.start:%Y%m%d}.png"
    try:
        image: str | None = str(report_chart(report, path, tz))
    except charts.FontMissing:
        image = None  # the text still goes out
    return report_text(report, tz), image


def weekly_for_manager(
    session: Session, manager_id: int, *, now: datetime, tz: ZoneInfo, charts_dir: Path
) -> WeeklyReport | None:
    """The scheduler's contract (scheduler.jobs.weekly_report): last week's report, None if not a manager."""
    require_aware(now)
    staff = session.get(Staff, manager_id)
    if staff is None or staff.role != "manager" or not staff.active:
        return None
    today = now.astimezone(tz).date()
    last_monday = today - timedelta(days=today.weekday() + 7)
    text, image = weekly_report_for_manager(
        session, manager_id, last_monday, tz, charts_dir
    )
    return WeeklyReport(text, image)
