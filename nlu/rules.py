"""Regex / rule entity extractors: time spans, amount, quantity, phone, ids, probability, points, stage."""

from __future__ import annotations

import re
from collections.abc import Iterable

from nlu.numbers import parse_amount, parse_discount, parse_int
from nlu.timewords import TIME_RE, simplified

# One number as people write money: digits, Chinese / financial / traditional numerals and units mixed
# (2万300, 1.5千万, 叁万伍仟, 兩萬, 廿五), with 几 / 多 / 余 for vague amounts (十几万, 500多万).
_D = "0-9零〇一二三四五六七八九两壹贰叁肆伍陆柒捌玖廿卅兩"
_U = "十百千万亿拾佰仟萬億"
# 1,288 / 12,000.50: digits grouped by thousands are one number (the first group was read as the amount).
_GROUPED = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?(?![0-9])"
_NUMTOK = rf"(?:{_GROUPED}|(?:[{_D}]|[十拾]|几(?=[{_U}]))(?:[{_D}{_U}几多余]|\.[0-9])*)"
_WHOLE = rf"(?![{_D}{_U}几多余.])"  # a number ends here: no backing off to 三 out of 三百个
_BIG = rf"(?:(?:[{_D}]|[十拾]|几(?=[{_U}]))[{_D}{_U}几多余.]*[万亿萬億千仟][{_D}{_U}多余]*|\d+(?:\.\d+)?(?:[wWkK](?:[0-9](?![0-9.]))?|千)(?![a-zA-Z]))"
_RANGE_SEP = r"\s*(?:到|至|-|~|－|～|—)\s*"
_YUAN = r"(?:块钱|块|元钱|元|圆|圓|塊)"
MEASURE = "台套个张盒件箱瓶支份部批吨只把条本袋包桶辆双组片卷罐斤副对顶间"
_JIAO = rf"(?:[{_D}][角毛](?:[{_D}]分?)?|零?[{_D}]分|[{_D}](?![{_D}{_U}.{MEASURE}]))"
_NOT_AFTER = r"(?![0-9.月日号天年周点%个台套张盒件箱瓶支份部批吨只把条本袋包桶辆双组片卷罐斤副对顶间分积折成])"
AMOUNT_RE = re.compile(
    rf"(?:{_NUMTOK}{_RANGE_SEP})?{_NUMTOK}\s*{_YUAN}{_JIAO}?整?"
    rf"|(?:{_NUMTOK}{_RANGE_SEP})?{_BIG}{_NOT_AFTER}"
    rf"|[{_D}]{{1,2}}[角毛](?:钱|[{_D}]分?)?"
)
_TRIGGER = r"(?:金额|总价|总额|总共|一共|合计|共|消费了?|花了|预算|报价|单价|刷卡|刷了|买了|价格|价钱|价位|开价|成交价)"
AMOUNT_TRIGGER_RE = re.compile(rf"{_TRIGGER}\s*(?:是|为)?\s*({_NUMTOK}){_WHOLE}{_NOT_AFTER}")
# A quoted unit price: 1100一台 / 两万一台 / 300块一箱 / 每箱三百 / 一台1100.
PER_UNIT_AFTER_RE = re.compile(rf"({_NUMTOK})(?!(?!一[{MEASURE}])[{_D}{_U}几多余.])\s*{_YUAN}?\s*(?:一|每|/)\s*[{MEASURE}]")
PER_UNIT_BEFORE_RE = re.compile(rf"(?:每|一)[{MEASURE}](?:是|为|要|卖|算)?\s*({_NUMTOK}){_WHOLE}{_YUAN}?{_NOT_AFTER}")
DISCOUNT_RE = re.compile(r"对折|半价|(?:\d{1,2}(?:\.\d{1,2})?|[一二三四五六七八九两][一二三四五六七八九]?(?:点[一二三四五六七八九])?)\s*折(?![扣旧叠])")
REDUCTION_RE = re.compile(rf"(?:减|便宜|优惠|让利|少收|立减|直降|再降)了?\s*({_NUMTOK}{_WHOLE}\s*{_YUAN}?)(?![{MEASURE}%折])")
QUANTITY_RE = re.compile(rf"(\d+|[一二三四五六七八九十百千两]+)([{MEASURE}])(?!月|人|小时|星期|礼拜|客户|工作日|门店|销售|公司|准|复|示|评|注)")
PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")
ORDER_RE = re.compile(r"#\s?([A-Za-z0-9]+)|(?<![A-Za-z])([A-Z]{2}\d{6,})")
BARE_ID_RE = re.compile(r"(?<![\d.#])(\d{3,8})(?![\d.%万千亿元块wWkK号点月日年天台套个张分积])")
MEMBER_ID_RE = re.compile(r"(?i)(?<![a-z])(vip\d+)|(?:卡号|会员号|会员卡号|会员卡|会员编号)\s*(?:是|为)?\s*[:：]?\s*([a-z]*\d{4,12})")
PROB_RE = re.compile(r"\d{1,3}(?:\.\d+)?\s*[%％]|百分之[零一二三四五六七八九十百]+"
                     r"|[一二三四五六七八九十](?:[二三四五六七八九])?成(?![交功本员立])")
