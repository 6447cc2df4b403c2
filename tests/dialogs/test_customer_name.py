import pytest

from dialogs.customer import new_customer_name


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
