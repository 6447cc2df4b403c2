"""Report figures against hand-computed values, scopes, periods and the chart (both backends)."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store import charts
from crm_store.errors import PermissionDenied
from crm_store.models import Customer, Opportunity, Order, Staff, Visit
from crm_store.services import actor_for_staff, find_staff, reports
from tests.crm_store.helpers import NOW, TZ, Org, add_customer


def _actor(session: Session, name: str):  # type: ignore[no-untyped-def]
    return actor_for_staff(session, find_staff(session, name).id)


def _in(moment: datetime | None, period: reports.Period) -> bool:
    return moment is not None and period.start <= moment.astimezone(TZ) < period.end


def test_manager_month_figures_match_a_plain_count(demo_session: Session) -> None:
    session = demo_session
    manager = _actor(session, "陈静")
    team = {s.id for s in session.scalars(select(Staff)) if s.manager_id == manager.staff_id} | {manager.staff_id}
    period = reports.month_of(date(2026, 11, 27), TZ)
    report = reports.sales_report(session, manager, period)

    # Independent figures: load rows and count in Python.
    visits = [v for v in session.scalars(select(Visit)) if v.staff_id in team and _in(v.visited_at, period)]
    assert report.current.visits_total == len(visits) > 0
    for staff_id, _name in report.people:
        assert report.current.visits.get(staff_id, 0) == sum(v.staff_id == staff_id for v in visits)
    october = reports.Period(datetime(2026, 10, 1, tzinfo=TZ), datetime(2026, 11, 1, tzinfo=TZ))
    assert report.previous.period == october
    assert report.previous.visits_total == sum(
        1 for v in session.scalars(select(Visit)) if v.staff_id in team and _in(v.visited_at, october)
    )
    opps = list(session.scalars(select(Opportunity)))
    won = [o for o in opps if o.owner_id in team and o.stage == "won" and _in(o.closed_at, period)]
    assert report.current.won_count == len(won) > 0
    assert report.current.won_amount == sum((o.amount for o in won), Decimal(0))
    lost = [o for o in opps if o.owner_id in team and o.stage == "lost" and _in(o.closed_at, period)]
    assert report.current.lost_count == len(lost)
    for figure in report.pipeline:
        same = [o for o in opps if o.owner_id in team and o.stage == figure.stage]
        assert figure.count == len(same)
        assert figure.amount == sum((o.amount or Decimal(0) for o in same), Decimal(0))
    expected_weighted = sum(
        (o.amount * o.probability / 100 for o in opps if o.owner_id in team and o.stage not in ("won", "lost")
         and o.amount is not None), Decimal(0))
    assert report.pipeline_weighted == expected_weighted.quantize(Decimal("0.01"))
    new = [c for c in session.scalars(select(Customer)) if c.owner_id in team and _in(c.created_at, period)]
    assert report.current.new_customers == len(new)
    orders = [o for o in session.scalars(select(Order))
              if o.submitter_id in team and o.status == "approved" and _in(o.decided_at, period)]
    assert report.current.orders_count == len(orders)
    assert report.current.orders_amount == sum((o.total for o in orders), Decimal(0))

    text = reports.report_text(report, TZ)
    assert f"拜访：{len(visits)}次" in text
    assert "华东一组" in text and "11月1日至11月30日" in text


def test_rep_sees_only_own_figures(demo_session: Session) -> None:
    session = demo_session
    rep = _actor(session, "张伟")
    report = reports.sales_report(session, rep, reports.month_of(date(2026, 11, 27), TZ))
    assert report.people == [(rep.staff_id, "张伟")]
    assert set(report.current.visits) <= {rep.staff_id}
    own_open = [o for o in session.scalars(select(Opportunity))
                if o.owner_id == rep.staff_id and o.stage not in ("won", "lost")]
    assert report.pipeline_count == len(own_open)
    assert "我的" in reports.report_text(report, TZ)


def test_a_manager_asks_about_one_person_of_the_team(demo_session: Session) -> None:
    session = demo_session
    manager, li_na = _actor(session, "陈静"), find_staff(session, "李娜")
    period = reports.month_of(date(2026, 11, 27), TZ)
    report = reports.sales_report(session, manager, period, person=li_na.id)
    assert report.people == [(li_na.id, "李娜")] and report.scope == "李娜"
    visits = [v for v in session.scalars(select(Visit)) if v.staff_id == li_na.id and _in(v.visited_at, period)]
    assert report.current.visits_total == len(visits) > 0
    open_ones = [o for o in session.scalars(select(Opportunity)) if o.owner_id == li_na.id and o.stage not in ("won", "lost")]
    assert report.pipeline_count == len(open_ones)
    with pytest.raises(PermissionDenied):  # the clerk is nobody's team member under 陈静
        reports.sales_report(session, manager, period, person=find_staff(session, "周芳").id)
    with pytest.raises(PermissionDenied):  # a rep names another rep: refused, not their figures
        reports.sales_report(session, _actor(session, "张伟"), period, person=li_na.id)


def test_clerk_and_member_get_no_report(demo_session: Session) -> None:
    clerk = _actor(demo_session, "周芳")
    with pytest.raises(PermissionDenied):
        reports.sales_report(demo_session, clerk, reports.week_of(date(2026, 11, 27), TZ))


def test_small_dataset_exact_text(session: Session, org: Org) -> None:
    """A hand-made week: 3 visits this week by 张三, 1 last week, 1 by the other team (not counted)."""
    customer = add_customer(session, "测试客户", org.rep_a)
    other = add_customer(session, "别组客户", org.rep_c)
    monday = datetime(2026, 11, 23, 9, tzinfo=TZ)
    for days in (0, 1, 4):
        session.add(Visit(customer_id=customer.id, staff_id=org.rep_a.staff_id, visited_at=monday + timedelta(days=days),
                          summary="拜访"))
    session.add(Visit(customer_id=customer.id, staff_id=org.rep_a.staff_id, visited_at=monday - timedelta(days=2),
                      summary="上周"))
    session.add(Visit(customer_id=other.id, staff_id=org.rep_c.staff_id, visited_at=monday, summary="别组"))
    session.add(Opportunity(customer_id=customer.id, title="门禁", amount=Decimal("120000"), stage="proposal",
                            probability=50, owner_id=org.rep_a.staff_id))
    session.add(Opportunity(customer_id=customer.id, title="服务器", amount=Decimal("50000"), stage="won",
                            probability=100, owner_id=org.rep_a.staff_id,
                            closed_at=(monday + timedelta(days=2)).astimezone(UTC)))
    session.flush()
    report = reports.sales_report(session, org.manager, reports.week_of(date(2026, 11, 27), TZ))
    text = reports.report_text(report, TZ)
    assert "拜访：3次（上期1次，+2）" in text
    assert "· 张三：3次（上期1）" in text and "· 李四：0次（上期0）" in text
    assert "王五" not in text
    assert "赢单：1个，5万元" in text
    assert "进行中的商机：1个，12万元（加权6万元）" in text
    assert "· 方案/报价：1个，12万元" in text
    assert "新增客户：1个" in text  # 测试客户 was created at NOW, inside the week
    # Asked on Friday 10:00: compared with last week up to Friday 10:00, so Saturday's visit is not counted.
    so_far = reports.sales_report(session, org.manager, reports.week_of(date(2026, 11, 27), TZ), now=NOW)
    assert so_far.previous.period == reports.Period(datetime(2026, 11, 16, tzinfo=TZ), datetime(2026, 11, 20, 10, tzinfo=TZ))
    assert "拜访：3次（上期同期0次，+3）" in reports.report_text(so_far, TZ)


def test_weighted_pipeline_uses_each_opportunitys_probability(session: Session, org: Org) -> None:
    """A rep who says 赢单概率90% on a proposal-stage deal: the weighted pipeline counts 90%, not the stage's 50%."""
    customer = add_customer(session, "概率客户", org.rep_a)
    for title, amount, stage, probability in (
        ("门禁", "100000", "proposal", 90), ("服务器", "200000", "proposal", 50), ("显示器", "40000", "initial", 25),
    ):
        session.add(Opportunity(customer_id=customer.id, title=title, amount=Decimal(amount), stage=stage,
                                probability=probability, owner_id=org.rep_a.staff_id))
    session.flush()
    report = reports.sales_report(session, org.manager, reports.week_of(date(2026, 11, 27), TZ))
    assert report.pipeline_weighted == Decimal("200000.00")  # 9万 + 10万 + 1万 (stage constants would give 16.4万)
    proposal = next(s for s in report.pipeline if s.stage == "proposal")
    assert (proposal.count, proposal.amount, proposal.weighted) == (2, Decimal("300000"), Decimal("190000"))
    assert "进行中的商机：3个，34万元（加权20万元）" in reports.report_text(report, TZ)


