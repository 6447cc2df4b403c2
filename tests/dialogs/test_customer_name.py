import pytest

from dialogs.customer import new_customer_name
from dialogs.resolve import contact_parts, contact_written


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("新建客户 并发测试公司", "并发测试公司"),
        ("新建客户安信会计师事务所 联系人高经理 13600001111", "安信会计师事务所"),
        ("帮我建个客户档案 安信会计师事务所", "安信会计师事务所"),
        ("新增客户：城西五金，电话13800138000", "城西五金"),
        ("添加一个新客户叫蓝天幼儿园", "蓝天幼儿园"),
        ("新建客户", None),
        ("华为的电话是多少", None),
    ],
)
def test_a_new_name_the_tagger_missed_is_still_found(text: str, name: str | None) -> None:
    assert new_customer_name(text) == name


@pytest.mark.parametrize(
    ("written", "parts"),
    [("财务部王经理", ("王经理", "财务部")), ("销售总监刘总", ("刘总", "销售总监")), ("研发部赵工", ("赵工", "研发部")),
     ("李红主任", ("李红", "主任")), ("设备科袁工", ("袁工", "设备科")), ("行政部李红主任", ("李红", "行政部主任")), ("采购刘经理", ("刘经理", "采购")),
     ("总经理张伟", ("张伟", "总经理")), ("王经理", ("王经理", None)), ("欧阳经理", ("欧阳经理", None)),
     ("王总经理", ("王总经理", None)), ("林总", ("林总", None)), ("夏鹏", ("夏鹏", None)),
     ("采购部的李经理", ("李经理", "采购部")), ("信息中心的周工", ("周工", "信息中心"))],
)
def test_contact_name_and_title_apart(written: str, parts: tuple[str, str | None]) -> None:
    assert contact_parts(written) == parts


@pytest.mark.parametrize(
    ("tagged", "written"),
    [(["信息部", "孙总"], "信息部孙总"), (["他们信息部的", "孙总"], "信息部孙总"), (["王总", "李工"], "王总"),
     (["信息部"], "信息部"), ([], None)],
)
def test_a_department_tagged_apart_is_the_next_contacts_title(tagged: list[str], written: str | None) -> None:
    """见了他们信息部的孙总: the tagger may give 信息部 and 孙总 as two contacts; 信息部 is 孙总's department."""
    assert contact_written([{"text": t} for t in tagged]) == written
