"""办卡 (a new member: name + phone, optional tier, birthday and period) and 续卡 (renew by a period), each
with a preview and 确认; a phone that is already a member's is refused before the preview."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from crm_store.errors import CRMError, PhoneTaken
from crm_store.models import Member
from crm_store.services import member_cards, members
from dialogs import entities as ent
from dialogs import meaning
from dialogs import messages as DM
from dialogs.base import Job, Slots, Turn, register
from dialogs.member.common import (
    MEMBER_NO_RE,
    MEMBER_STAFF,
    PHONE_RE,
    PRONOUN_RE,
    member_no_in,
    phone_in,
    recent_member,
    remember,
)
from dialogs.member.lookup import run_lookup
from dialogs.reply import Reply

_PERIOD = re.compile(r"(半年|(?<!\d)(\d{1,3}|[一二两三四五六七八九十]{1,3})\s*(?:个)?\s*(年|月)(?!\d|[一二三四五六七八九十]{0,2}[日号]))")
_BIRTHDAY = re.compile(
    r"(?:生日|出生)\s*(?:是|为|在|[:：])?\s*(?:(\d{4}|\d{2})\s*[年\-./])?\s*(\d{1,2})\s*[月\-./]\s*(\d{1,2})\s*[日号]?"
    r"|(?:(\d{4}|\d{2})\s*[年\-./])?\s*(\d{1,2})\s*[月\-./]\s*(\d{1,2})\s*[日号]?\s*(?:的)?(?:生日|出生)"
)
_BARE_DATE = re.compile(r"(\d{4}|\d{2})\s*[年\-./]\s*(\d{1,2})\s*[月\-./]\s*(\d{1,2})")
# Card colours people say for a tier: 金卡, 钻石卡, 普卡 (普通) …; only configured tiers are accepted.
_TIER_WORD = re.compile(r"(钻石|铂金|白金|黑金|金|银|铜|黑|蓝|紫|普)卡")
_BAD_PHONE = re.compile(r"(?<!\d)(\d{5,})(?!\d)")
_NO_BIRTHDAY = re.compile(r"不填|不知道|没有|不用|不告诉|跳过|算了")
_CARD_WORDS = re.compile(
    r"办理|办一张|办张|办个|办卡|开卡|开一张|开张|开个|新开|新办|想办|要办|做一张|做张|做个|开通|注册|登记|入会|加入|"
    r"会员卡|新会员|会员|老顾客|新顾客|新客人|新客户|新来的|顾客|客人|女士|先生|小姐|信息|资料|"
    r"手机号码|手机号|手机|电话|号码|姓名|名字|生日|等级|级别|有效期|帮忙|帮我|麻烦|一下|有一位|有位|有个|这位|一位|"
    r"这个|一个|续费|续卡|续期|再续|给|帮|叫|是|的|要|想|请|卡|吧|呢|啊|哈|了|她|他|我"
)


def period_months(text: str) -> int | None:
    """一年 → 12, 半年 → 6, 两年 → 24, 6个月 → 6, 18个月 → 18; None when no period is said."""
    found = _PERIOD.search(_BIRTHDAY.sub(" ", text))  # 1990年3月5日 is a birthday, not 1990 years
    if not found:
        return None
    if found.group(1) == "半年":
        return 6
    raw, unit = found.group(2), found.group(3)
    count = ent.small_number(raw)
    if count is None:
        return None
    return count * 12 if unit == "年" else count


def months_text(months: int) -> str:
    years, rest = divmod(months, 12)
    if years and rest:
        return DM.PERIOD_YEARS_MONTHS.format(years=years, months=rest)
    return DM.PERIOD_YEARS.format(years=years) if years else DM.PERIOD_MONTHS.format(months=rest)


def _tier_in(turn: Turn) -> str | None:
    """A configured tier named in the message (金卡 / 普卡 for 普通), or a card colour that is not one (钻石卡),
    which the preview then refuses with the valid tiers."""
    tiers = [t.name for t in turn.config.rules.points.tiers]
    for tier in sorted(tiers, key=len, reverse=True):
        if tier in turn.text:
            return tier
    found = _TIER_WORD.search(turn.text)
    if not found:
        return None
    word = found.group(0)
    return next((t for t in tiers if t.startswith(found.group(1))), word)


def _birthday_in(text: str, this_year: int, answering: bool = False) -> tuple[str | None, bool]:
    """(ISO birthday, said without a year); (None, False) when no birthday is said. Answering the birthday
    question, a date needs no 生日 word."""
    found = _BIRTHDAY.search(text) or (_BARE_DATE.search(text) if answering else None)
    if not found:
        return None, False
    if found.re is _BARE_DATE:
        year, month, day = found.group(1, 2, 3)
    else:
        year, month, day = found.group(1, 2, 3) if found.group(2) else found.group(4, 5, 6)
    if not year:
        return None, True
    if len(year) == 2:  # 90年 → 1990, 05年 → 2005: a birthday is never in the future
        year = str(2000 + int(year) if 2000 + int(year) <= this_year else 1900 + int(year))
    try:
        return date(int(year), int(month), int(day)).isoformat(), False
    except ValueError:
        return "invalid", False


def _name_candidates(text: str, tiers: list[str]) -> tuple[list[str], list[str]]:
    """Possible names once phone, dates, period, tier and the 办卡 words are taken out: (all pieces of 2–4
    characters, those that stood alone between spaces or commas in the message)."""
    rest = _BIRTHDAY.sub(" ", PHONE_RE.sub(" ", MEMBER_NO_RE.sub(" ", text)))
    rest = _TIER_WORD.sub(" ", _PERIOD.sub(" ", rest))
    for tier in tiers:
        rest = rest.replace(tier, " ")
    pieces, alone = [], []
    for chunk in re.split(r"[\s\W\d_]+", rest):
        parts = [p for p in re.split(r"[\s\W\d_]+", _CARD_WORDS.sub(" ", chunk)) if 2 <= len(p) <= 4]
        pieces.extend(parts)
        if parts == [chunk]:
            alone.append(chunk)
    return pieces, alone


def _new_member_name(turn: Turn, tiers: list[str], answering: bool) -> str | None:
    """The new member's name; None when it is not clear (the dialog asks rather than open a wrong card).
    Answering 新会员叫什么名字, the whole answer is the name (李为民 keeps its 为)."""
    if answering:
        text = PHONE_RE.sub(" ", turn.text).strip()
        if ent.plain_answer(text) in ent.YES_WORDS | ent.NO_WORDS or meaning.is_preview_yes(text):
            return None  # 确认 / 好的 said to 「叫什么名字？」 is no name: ask again rather than open a card for 确认
        name = re.sub(r"[\s\W\d_]+", "", re.sub(r"^(?:她|他|顾客|客人)?的?(?:姓名|名字)?(?:叫|是)*", "", text))
        return name[:20] or None
    pieces, alone = _name_candidates(turn.text, tiers)
    tagged = ent.text_of(turn.parse, "member")
    for choice in (set(pieces), set(alone), {tagged} & set(pieces)):
        if len(choice) == 1:
            return choice.pop()
    return None


# Words that ask for a new card; without them a name and a member's phone is a look-up of that member.
_ASKS_FOR_CARD = re.compile(r"办|开卡|开一张|开张|开个|新开|开通|注册|登记|入会|加入|新会员|新顾客|新客人")


@register
class RegisterMember(Job):
    """办卡 王小丽 13912345678 / 给王小丽办张金卡，手机139…，生日1990年3月5日."""

    name = "register_member"
    roles = MEMBER_STAFF
    writes = True
    # 1990年5月3日 answering the birthday question looks like a date for another job; it is the answer.
    free_text_slots = frozenset({"name", "birthday"})

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        phone = phone_in(turn)
        if phone:
            slots["phone"] = phone
            slots.pop("_bad_phone", None)
        elif bad := _BAD_PHONE.search(PHONE_RE.sub(" ", turn.text)):
            slots["_bad_phone"] = bad.group(1)[:20]
        tier = _tier_in(turn)
        if tier:
            slots["tier"] = tier
        months = period_months(turn.text)
        if months:
            slots["months"] = months
        birthday, partial = _birthday_in(turn.text, turn.now.year, answering=awaiting == "birthday")
        if awaiting == "birthday" and birthday is None and not partial and _NO_BIRTHDAY.search(turn.text):
            slots.pop("_birthday_partial", None)
            slots.pop("birthday", None)
        elif birthday or partial:
            slots["birthday"] = birthday
            slots["_birthday_partial"] = partial
        if awaiting in (None, "name"):
            tiers = [t.name for t in turn.config.rules.points.tiers]
            name = _new_member_name(turn, tiers, answering=awaiting == "name")
            if name:
                slots["name"] = name

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if not slots.get("name"):
            return "name"
        if not slots.get("phone"):
            return "phone"
        if slots.get("_birthday_partial"):
            return "birthday"
        return None

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        if slot == "phone" and slots.get("_bad_phone"):
            return DM.NEW_MEMBER_PHONE_BAD.format(text=slots["_bad_phone"])
        return {"name": DM.ASK_NEW_MEMBER_NAME, "phone": DM.ASK_NEW_MEMBER_PHONE,
                "birthday": DM.ASK_BIRTHDAY_YEAR}[slot]

    @staticmethod
    def _card(turn: Turn, slots: Slots) -> dict[str, Any]:
        """The arguments of check_new_member / register_member: the preview checks what 确认 writes."""
        return {
            "name": slots["name"], "phone": slots["phone"], "tier": slots.get("tier"),
            "birthday": date.fromisoformat(slots["birthday"]) if slots.get("birthday") else None,
            "months": slots.get("months", member_cards.DEFAULT_MONTHS), "rules": turn.config.rules,
            "tz": turn.tz, "now": turn.now,
        }

    def _plan(self, turn: Turn, slots: Slots) -> member_cards.NewMember:
        return member_cards.check_new_member(turn.session, turn.actor, **self._card(turn, slots))

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        if slots.get("birthday") == "invalid":
            slots.pop("birthday")
            return [Reply(DM.BIRTHDAY_UNREADABLE)]
        try:
            self._plan(turn, slots)
        except PhoneTaken as error:
            if not _ASKS_FOR_CARD.search(turn.text):  # 王小丽 13812345678: that member, looked up
                return run_lookup(turn)
            return [Reply(error.message)]
        except CRMError as error:  # a tier that does not exist …
            return [Reply(error.message)]
        return None

    def summary(self, turn: Turn, slots: Slots) -> str:
        plan = self._plan(turn, slots)
        return DM.NEW_MEMBER_SUMMARY.format(
            name=plan.name, phone=plan.phone, tier=plan.tier,
            birthday=members.fmt_date(plan.birthday) or DM.UNSET, start=members.fmt_date(plan.joined_at),
            end=members.fmt_date(plan.expires_at), store=plan.store or DM.UNSET,
        )

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        member = member_cards.register_member(turn.session, turn.actor, **self._card(turn, slots))
        remember(turn, member.member_no)
        return [Reply(DM.NEW_MEMBER_SAVED.format(
            name=member.name, member_no=member.member_no, tier=member.tier,
            end=members.fmt_date(member.expires_at),
        ))]


@register
class RenewMember(Job):
    """续卡 VIP0023 一年 / 她的卡续两年 (right after a look-up) / 续卡 13912345678 半年."""

    name = "renew_member"
    roles = MEMBER_STAFF
    writes = True

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        number, phone = member_no_in(turn), phone_in(turn)
        if number:
            slots.update(member_no=number, phone=None)
        elif phone:
            slots.update(phone=phone, member_no=None)
        elif not slots.get("member_no") and not slots.get("phone") and awaiting in (None, "member"):
            recent = recent_member(turn) if PRONOUN_RE.search(turn.text) else None
            if recent:
                slots["member_no"] = recent
        months = period_months(turn.text)
        if months:
            slots["months"] = months

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        if not slots.get("member_no") and not slots.get("phone"):
            return "member"
        return None if slots.get("months") else "months"

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        return DM.ASK_RENEW_MEMBER if slot == "member" else DM.ASK_RENEW_PERIOD

    def _member(self, turn: Turn, slots: Slots) -> Member | None:
        if slots.get("member_no"):
            return members.counter_member(turn.session, turn.actor, slots["member_no"], now=turn.now)
        return members.lookup_member(turn.session, turn.actor, phone=slots["phone"], now=turn.now)

    def precheck(self, turn: Turn, slots: Slots) -> list[Reply] | None:
        try:
            member = self._member(turn, slots)
            if member is None:
                return [Reply(DM.MEMBER_NOT_FOUND)]
            plan = member_cards.check_renewal(member, slots["months"], tz=turn.tz, now=turn.now)
        except CRMError as error:
            return [Reply(error.message)]
        slots["_preview"] = {
            "member_id": member.id, "name": member.name, "member_no": member.member_no,
            "old": members.fmt_date(plan.old_expires) or DM.UNSET, "new": members.fmt_date(plan.new_expires),
        }
        return None

    def summary(self, turn: Turn, slots: Slots) -> str:
        preview = slots["_preview"]
        return DM.RENEW_SUMMARY.format(period=months_text(slots["months"]), **preview)

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        plan = member_cards.renew_member(
            turn.session, turn.actor, slots["_preview"]["member_id"], slots["months"], tz=turn.tz, now=turn.now
        )
        remember(turn, plan.member.member_no)
        return [Reply(DM.RENEW_SAVED.format(
            name=plan.member.name, member_no=plan.member.member_no, end=members.fmt_date(plan.new_expires),
        ))]