# 积分抵扣500 / 积分抵了1000 / 用了500积分 / 扣了2000分 (not 积分抵了10元: that is money, an amount).
POINTS_RE = re.compile(
    rf"(?:积分|抵扣|兑换)\s*(?:抵扣|兑换|抵现|抵掉|抵|扣除|扣掉|扣|用掉|用)?\s*了?\s*({_NUMTOK}){_WHOLE}"
    rf"(?![0-9元块钱{MEASURE}些点半成])"
    rf"|({_NUMTOK})(?:个)?积分"
    rf"|(?:用|扣|花|抵扣|使用)(?:掉|除)?了?\s*({_NUMTOK}){_WHOLE}\s*分(?![钟之])"
)
STAGES = {
    "won": ["签下来了", "签合同了", "签约了", "拿下了", "成交了", "赢单了", "搞定了", "签了", "拿下", "签约", "赢单",
            "中标了", "合同签了", "单子成了"],
    "lost": ["没戏了", "丢单了", "被抢了", "输单了", "黄了", "丢了", "输了", "输单", "丢单", "没成", "跑单了",
             "不做了", "放弃了"],
    "negotiation": ["商务谈判", "进入谈判", "谈判阶段", "谈判中", "在谈", "谈判", "谈价格", "砍价", "议价"],
    "proposal": ["方案阶段", "报价阶段", "出方案", "方案报价", "报价了", "已报价", "报过价", "发了报价", "已发报价",
                 "报完价", "给了报价", "方案发了", "交了方案"],
    "qualified": ["需求确认", "确认需求", "需求阶段", "需求明确", "需求确定了"],
    "initial": ["初步接触", "初次接触", "刚接触", "刚开始接触", "刚开始聊", "刚认识", "第一次接触", "初步沟通"],
}
_STAGE_OF = {w: code for code, words in STAGES.items() for w in words}
# 签约时间 / 成交日期 name a date, and 赢单概率90% a probability: neither is a stage.
STAGE_RE = re.compile("(?:" + "|".join(sorted(_STAGE_OF, key=len, reverse=True)) + ")(?!时间|日期|金额|的?(?:概率|几率|可能|把握|率))")
ORDER_INTENTS = {"approve", "reject", "list_approvals"}
MEMBER_INTENTS = {"member_lookup", "record_purchase", "query_points", "register_member", "renew_member"}
# 会员罗丹 会员号… / 顾客田甜的会员卡…: a 2-3 character name between 会员 and the number or phone.
MEMBER_NAME_RE = re.compile(
    r"(?:会员|顾客|客人|查一下|查查|查|姓名[:：]?|名字叫|叫)\s*(?!会员|顾客|卡号|手机|一下)([\u4e00-\u9fa5]{2,3}?)\s*(?=的?(?:会员|卡号|会员号|会员卡|会员编号|手机|"
    r"[Vv][Ii][Pp]|\d|\s|，|,|$))"
)
_NOT_MEMBER_NAME = re.compile(r"会员|卡号|手机|积分|消费|一下|等级|信息|资料|号码|姓名|名字|这个|那个|帮我|编号|顾客")


def _ent(entity: str, start: int, end: int, text: str, value: object = None) -> dict:
    return {"entity": entity, "start": start, "end": end, "text": text[start:end],
            "value": text[start:end] if value is None else value, "extractor": "RuleEntityExtractor",
            "confidence": 1.0}