def test_periods() -> None:
    month = reports.month_of(date(2026, 1, 15), TZ)
    assert month.previous() == reports.Period(datetime(2025, 12, 1, tzinfo=TZ), datetime(2026, 1, 1, tzinfo=TZ))
    week = reports.week_of(date(2026, 11, 27), TZ)
    assert week.start == datetime(2026, 11, 23, tzinfo=TZ) and week.previous().start == datetime(2026, 11, 16, tzinfo=TZ)
    span = reports.period_from_span(datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 11, 30, 23, 59, 59, tzinfo=TZ), TZ)
    assert span == month_of_nov()


def month_of_nov() -> reports.Period:
    return reports.Period(datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ))


def test_chart_is_a_png_with_chinese_text(demo_session: Session, tmp_path: Path) -> None:
    name, font_file = charts.cjk_font()
    assert "CJK" in name or "Hei" in name or "Han" in name
    assert Path(font_file).exists()
    assert charts.missing_glyphs("销售周报拜访次数商机漏斗初步接触需求确认方案报价商务谈判张伟李娜王强华东一组") == set()
    report = reports.sales_report(demo_session, _actor(demo_session, "陈静"), reports.week_of(date(2026, 11, 27), TZ),
                                  title="销售周报")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = reports.report_chart(report, tmp_path / "charts" / "r.png", TZ)
        funnel = reports.funnel_chart(report, tmp_path / "f.png")
    assert not [w for w in caught if issubclass(w.category, charts.GlyphMissing) or "missing from font" in str(w.message)]
    for file in (path, funnel):
        assert file.stat().st_size > 5000
        with Image.open(file) as image:
            assert image.format == "PNG" and image.size[0] > 500


