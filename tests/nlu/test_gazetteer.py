"""CRM names: applied as differences, so feeding a large, mostly unchanged list costs only what changed."""

from __future__ import annotations

from nlu.gazetteer import GazetteerEntityExtractor
from nlu.tokenizer import JiebaTokenizer, jieba_from


def _spans(gaz: GazetteerEntityExtractor, text: str) -> list[tuple[str, str]]:
    return [(e["entity"], e["text"]) for e in gaz.find(text)]


def test_refeeding_a_list_passes_on_only_the_changes() -> None:
    changes: list[tuple[set[str], set[str]]] = []
    gaz = GazetteerEntityExtractor(lambda known, forgotten: changes.append((known, forgotten)))
    names = [f"客户{i:05d}" for i in range(5000)]
    gaz.set_lookup("customer", names, source="db")
    assert changes == [(set(names), set())]
    gaz.set_lookup("customer", list(reversed(names)), source="db")  # same names: nothing to do
    assert len(changes) == 1
    gaz.set_lookup("customer", [*names[1:], " 新客户甲 ", ""], source="db")
    assert changes[1] == ({"新客户甲"}, {"客户00000"})
    assert _spans(gaz, "客户00000和新客户甲") == [("customer", "新客户甲")]


def test_a_name_in_two_groups_stays_until_both_drop_it() -> None:
    changes: list[tuple[set[str], set[str]]] = []
    gaz = GazetteerEntityExtractor(lambda known, forgotten: changes.append((known, forgotten)))
    gaz.set_lookup("customer", ["华为", "比亚迪"], source="db")
    gaz.set_lookup("customer", ["华为"], source="cli")
    gaz.set_lookup("product", ["华为"], source="db")  # ("product", "db") sorts last: it names the entity
    assert _spans(gaz, "华为") == [("product", "华为")]
    gaz.set_lookup("product", [], source="db")
    assert _spans(gaz, "华为") == [("customer", "华为")]
    gaz.set_lookup("customer", [], source="db")
    assert _spans(gaz, "华为和比亚迪") == [("customer", "华为")]
    assert changes[-1] == (set(), {"比亚迪"})  # 华为 is still listed by the cli group
    gaz.set_lookup("customer", [], source="cli")
    assert gaz.find("华为和比亚迪") == [] and changes[-1] == (set(), {"华为"})


def test_longest_name_wins_and_update_lookup_adds_and_removes_single_names() -> None:
    gaz = GazetteerEntityExtractor()
    gaz.set_lookup("customer", ["华为", "华为技术有限公司", "万科"])
    assert _spans(gaz, "去华为技术有限公司和华为") == [("customer", "华为技术有限公司"), ("customer", "华为")]
    gaz.update_lookup("customer", add=["万科物业"], remove=["华为技术有限公司", "不存在"])
    assert _spans(gaz, "去华为技术有限公司和万科物业") == [("customer", "华为"), ("customer", "万科物业")]
    assert gaz.sources[("customer", "default")] == {"华为", "万科", "万科物业"}


def test_removed_names_give_jieba_back_its_own_frequencies() -> None:
    base = jieba_from({"华为": 100, "华": 50, "为": 40, "公司": 30, "公": 5, "司": 5}, 230)
    tok = JiebaTokenizer(base)
    gaz = GazetteerEntityExtractor(tok.update_words)
    gaz.set_lookup("customer", ["华为公司", "华为"])
    assert [t[0] for t in tok.tokens("华为公司")] == ["华为公司"]
    assert tok.jieba.FREQ["华为"] >= 100 and tok.jieba.total > 230
    gaz.set_lookup("customer", [])
    assert tok.jieba.FREQ["华为"] == 100 and tok.jieba.total == 230
    assert [t[0] for t in tok.tokens("华为公司")] == ["华为", "公司"]
    assert base.FREQ == {"华为": 100, "华": 50, "为": 40, "公司": 30, "公": 5, "司": 5}  # never touched


def test_parser_forgets_a_dropped_name(parser) -> None:  # type: ignore[no-untyped-def]
    def gazetteer_hits(text: str) -> list[str]:
        return [e["text"] for e in parser.parse(text)["entities"] if e.get("extractor") == "GazetteerEntityExtractor"]

    parser.set_lookup("customer", ["瑞丰达贸易", "金桥五金"], source="test-drop")
    assert gazetteer_hits("明天去瑞丰达贸易和金桥五金") == ["瑞丰达贸易", "金桥五金"]
    parser.set_lookup("customer", ["金桥五金"], source="test-drop")
    assert gazetteer_hits("明天去瑞丰达贸易和金桥五金") == ["金桥五金"]
    parser.set_lookup("customer", [], source="test-drop")
    assert gazetteer_hits("明天去瑞丰达贸易和金桥五金") == []


def test_a_known_name_holding_a_number_is_the_name(parser) -> None:  # type: ignore[no-untyped-def]
    """三只松鼠 is a customer, not 3 units of something; numbers outside the name are still read."""
    def found(text: str) -> list[tuple[str, object]]:
        return [(e["entity"], e["value"]) for e in parser.parse(text)["entities"]]

    parser.set_lookup("customer", ["三只松鼠", "七匹狼服饰"], source="test-numbers")
    try:
        assert found("给三只松鼠下单 服务器2台") == [("customer", "三只松鼠"), ("product", "服务器"), ("quantity", 2)]
        assert ("customer", "七匹狼服饰") in found("七匹狼服饰要五台显示器")
        assert ("quantity", 5) in found("七匹狼服饰要五台显示器")
    finally:
        parser.set_lookup("customer", [], source="test-numbers")
    assert ("customer", "三只松鼠") not in found("给三只松鼠下单 服务器2台")


def test_odd_entries_are_skipped_and_any_iterable_is_taken() -> None:
    gaz = GazetteerEntityExtractor()
    gaz.set_lookup("customer", [None, 3, " 华为 ", "", "  "])  # type: ignore[list-item]
    gaz.set_lookup("product", (name for name in ["门禁系统", "门禁系统 "]))
    assert gaz.sources == {("customer", "default"): {"华为"}, ("product", "default"): {"门禁系统"}}
    assert _spans(gaz, "华为要门禁系统") == [("customer", "华为"), ("product", "门禁系统")]
