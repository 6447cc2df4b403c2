"""What a short message means where it is said: 👍 / 1 at a preview, a bare 不对, 谢谢, a bare customer
name, 刚才那条记错了, and a new request typed while the bot waits for an answer."""

from __future__ import annotations

import re
from typing import Any

from dialogs import entities as ent
from dialogs.base import Slots, Turn
from dialogs.reminder import reminder_text

# At a preview (回复「确认」保存): WeChat habits count as yes. "1" is yes only here; at a numbered pick it
# stays a pick (the engine reads picks before this).
PREVIEW_YES = frozenset({
    "👍", "👌", "✅", "🆗", "✔", "✔️", "☑️", "💪", "🙆", "1", "好滴", "好嘞", "好哒", "好的呢", "嗯嗯", "嗯呢", "嗯好",
    "可以的", "没问题的", "对的没错", "没错", "就这样", "就这样吧", "就这么办", "保存吧", "存吧", "提交", "提交吧",
    "确认无误", "确认保存", "好的确认", "确定保存", "ok", "okay", "ok的", "okk", "好的谢谢", "好谢谢", "好的多谢",
    "对谢谢", "可以谢谢", "行", "行吧", "中", "妥", "收到", "好了", "是这样", "是这样的", "就是这样", "对就是这样",
    "是的没错", "对没错", "没错就这样", "对的保存",
    "[强]", "[ok]", "[好的]", "[胜利]", "[耶]",  # WeChat's built-in emoji arrive as text codes
})
# Said at a preview, these mean "something shown is wrong", not "throw it away": ask what to change.
SOMETHING_WRONG = frozenset({"不对", "不是", "不对不对", "不是的", "错了", "错了错了", "有错", "有误", "有问题", "不对吧",
                             "不太对", "好像不对", "不对哦", "写错了", "记错了", "搞错了", "弄错了", "说错了", "不行"})
THANKS = frozenset({"谢谢", "谢谢你", "谢谢啦", "谢啦", "谢了", "多谢", "多谢了", "感谢", "感谢感谢", "谢谢谢谢", "辛苦了",
                    "辛苦啦", "辛苦", "thanks", "thankyou", "thx", "3q", "🙏", "谢谢您", "太感谢了", "好的辛苦了",
                    "好的谢谢", "好谢谢", "好的多谢", "ok谢谢", "[抱拳]", "[合十]", "[玫瑰]", "谢谢[抱拳]"})
_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")
_NAME_TAIL = re.compile(r"(呢|吧|啊|呀|怎么样|咋样|的情况|情况)?[?？。.!！~～\s]*$")
# 刚才那条记错了 / 上一条写错了 / 刚刚那个拜访录错了: something already saved is wrong.
_SAVED_MISTAKE = re.compile(
    r"^(?:刚才|刚刚|上一条|上条|之前|前面)(?:那条|那个|这条|那笔|记的|录的|保存的|存的)?(?:拜访|提醒|商机|客户|记录)?"
    r"(?:记录)?(?:的)?(?:记错了|写错了|录错了|弄错了|搞错了|填错了|有错|有误|错了|不对)[了啊呀。.!！]*$"
)



def plain(text: str) -> str:
    return _SKIN_TONES.sub("", ent.plain_answer(text))


def is_preview_yes(text: str) -> bool:
    return plain(text) in PREVIEW_YES


def is_something_wrong(text: str) -> bool:
    return plain(text) in SOMETHING_WRONG


def is_thanks(text: str) -> bool:
    return plain(text) in THANKS


def is_saved_mistake(text: str) -> bool:
    return _SAVED_MISTAKE.match(plain(text)) is not None


def bare_customer_name(turn: Turn) -> str | None:
    """华为 / 吉利呢？: the whole message is one customer's name."""
    names = ent.entities(turn.parse, "customer")
    if len(names) != 1:
        return None
    rest = _NAME_TAIL.sub("", turn.text.strip())
    return rest if rest == str(names[0].get("text")) else None


