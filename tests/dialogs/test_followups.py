"""The follow-up loop's wording rules (issue 15): which messages close reminders, and which day a plan gets."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from dialogs.reminder import reminder_command
from dialogs.timing import plan_moment

TZ = ZoneInfo("Asia/Shanghai")
FRIDAY = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("完成 2", {"status": "done", "numbers": [2]}),
        ("完成第二条", {"status": "done", "numbers": [2]}),
        ("第2条已经办完了", {"status": "done", "numbers": [2]}),
        ("1、3都完成了", {"status": "done", "numbers": [1, 3]}),
        ("2 不用了", {"status": "cancelled", "numbers": [2]}),
        ("删除提醒3", {"status": "cancelled", "numbers": [3]}),
        ("华为那个已经办完了", {"status": "done", "ref": "华为"}),
        ("给林总发合同那个办好了", {"status": "done", "ref": "给林总发合同"}),
        ("林总的合同那个已经发过了", {"status": "done", "ref": "林总的合同"}),
        ("华为那个提醒不用了", {"status": "cancelled", "ref": "华为"}),
        ("把华为的提醒删了", {"status": "cancelled", "ref": "华为"}),
        ("取消华润置地的提醒", {"status": "cancelled", "ref": "华润置地"}),
        ("那个提醒不用了", {"status": "cancelled", "ref": ""}),
        ("办完了", {"status": "done", "ref": "", "all": False}),
        ("好的，都办完了", {"status": "done", "ref": "", "all": True}),
    ],
)
def test_messages_that_close_reminders(text: str, command: dict) -> None:
    assert reminder_command(text) == command


@pytest.mark.parametrize(
    "text",
    [
        "华为那单搞定了",  # a won deal
        "华为那个单子不要了",  # an order, not a reminder
        "华为的方案已经完成了",  # news about the customer, nothing to close
        "明天提醒我把合同办完",  # sets a reminder
        "不用了",  # cancels whatever was asked
        "取消",
        "搞定了",
        "今天拜访了华为张总，聊了新项目，预计下周三报价，之前约的那个见面已经办完了",  # too long: a visit note
    ],
)
def test_messages_that_do_not(text: str) -> None:
    assert reminder_command(text) is None


def _span(first: str, last: str) -> dict:
    return {"value": {"from": f"{first}T00:00:00+08:00", "to": f"{last}T23:59:59+08:00"}}


@pytest.mark.parametrize(
    ("entity", "day"),
    [
        (_span("2027-01-11", "2027-01-20"), "2027-01-15"),  # 1月中旬: the 15th
        (_span("2026-12-21", "2026-12-31"), "2026-12-25"),  # 下旬: the 25th
        (_span("2027-05-11", "2027-05-20"), "2027-05-17"),  # 中旬 whose 15th is a Saturday: the Monday
        (_span("2026-11-27", "2026-11-30"), "2026-11-30"),  # 月底前: the deadline, a Monday
        (_span("2026-11-27", "2026-12-05"), "2026-12-04"),  # a deadline on a Saturday: the Friday before
        (_span("2026-11-30", "2026-12-06"), "2026-11-30"),  # 下周: its Monday
        (_span("2027-05-01", "2027-05-31"), "2027-05-03"),  # 下个月 starting on a Saturday: its first Monday
        ({"value": "2026-12-11T00:00:00+08:00", "additional_info": {"grain": "day"}}, "2026-12-11"),  # 过两周
    ],
)
def test_the_day_a_plan_gets(entity: dict, day: str) -> None:
    turn = SimpleNamespace(now=FRIDAY, tz=TZ)
    moment = plan_moment(turn, entity, 9)  # type: ignore[arg-type]
    assert moment == datetime.fromisoformat(f"{day}T09:00:00+08:00")
