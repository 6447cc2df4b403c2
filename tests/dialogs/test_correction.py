"""How a message at the preview reads as a correction (issue 15): which field, which new value."""

from __future__ import annotations

import pytest

from dialogs.correction import read
from dialogs.edit import read_request
from dialogs.meaning import is_preview_yes, is_saved_mistake, is_something_wrong, is_thanks


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("不对，是前天", None, "前天"),
        ("错了 应该是昨天下午3点", None, "昨天下午3点"),
        ("不对，是85折", None, "85折"),
        ("联系人是李红主任", "contact", "李红主任"),
        ("联系人改成李红", "contact", "李红"),
        ("联系人李红", "contact", "李红"),
        ("联系人不是张总，是李总", "contact", "李总"),
        ("不是明天 是后天", None, "后天"),
        ("跟进改到周五下午", "followup", "周五下午"),
        ("把提醒时间推到下周一", "followup", "下周一"),
        ("签约时间改成2027年3月31日", "close", "2027年3月31日"),
        ("时间错了 是昨天", "time", "昨天"),
        ("搞错了 金额是80万", "amount", "80万"),
        ("下一步：下周二出方案", "next_step", "下周二出方案"),
        ("内容改成聊得不错了", "content", "聊得不错了"),
        ("好的，不过数量改成8台", "quantity", "8台"),
        ("对，是前天", None, "前天"),
        ("改成下周一", None, "下周一"),
        ("行业是金融", "industry", "金融"),
        ("地区改成上海吧", "region", "上海"),
        ("联系人不对", "contact", ""),
        ("改一下时间", "time", ""),
    ],
)
def test_a_correction_names_its_field_and_value(text: str, field: str | None, value: str) -> None:
    fix = read(text)
    assert fix is not None and (fix.field, fix.value) == (field, value)


@pytest.mark.parametrize(
    "text",
    ["确认", "是的", "是这样", "对，就这样", "提醒我明天开会", "时间不早了", "不对 不要了", "今天下午拜访了华为张总",
     "改一下刚才华为那条拜访的时间", "华为的电话是多少"],
)
def test_other_messages_are_no_correction(text: str) -> None:
    assert read(text) is None


def test_short_answers_at_a_preview() -> None:
    assert all(is_preview_yes(t) for t in ["👍", "👍🏻", "[强]", "1", "好滴", "ok", "嗯嗯", "就这样"])
    assert not any(is_preview_yes(t) for t in ["2", "不对", "谢谢", "好的，数量改成8台"])
    assert all(is_something_wrong(t) for t in ["不对", "不是", "错了！", "不对吧"])
    assert all(is_thanks(t) for t in ["谢谢", "谢谢啦~", "多谢", "辛苦了", "[抱拳]"])
    assert is_saved_mistake("刚才那条记错了") and is_saved_mistake("刚刚那条拜访写错了")
    assert not is_saved_mistake("刚才拜访了华为")


@pytest.mark.parametrize(
    ("text", "kind", "action"),
    [
        ("改一下刚才华为那条拜访的时间", "visit", "edit"),
        ("把刚才那条提醒删了", "reminder", "delete"),
        ("刚才那条提醒改到明天下午3点", "reminder", "edit"),
        ("昨天那条拜访删了", "visit", "delete"),
        ("刚才那条拜访记错了", "visit", "edit"),
        ("把华为那个商机删了", "opportunity", "delete"),
    ],
)
def test_requests_about_saved_records(text: str, kind: str, action: str) -> None:
    request = read_request(text)
    assert request is not None and (request["kind"], request["action"]) == (kind, action)


@pytest.mark.parametrize(
    "text",
    ["华为那个商机金额改成150万", "今天拜访了华为，那个项目报价要改", "提醒我明天把那个方案改一下", "刚才那条记错了"],
)
def test_new_requests_are_no_edit_of_a_saved_record(text: str) -> None:
    assert read_request(text) is None