def find_rule_entities(text: str) -> list[dict]:
    """Intent-independent candidates; overlaps are resolved by the caller (earlier label wins)."""
    out: list[dict] = []
    for m in PHONE_RE.finditer(text):
        out.append(_ent("phone", m.start(), m.end(), text, re.sub(r"[\s-]", "", m[0])))
    for m in MEMBER_ID_RE.finditer(text):
        g = 1 if m[1] else 2
        out.append(_ent("member_id", m.start(g), m.end(g), text))
    for m in ORDER_RE.finditer(text):
        if m[1] and m[1].upper().startswith("VIP"):
            continue
        out.append(_ent("order_id", m.start(), m.end(), text, m[1] or m[2]))
    for m in PROB_RE.finditer(text):
        out.append(_ent("probability", m.start(), m.end(), text))
    for m in POINTS_RE.finditer(text):
        g = next(i for i in (1, 2, 3) if m[i])
        points = parse_int(m[g])
        if points is not None:
            out.append(_ent("points", m.start(g), m.end(g), text, points))
    for m in DISCOUNT_RE.finditer(text):
        value = parse_discount(re.sub(r"\s", "", m[0]))
        if value is not None:
            out.append(_ent("discount", m.start(), m.end(), text, value))
    for m in REDUCTION_RE.finditer(text):
        value = parse_amount(m[1])
        if isinstance(value, int | float) and value > 0:
            out.append(_ent("reduction", m.start(1), m.end(1), text, value))
    for m in AMOUNT_RE.finditer(text):
        s, e = m.start(), m.end()
        while e > s and text[e - 1].isspace():
            e -= 1
        if parse_amount(text[s:e]) is not None:
            out.append(_ent("amount", s, e, text))
    for regex in (AMOUNT_TRIGGER_RE, PER_UNIT_AFTER_RE, PER_UNIT_BEFORE_RE):
        for m in regex.finditer(text):
            if parse_amount(m[1]) is not None:
                out.append(_ent("amount", m.start(1), m.end(1), text))
    for m in TIME_RE.finditer(simplified(text)):  # 下週三 / 後天 are found as 下周三 / 后天
        out.append(_ent("time", m.start(), m.end(), text))
    for m in QUANTITY_RE.finditer(text):
        if m[2] == "个" and m[1] == "一":
            continue
        if m[1] == "一" and m.start() > 0 and re.match(rf"[\d{_D}{_U}元块钱]", text[m.start() - 1]):
            continue  # 1100一台 / 两万一台: "per unit", not a quantity of one
        out.append(_ent("quantity", m.start(), m.end(), text))
    return out


OPENING_DAYPART_RE = re.compile(r"^\s*(上午|早上|早晨|一早|中午|下午|傍晚|晚上)(?!好)")


def find_intent_entities(text: str, intent: str, taken: Iterable[dict]) -> list[dict]:
    """Candidates that only make sense for some intents: stage words, bare order numbers."""
    out: list[dict] = []
    if intent == "update_opportunity":
        for m in STAGE_RE.finditer(text):
            out.append(_ent("stage", m.start(), m.end(), text, _STAGE_OF[m[0]]))
    if intent in MEMBER_INTENTS:
        for m in MEMBER_NAME_RE.finditer(text):
            if not _NOT_MEMBER_NAME.search(m[1]):
                out.append(_ent("member", m.start(1), m.end(1), text))
    if intent in ORDER_INTENTS:
        for m in BARE_ID_RE.finditer(text):
            out.append(_ent("order_id", m.start(1), m.end(1), text))
    if intent == "log_visit" and not any(t["entity"] == "time" for t in taken):
        # 早上去了趟华润医药…: a part of the day opening a visit report is when it happened (today).
        m = OPENING_DAYPART_RE.match(text)
        if m is not None:
            out.append(_ent("time", m.start(1), m.end(1), text))
    out = [e for e in out if not any(overlaps(e, t) for t in taken)]
    if intent == "submit_order":  # in an order, 85% is the share of the price paid, not a win probability
        for e in taken:
            if e["entity"] == "probability":
                value = parse_discount(e["text"])
                if value is not None:
                    out.append(_ent("discount", e["start"], e["end"], text, value))
    return out


def overlaps(a: dict, b: dict) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def resolve(candidates: list[dict]) -> list[dict]:
    """Greedy: keep candidates in priority order (list order), longer first within a label, no overlaps."""
    chosen: list[dict] = []
    for cand in sorted(candidates, key=lambda c: (_PRIORITY.get(c["entity"], 99), c["start"] - c["end"])):
        if not any(overlaps(cand, c) for c in chosen):
            chosen.append(cand)
    return sorted(chosen, key=lambda c: c["start"])


_PRIORITY = {"phone": 0, "member_id": 1, "order_id": 2, "discount": 3, "probability": 3, "points": 4,
             "reduction": 5, "time": 6, "amount": 7, "quantity": 8}