def as_intent(parse: dict[str, Any], name: str) -> dict[str, Any]:
    return {**parse, "intent": {"name": name, "confidence": 1.0}}


_REMIND = re.compile(r"提醒|叫我|通知我|记得")
_ONE_CUSTOMER_JOBS = frozenset({"log_visit", "submit_order", "update_opportunity"})
_NEW_REQUEST_MIN_CHARS = 8


def _other_customer(turn: Turn, slots: Slots) -> bool:
    named = ent.text_of(turn.parse, "customer")
    current = (slots.get("customer") or {}).get("name") or slots.get("customer_unknown")
    return bool(named and current) and named not in current and current not in named


# 华为最近跟得咋样？ / 美的那边啥情况: a message ending as a question.
_QUESTION_END = re.compile(
    r"(?:吗|呢|么|嘛|咋样|怎么样|怎样|如何|啥情况|什么情况|进展|动静|多少钱?|是谁|哪个|几个|几点|哪天|什么时候|啥时候"
    r"|(?:哪些|什么|啥)[\u4e00-\u9fa5]{0,4}|[?？])(?:来着|了|啊|呀|呢)?[?？。.!！~～\s]*$"
)
# 给苏宁回个电话问问考虑得咋样: a question to be asked of somebody else, told to the bot, not asked of it.
_REPORTED_QUESTION = re.compile(r"问问|问一下|问一问|问下|问他|问她|问问他|问清楚|打听|确认一下")


def is_question(text: str) -> bool:
    """华为最近跟得咋样 / 侯军电话多少 / 吉利有哪些商机 / 那个商机多少钱来着: a question put to the bot."""
    text = text.strip()
    return _QUESTION_END.search(text) is not None and _REPORTED_QUESTION.search(text) is None


def asks_about_other_customer(turn: Turn, slots: Slots) -> bool:
    """华为最近跟得咋样 while a 苏宁 draft waits: a question about another customer, never a change of this
    draft's customer (the preview would otherwise show 华为 with 苏宁's visit)."""
    return is_question(turn.text) and _other_customer(turn, slots)


def is_new_request(turn: Turn, job_name: str, slots: Slots, awaiting: str | None) -> bool:
    """A whole new request of the same kind typed while the bot waits for an answer: 什么时候提醒您？ →
    提醒我下下周一开周会前把报表整理好 is a second reminder, not the first one's time; at a visit's
    preview, 下午还拜访了吉利王总 is a second visit, not this one's customer."""
    if turn.intent != job_name:
        return False
    if job_name in _ONE_CUSTOMER_JOBS:
        return awaiting == "confirm" and len(turn.text) >= _NEW_REQUEST_MIN_CHARS and _other_customer(turn, slots)
    if job_name != "set_reminder" or awaiting not in ("time", "confirm") or not _REMIND.search(turn.text):
        return False
    times = ent.entities(turn.parse, "time")
    said = reminder_text(turn.text, [(t["start"], t["end"]) for t in times])
    return bool(said) and said != slots.get("text") and len(said) >= 2 and said != turn.text.strip()


# What an answer to a question holds, by the slot asked for; a slot not listed is never second-guessed.
_ANSWER_KINDS = {
    "time": ("time",), "customer": ("customer",), "quantity": ("quantity",), "price": ("amount",),
    "amount": ("amount",), "product": ("product",), "member_no": ("member_id",), "target": ("staff",),
    "redeem": ("points", "amount"),
}


def answers(turn: Turn, awaiting: str | None) -> bool | None:
    """Whether the message holds what the question asked for (a time for 什么时候提醒您？); None when
    the question is not one of these."""
    kinds = _ANSWER_KINDS.get(awaiting or "")
    if kinds is None:
        return None
    return any(ent.entities(turn.parse, kind) for kind in kinds)