def test_weekly_report_for_manager(demo_session: Session, tmp_path: Path) -> None:
    manager = find_staff(demo_session, "陈静")
    text, image = reports.weekly_report_for_manager(demo_session, manager.id, date(2026, 11, 16), TZ, tmp_path)
    assert text.startswith("销售周报｜华东一组｜11月16日至11月22日")
    assert image is not None and Path(image).exists()
    # The scheduler's contract: last week's report for the Monday push.
    charts_dir = tmp_path / "var" / "charts"
    monday = datetime(2026, 11, 23, 8, 30, tzinfo=TZ)
    pushed = reports.weekly_for_manager(demo_session, manager.id, now=monday, tz=TZ, charts_dir=charts_dir)
    assert pushed is not None and pushed.text == text and Path(pushed.image_path).parent == charts_dir
    assert reports.weekly_for_manager(demo_session, find_staff(demo_session, "张伟").id, now=monday,
                                      tz=TZ, charts_dir=charts_dir) is None


def test_naive_period_refused(session: Session, org: Org) -> None:
    from crm_store.errors import InvalidInput

    with pytest.raises(InvalidInput):
        reports.sales_report(session, org.manager, reports.Period(datetime(2026, 11, 1), datetime(2026, 11, 2)))
    with pytest.raises(InvalidInput):
        reports.sales_report(session, org.manager, reports.Period(NOW, NOW))


def test_old_charts_are_pruned(tmp_path: Path) -> None:
    import os
    import time

    old, new = tmp_path / "old.png", tmp_path / "new.png"
    for file in (old, new):
        file.write_bytes(b"png")
    week_ago = time.time() - 8 * 86400
    os.utime(old, (week_ago, week_ago))
    assert charts.prune(tmp_path, keep_days=7) == 1
    assert not old.exists() and new.exists()
    assert charts.prune(tmp_path / "missing") == 0
