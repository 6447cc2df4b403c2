"""sales_report and transfer_customers through the engine: the chart file, the export file, the notice."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from crm_store.models import Customer, OutboxMessage, Staff
from crm_store.services import transfer_io
from crmbot.wiring import bind_console
from dialogs import DialogEngine
from dialogs.report import report_kind

NOW = datetime.fromisoformat("2026-11-27T10:00:00+08:00")


@pytest.fixture
def demo(demo_runtime_for, nlu_parser, tmp_path: Path):  # type: ignore[no-untyped-def]
    runtime = demo_runtime_for("sqlite")
    runtime.config = runtime.config.model_copy(update={"data_dir": str(tmp_path / "var")})
    for name in ("陈静", "张伟"):
        bind_console(runtime, name, NOW)
    return runtime, DialogEngine(runtime.factory, nlu_parser, runtime.config, clock=lambda: NOW)


@pytest.mark.parametrize("text", ["本周销售周报", "这个月业绩怎么样", "销售漏斗", "上周各个销售的拜访次数",
                                  "各门店这个月的会员消费排行"])
def test_report_comes_with_a_png_chart(demo, text: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _runtime, engine = demo
    replies = engine.handle("console", "陈静", text)
    assert len(replies) == 1
    image = replies[0].image_path
    assert image is not None and Path(image).is_relative_to(tmp_path / "var" / "charts")
    with Image.open(image) as png:
        assert png.format == "PNG"


def test_export_by_message_writes_the_managers_file(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _runtime, engine = demo
    reply = engine.handle("console", "陈静", "导出本月拜访记录")[0]
    assert reply.file_path is not None
    path = Path(reply.file_path)
    assert path.is_relative_to(tmp_path / "var" / "exports") and path.suffix == ".xlsx"
    assert path.name in reply.text
    header, rows = transfer_io.read_table(path)
    assert header == transfer_io.HEADERS["visits"]
    assert f"已导出{len(rows)}条拜访记录" in reply.text and rows
    assert reply.image_path is None


def test_hand_over_notice_goes_through_the_outbox(demo) -> None:  # type: ignore[no-untyped-def]
    runtime, engine = demo
    engine.handle("console", "陈静", "把王强的客户都转给李娜", message_id="m1")
    replies = engine.handle("console", "陈静", "确认", message_id="m2")
    with runtime.factory() as session:
        li = session.scalar(select(Staff.id).where(Staff.name == "李娜"))
        wang = session.scalar(select(Staff.id).where(Staff.name == "王强"))
        assert session.scalar(select(func.count()).where(Customer.owner_id == wang)) == 0
        notice = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == "notice:console:m2:0"))
    assert notice is not None and notice.recipient_staff_id == li
    assert [r.to_staff_id for r in replies] == [None, li]
    assert notice.text == replies[1].text and "原负责人：王强" in notice.text


@pytest.mark.parametrize("text", ["把'; DROP TABLE staff; --的客户都转给李娜", "把张伟的客户都转给😀😀"])
def test_hostile_hand_over_writes_nothing(demo, text: str) -> None:  # type: ignore[no-untyped-def]
    runtime, engine = demo
    replies = engine.handle("console", "陈静", text)
    assert "出了点问题" not in replies[0].text
    engine.handle("console", "陈静", "确认")
    with runtime.factory() as session:
        zhang = session.scalar(select(Staff.id).where(Staff.name == "张伟"))
        assert session.scalar(select(func.count()).where(Customer.owner_id == zhang)) == 19


def test_report_kind_words() -> None:
    assert report_kind("导出本月拜访记录") == "export"
    assert report_kind("销售漏斗") == "funnel"
    assert report_kind("各门店这个月的会员消费排行") == "stores"
    assert report_kind("上周各个销售的拜访次数") == "visits"
    assert report_kind("本周销售周报") == "summary"
