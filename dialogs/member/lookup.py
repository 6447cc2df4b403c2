"""查会员: exact look-ups only (name + member number, or a full phone); a name or a number alone is never
looked up, and only real look-ups that fail count towards the lock-out."""

from __future__ import annotations

import re

from crm_store.models import Member
from crm_store.services import members
from dialogs import entities as ent
from dialogs import messages as DM
from dialogs.base import Job, Slots, Turn, register
from dialogs.member.common import (
    MEMBER_NO_RE,
    MEMBER_STAFF,
    PHONE_RE,
    PRONOUN_RE,
    mask,
    member_no_in,
    recent_member,
    remember,
)
from dialogs.reply import Reply

_DIGITS = re.compile(r"(\d{3,})")
_PHONE_MIN_DIGITS = 7
# Words around a look-up that are not the member's name (longest first matters only for overlaps).
_LOOKUP_WORDS = re.compile(
    r"会员卡号|会员编号|会员号|会员卡|老顾客|顾客|客人|帮我|帮忙|麻烦|请|查一下|查一查|查查|查询|查下|查看|查到|查|"
    r"找一下|找找|找|看一下|看看|看下|一下|会员|卡号|号码|手机号|手机|电话|姓名|名字|叫|是|的|信息|资料|详情|情况|"
    r"积分|等级|这位|这个|那位|那个|有没有|谢谢|谢了|吧|呢|啊|呀|哈|嗯|下|"
    r"还有多少分|还剩多少分|多少分|还有多少|还剩多少|多少|还有|还剩|剩下|几分|分数|余额|点数"
)


def _name_in(text: str) -> str | None:
    leftover = PHONE_RE.sub(" ", MEMBER_NO_RE.sub(" ", text))
    leftover = _LOOKUP_WORDS.sub(" ", leftover)
    leftover = re.sub(r"[\s\W\d_]+", "", leftover)
    return leftover[:50] or None


def card_text(member: Member) -> str:
    phone = mask(member.phone)
    return DM.MEMBER_CARD.format(
        name=member.name, member_no=member.member_no, tier=member.tier, points=member.points,
        expires=members.fmt_date(member.expires_at) or DM.UNSET,
        phone=DM.MEMBER_CARD_PHONE.format(phone=phone) if phone else "",
    )


@register
class MemberLookup(Job):
    """查会员 王小明 VIP0023 / 查会员 13800138000: exact only; every miss of a real look-up gets the same answer."""

    name = "member_lookup"
    roles = MEMBER_STAFF

    def fill(self, turn: Turn, slots: Slots, awaiting: str | None) -> None:
        number = member_no_in(turn)
        phone = ent.text_of(turn.parse, "phone")
        if phone is None:
            # A partial or malformed phone is still a query (and a miss), not a reason to ask again; a short
            # run of digits (0023) is a member number written without its letters.
            found = PHONE_RE.search(turn.text) or (None if number else _DIGITS.search(turn.text))
            digits = re.sub(r"[\s-]", "", found.group(1)) if found else None
            if digits and len(digits) < _PHONE_MIN_DIGITS:
                number, digits = members.normalize_member_no(digits), None
            phone = digits
        # The name is read from the words themselves, not only from the NLU: the gazetteer knows member
        # names, and a reply that differed for unknown names would tell a clerk which names exist.
        name = _name_in(turn.text) or ent.text_of(turn.parse, "member")
        # 查一下她的信息 / 这位会员什么等级: the member just dealt with (not 她叫王小明: that names someone).
        pointing = PRONOUN_RE.search(turn.text) and "叫" not in turn.text
        if not number and not phone and (name is None or pointing):
            recent = recent_member(turn) if pointing else None
            if recent:
                slots.clear()
                slots["recent"] = recent
                return
            name = None if name and PRONOUN_RE.fullmatch(name) else name
        for key, value in (("name", name), ("member_no", number), ("phone", phone)):
            if value:
                slots[key] = value

    def missing(self, turn: Turn, slots: Slots) -> str | None:
        return None if any(slots.get(k) for k in ("name", "member_no", "phone", "recent")) else "query"

    def question(self, turn: Turn, slots: Slots, slot: str) -> str:
        return DM.ASK_MEMBER_LOOKUP

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        if slots.get("recent"):
            summary = members.member_points_for_staff(
                turn.session, turn.actor, slots["recent"], tz=turn.tz, now=turn.now
            )
            return [Reply(card_text(summary.member))]
        phone, number, name = slots.get("phone"), slots.get("member_no"), slots.get("name")
        # A name or a number alone is not a look-up (it could never match): say what is missing, count nothing.
        if not phone and not number:
            return [Reply(DM.LOOKUP_NAME_ONLY)]
        if not phone and not name:
            return [Reply(DM.LOOKUP_NUMBER_ONLY)]
        member = members.lookup_member(
            turn.session, turn.actor, name=name, member_no=number, phone=phone, now=turn.now,
        )
        if member is None:
            return [Reply(DM.MEMBER_NOT_FOUND)]
        remember(turn, member.member_no)
        return [Reply(card_text(member))]


def run_lookup(turn: Turn) -> list[Reply]:
    """The exact look-up for a message that names a member inside another question (钟英欣 VIP0050 积分多少)."""
    job, slots = MemberLookup(), {}
    job.fill(turn, slots, None)
    if job.missing(turn, slots) is not None:
        return [Reply(job.question(turn, slots, "query"))]
    return job.execute(turn, slots)
