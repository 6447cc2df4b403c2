"""nlu.multi: clauses, which clause says which job, and when a combined label is not trusted."""

from __future__ import annotations

from nlu.multi import clauses, cue_components, join_label, refine_entities, segment, split_label

from .conftest import NOW, TZ


def _ent(text: str, piece: str, entity: str) -> dict:
    start = text.index(piece)
    return {"entity": entity, "start": start, "end": start + len(piece), "text": piece, "value": piece}


def _pieces(text: str, entities: list[dict] | None = None) -> list[str]:
    return [text[s:e] for s, e in clauses(text, entities or [])]


def test_labels_are_canonical_and_keep_repeats() -> None:
    assert join_label(["set_reminder", "log_visit", "update_opportunity"]) == "log_visit+update_opportunity+set_reminder"
    assert join_label(["log_visit", "log_visit"]) == "log_visit+log_visit"
    assert split_label("log_visit+set_reminder") == ["log_visit", "set_reminder"]


def test_clauses_split_at_punctuation_spaces_and_connectives_never_inside_an_entity() -> None:
    text = "见完娃哈哈甘总了 然后提醒我周四把样品寄过去，另外预计80万"
    assert _pieces(text) == ["见完娃哈哈甘总了", "提醒我周四把样品寄过去", "预计80万"]
    spaced = "下周三 下午3点提醒我报价"
    assert _pieces(spaced, [_ent(spaced, "下周三 下午3点", "time")]) == ["下周三 下午3点提醒我报价"]
    assert _pieces("他们还有预算") == ["他们还有预算"]  # 还有 inside a clause is no boundary


def test_each_entity_goes_to_the_job_whose_clause_holds_it() -> None:
    text = "上午见了华润医药刘总，方案他们认可了，进入商务谈判，预计80万，提醒我周二下午准备合同"
    ents = [_ent(text, "华润医药", "customer"), _ent(text, "80万", "amount"), _ent(text, "周二下午", "time")]
    parts = segment(text, ents, ["log_visit", "update_opportunity", "set_reminder"])
    assert parts is not None
    by_job = {p.intent: [e["text"] for e in ents if p.holds(e)] for p in parts}
    assert by_job == {"log_visit": ["华润医药"], "update_opportunity": ["80万"], "set_reminder": ["周二下午"]}
    visit = next(p for p in parts if p.intent == "log_visit")
    assert [text[s:e] for s, e in visit.spans] == ["上午见了华润医药刘总", "方案他们认可了"]  # a cue-less clause continues


def test_a_label_whose_jobs_are_not_all_said_is_not_trusted() -> None:
    text = "今天下午拜访了华为张总，聊了新项目，预计下周三报价"
    ents = [_ent(text, "华为", "customer"), _ent(text, "下周三", "time")]
    assert segment(text, ents, ["log_visit", "update_opportunity"]) is None  # 预计…报价 changes no opportunity
    assert segment(text, ents, ["log_visit", "set_reminder"]) is None
    order = "上午见了华为张总，进入商务谈判，顺便下单服务器10台"
    order_ents = [_ent(order, "华为", "customer"), _ent(order, "服务器", "product"), _ent(order, "10台", "quantity")]
    assert segment(order, order_ents, ["log_visit", "update_opportunity"]) is None  # the order is not dropped
    assert cue_components(order, order_ents) == ["log_visit", "update_opportunity", "submit_order"]


def test_two_customers_in_their_own_clauses_are_two_visits() -> None:
    text = "昨天上午去了华为，下午去了蔚来汽车见了李总"
    ents = [_ent(text, "华为", "customer"), _ent(text, "蔚来汽车", "customer")]
    parts = segment(text, ents, ["log_visit", "log_visit"])
    assert parts is not None and [p.intent for p in parts] == ["log_visit", "log_visit"]
    assert [[e["text"] for e in ents if p.holds(e)] for p in parts] == [["华为"], ["蔚来汽车"]]
    assert segment("今天见了华为和蔚来汽车的人", [_ent("今天见了华为和蔚来汽车的人", "华为", "customer")],
                   ["log_visit", "log_visit"]) is None


def test_report_entities_bare_parts_of_the_day_and_names_run_together() -> None:
    text = "昨天上午去万达广场，下午在雷士照明柴工那边"
    ents = [_ent(text, "昨天上午", "time"), _ent(text, "雷士照明柴工", "customer")]
    refined = {(e["entity"], e["text"]): e["value"] for e in refine_entities(text, ents, NOW, TZ)}
    assert refined[("time", "下午")] == "2026-11-26T14:00:00+08:00"  # the day said before it
    assert refined[("customer", "雷士照明")] == "雷士照明" and refined[("contact", "柴工")] == "柴工"
    dept = "拜访时见了采购部刘工"
    assert [e["text"] for e in refine_entities(dept, [_ent(dept, "采购部刘工", "contact")], NOW, TZ)] == ["采购部刘工"]
