"""sales_report: 本周销售周报 / 这个月业绩怎么样 / 销售漏斗 / 上周各个销售的拜访次数 /
各门店这个月的会员消费排行 / 导出本月拜访记录 — a short text plus a PNG chart (or an exported file)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from crm_store import charts
from crm_store import messages as SM
from crm_store.services import members, reports, transfer_io
from crm_store.services import staff as staff_service
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import MANAGER_ROLES, Job, Slots, Turn, register
from dialogs.member import member_sales_text
from dialogs.reply import Reply

log = logging.getLogger(__name__)

# Which report a message asks for, by the words in it; the first match wins.
EXPORT_WORDS = ("导出", "下载", "excel", "表格文件")
EXPORT_KINDS = (("拜访", "visits"), ("订单", "orders"), ("会员", "members"), ("客户", "customers"))
KIND_WORDS = (
    ("stores", ("门店", "会员消费")),
    ("funnel", ("漏斗", "商机汇总", "管道")),
    ("visits", ("拜访次数", "拜访统计", "拜访量", "拜访了多少")),
)


def report_kind(text: str) -> str:
    lowered = text.lower()
    if any(word in lowered for word in EXPORT_WORDS):
        return "export"
    for kind, words in KIND_WORDS:
        if any(word in text for word in words):
            return kind
    return "summary"


def export_kind(text: str) -> str:
    return next((kind for word, kind in EXPORT_KINDS if word in text), "visits")


def person_named(turn: Turn) -> int | None:
    """李娜这个月业绩咋样: the one colleague whose name is written (a manager's report about one person)."""
    named = [s.id for s in staff_service.list_staff(turn.session) if s.name in turn.text and s.id != turn.actor.staff_id]
    return named[0] if len(named) == 1 else None


def period_for(turn: Turn) -> reports.Period:
    """From the NLU time entity: a span as its days, a point as its day (or week / month by grain);
    no time means this week."""
    entity = ent.first(turn.parse, "time")
    today = turn.now.date()
    if entity is not None:
        value = entity.get("value")
        if isinstance(value, dict):
            span = ent.span_of(value, turn.tz)
            if span is not None:
                return reports.period_from_span(span[0], span[1], turn.tz)
        point = ent.as_datetime(value, turn.tz)
        if point is not None:
            grain = (entity.get("additional_info") or {}).get("grain")
            if grain == "month":
                return reports.month_of(point.date(), turn.tz)
            if grain == "week":
                return reports.week_of(point.date(), turn.tz)
            day = point.date()
            return reports.Period(reports.day_start(day, turn.tz), reports.day_start(day + timedelta(days=1), turn.tz))
    if "月" in turn.text and ("本月" in turn.text or "这个月" in turn.text or "当月" in turn.text):
        return reports.month_of(today, turn.tz)
    return reports.week_of(today, turn.tz)


@register
class SalesReportJob(Job):
    name = "sales_report"

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        period = period_for(turn)
        slots["start"] = period.start.isoformat()
        slots["end"] = period.end.isoformat()
        slots["kind"] = report_kind(turn.text)
        slots["weekly"] = "周报" in turn.text
        if slots["kind"] == "export":
            slots["export"] = export_kind(turn.text)
        elif turn.actor.role in MANAGER_ROLES:
            person = person_named(turn)
            if person is not None:
                slots["person"] = person

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        period = reports.Period(datetime.fromisoformat(slots["start"]), datetime.fromisoformat(slots["end"]))
        kind = slots["kind"]
        if kind == "export":
            return self._export(turn, slots, period)
        if kind == "stores":
            return self._stores(turn, period)
        title = {
            "funnel": SM.REPORT_TITLE_FUNNEL,
            "visits": SM.REPORT_TITLE_VISITS,
        }.get(kind, SM.REPORT_TITLE_WEEKLY if slots.get("weekly") else SM.REPORT_TITLE)
        report = reports.sales_report(turn.session, turn.actor, period, title=title, now=turn.now,
                                      person=slots.get("person"))
        sections = {"funnel": ("pipeline",), "visits": ("visits",)}.get(
            kind, ("visits", "customers", "deals", "pipeline")
        )
        text = reports.report_text(report, turn.tz, sections=sections)
        path = reports.chart_path(turn.config.charts_dir, kind, turn.actor.staff_id, period, turn.now)
        draw = {
            "funnel": lambda: reports.funnel_chart(report, path),
            "visits": lambda: reports.visits_chart(report, path, turn.tz),
        }.get(kind, lambda: reports.report_chart(report, path, turn.tz))
        return [self._with_chart(turn, text, draw)]

    def _with_chart(self, turn: Turn, text: str, draw) -> Reply:  # type: ignore[no-untyped-def]
        try:
            charts.prune(turn.config.charts_dir)
            return Reply(text, image_path=str(draw()))
        except (charts.FontMissing, OSError, ValueError):  # the figures still matter without the picture
            log.exception("chart failed")
            return Reply(text + "\n" + DM.REPORT_CHART_FAILED)

    def _stores(self, turn: Turn, period: reports.Period) -> list[Reply]:
        stores = members.store_sales(turn.session, turn.actor, period.start, period.end)
        text = member_sales_text(turn, period.start, period.end, by_clerk=True)
        if not stores:
            return [Reply(text)]
        path = reports.chart_path(turn.config.charts_dir, "stores", turn.actor.staff_id, period, turn.now)
        return [self._with_chart(turn, text, lambda: reports.store_chart(stores, path, period, turn.tz))]

    def _export(self, turn: Turn, slots: Slots, period: reports.Period) -> list[Reply]:
        kind = slots["export"]
        stamp = turn.now.strftime("%Y%m%d%H%M%S")
        path = turn.config.exports_dir / f"{kind}-{turn.actor.staff_id}-{stamp}.xlsx"
        count = transfer_io.export_data(
            turn.session, turn.actor, kind, path, fmt="xlsx", since=period.start, until=period.end, now=turn.now,
        )
        last = period.end - timedelta(seconds=1)
        return [Reply(DM.REPORT_EXPORTED.format(
            count=count, what=DM.REPORT_EXPORT_WHAT[kind], start=reports.fmt_day(period.start, turn.tz),
            end=reports.fmt_day(last, turn.tz), name=Path(path).name,
        ), file_path=str(path))]
