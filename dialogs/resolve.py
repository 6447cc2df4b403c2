"""Turning names people type into records, asking them to pick when several match."""

from __future__ import annotations

import re
from typing import Any

from crm_store import services
from crm_store.services import similar
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import Slots, Turn

PICK = "_pick"
_CHINESE_ORDINALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_PICK_PATTERN = re.compile(r"^\s*(?:第)?\s*(\d{1,2}|[一二两三四五六七八九十])\s*(?:个|号|项|条|家)?\s*[。.!！]?\s*$")


_DEPARTMENT_WORD = r"[\u4e00-\u9fa5]{1,6}?(?:部|科|处|办公室|室|中心|办|组)"
# 财务部王经理 / 采购部的李经理: a department, then the person (的 between them or not)
_DEPARTMENT = re.compile(rf"^({_DEPARTMENT_WORD})的?([\u4e00-\u9fa5]{{2,4}})$")
_DEPARTMENT_ONLY = re.compile(rf"^(?:他们|她们|对方)?的?({_DEPARTMENT_WORD})的?$")
_TITLE_FIRST = re.compile(
    r"^(销售总监|技术总监|财务总监|采购总监|市场总监|副总经理|总经理|董事长|副总|总监|采购经理|销售经理|项目经理|"
    r"部门经理|经理|主任|主管|厂长|总工|采购|财务|技术|行政|人事|研发|销售|市场|法务|后勤)([\u4e00-\u9fa5]{2,4})$"
)
_TITLE_LAST = re.compile(
    r"^([\u4e00-\u9fa5]{2,3})(总经理|董事长|工程师|主任|经理|总监|主管|院长|校长|老师|医生|律师|会计|处长|科长|部长)$"
)
_UNIT_WORDS = {"采购", "财务", "技术", "行政", "人事", "研发", "销售", "市场", "法务", "后勤"}
_COMPOUND_SURNAMES = {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "令狐",
                      "夏侯", "端木", "独孤", "南宫", "西门", "百里", "呼延"}
_ADDRESS_WORDS = ("总经理", "总监", "经理", "主任", "主管", "处长", "科长", "部长", "院长", "校长", "老师", "医生", "老板",
                  "总", "工", "姐", "哥")


def _is_address(name: str) -> bool:
    """王经理 / 刘总 / 赵工: a surname and a word people call someone by."""
    return any(name.endswith(w) and len(name) - len(w) in (1, 2) for w in _ADDRESS_WORDS)


def contact_parts(written: str) -> tuple[str, str | None]:
    """财务部王经理 -> ('王经理', '财务部'); 销售总监刘总 -> ('刘总', '销售总监'); 李红主任 -> ('李红', '主任');
    王经理 -> ('王经理', None). The title is kept apart so the name matches the contact next time."""
    name = written.strip()
    m = _DEPARTMENT.match(name)
    if m:  # 行政部李红主任 -> 李红, 行政部主任
        rest, title = contact_parts(m[2])
        return rest, m[1] + (title or "")
    m = _TITLE_FIRST.match(name)
    if m and (_is_address(m[2]) or m[1] not in _UNIT_WORDS and len(m[2]) <= 3):
        return m[2], m[1]
    m = _TITLE_LAST.match(name)
    if m and m[1] not in _COMPOUND_SURNAMES and not _is_address(m[1]):  # 欧阳经理 is a surname and a title, not a full name
        return m[1], m[2]
    return name, None


def contact_written(contacts: list[dict[str, Any]]) -> str | None:
    """The first contact as written. 信息部 tagged apart from 孙总 right after it (见了他们信息部的孙总) is that
    person's department, not a contact of its own: the two are read together."""
    if not contacts:
        return None
    first = contacts[0]["text"]
    department = _DEPARTMENT_ONLY.match(first.strip())
    if department and len(contacts) > 1:
        return department[1] + contacts[1]["text"]
    return first


def contact_from_message(turn: Turn, slots: Slots) -> None:
    """The contact (name and title apart) and a phone number written in the same message."""
    written = contact_written(ent.entities(turn.parse, "contact"))
    if written:
        slots["contact"], slots["contact_title"] = contact_parts(written)
    phone = ent.text_of(turn.parse, "phone")
    if phone:
        slots["phone"] = phone


def contact_label(slots: Slots) -> str:
    """王经理（财务部）."""
    title = slots.get("contact_title")
    return DM.CONTACT_WITH_TITLE.format(name=slots["contact"], title=title) if title else slots["contact"]


def customer_option(customer: Any) -> dict[str, Any]:
    owner = customer.owner.name if customer.owner else ""
    return {"id": customer.id, "name": customer.name, "detail": f"负责人{owner}" if owner else ""}


def resolve_customer(turn: Turn, slots: Slots, name: str) -> None:
    """Fill slots['customer'] from a typed name: the name or an alias is taken; a partial match (苏宁 for
    苏宁易购) or a similar name (海康微视) is asked about ("您是说 … 吗？"); else 'unknown'."""
    name = name.strip()
    found = services.find_customers(turn.session, turn.actor, name)
    current = slots.get("customer")
    if current and any(c.id == current["id"] for c in found):  # 苏宁 again after 苏宁易购 was settled: no new question
        return
    slots.pop("customer_unknown", None)
    if slots.get(PICK, {}).get("slot") == "customer":
        slots.pop(PICK)
    slots["customer"] = None
    if len(found) == 1 and similar.is_exact(found[0], name):
        slots["customer"] = customer_option(found[0])
        return
    if not found:
        found = [s.customer for s in similar.similar_customers(turn.session, turn.actor, name)]
    if found:
        _suggest(slots, name, found, exact=False)
    else:
        slots["customer_unknown"] = name


def _suggest(slots: Slots, query: str, found: list[Any], exact: bool) -> None:
    slots[PICK] = {"slot": "customer", "query": query, "options": [customer_option(c) for c in found],
                   "confirm": len(found) == 1 and not exact}


def customer_from_message(turn: Turn, slots: Slots, awaiting: str | None) -> None:
    """Take the customer entity, or, when we asked for the customer, the whole answer as the name."""
    name = ent.text_of(turn.parse, "customer")
    if name is None and awaiting == "customer" and ent.plain_answer(turn.text) not in ent.YES_WORDS | ent.NO_WORDS:
        name = turn.text.strip()
    if name:
        resolve_customer(turn, slots, name)
    elif awaiting is None and not slots.get("customer") and PICK not in slots:
        # No name tagged: a customer's short form written in the sentence (去苏宁聊了聊) is suggested.
        mentioned = similar.customers_mentioned(turn.session, turn.actor, turn.text)
        if mentioned:
            _suggest(slots, "", mentioned, exact=False)


def customer_question(slots: Slots, ask: str = DM.ASK_CUSTOMER) -> str:
    """Ask for the customer again, saying so when the name given last matched nothing."""
    unknown = slots.get("customer_unknown")
    return DM.CUSTOMER_NOT_FOUND.format(name=unknown) if unknown else ask


def pick_prompt(slots: Slots) -> str:
    pick = slots[PICK]
    if pick.get("confirm"):
        return DM.CUSTOMER_DID_YOU_MEAN.format(name=pick["options"][0]["name"])
    lines = [
        f"{i}. {option['name']}" + (f"（{option['detail']}）" if option.get("detail") else "")
        for i, option in enumerate(pick["options"], start=1)
    ]
    head = pick.get("prompt") or DM.PICK_PROMPT  # a pick may say why it asks (two customers in one visit)
    return head.format(count=len(lines), query=pick["query"], options="\n".join(lines))


def apply_pick(text: str, slots: Slots) -> bool:
    """Read a list choice (2, 第二个, or an option's exact name), or 是 / 不是 to a "您是说 … 吗？";
    True when the question is settled."""
    pick = slots[PICK]
    options = pick["options"]
    answer = ent.plain_answer(text)
    if pick.get("confirm") and answer in ent.NO_WORDS:
        slots.pop(PICK)
        slots[pick["slot"]] = None
        if pick["slot"] == "customer" and pick["query"]:
            slots["customer_unknown"] = pick["query"]
        return True
    choice: int | None = 1 if pick.get("confirm") and answer in ent.YES_WORDS else None
    match = _PICK_PATTERN.match(text)
    if choice is None and match:
        token = match.group(1)
        choice = int(token) if token.isdigit() else _CHINESE_ORDINALS[token]
    elif choice is None:
        named = [i for i, option in enumerate(options, start=1) if option["name"] == text.strip()]
        choice = named[0] if named else None
    if choice is None or not 1 <= choice <= len(options):
        return False
    slots[pick["slot"]] = options[choice - 1]
    slots.pop(PICK)
    if pick["slot"] == "customer":
        slots.pop("customer_unknown", None)
    return True
