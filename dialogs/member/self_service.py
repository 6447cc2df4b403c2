"""积分 questions (a member's own, or the member a clerk just looked up) and 退订 / 订阅."""

from __future__ import annotations

import re

from crm_store.services import members
from dialogs import messages as DM
from dialogs.base import EVERYONE, Job, Slots, Turn, register
from dialogs.member.common import MEMBER_STAFF, names_a_member, recent_member
from dialogs.member.lookup import run_lookup
from dialogs.reply import Reply

SUBSCRIBE_WORDS = {"订阅", "重新订阅", "恢复订阅", "继续订阅"}


@register
class QueryPoints(Job):
    """A member's own points, tier and next expiry. Staff get the member they just looked up
    (她还有多少积分 / 他的积分呢); with nobody in context they are pointed to the exact look-up."""

    name = "query_points"
    roles = EVERYONE

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        if turn.actor.role == "member":
            summary = members.points_summary(turn.session, turn.actor, tz=turn.tz, now=turn.now)
            text = DM.POINTS_SUMMARY.format(name=summary.member.name, points=summary.points, tier=summary.tier)
        else:
            if turn.actor.role in MEMBER_STAFF and names_a_member(turn):  # 钟英欣 VIP0050 积分多少: look that one up
                return run_lookup(turn)
            recent = recent_member(turn) if turn.actor.role in MEMBER_STAFF else None
            if recent is None:
                return [Reply(DM.POINTS_STAFF_HINT)]
            summary = members.member_points_for_staff(turn.session, turn.actor, recent, tz=turn.tz, now=turn.now)
            text = DM.POINTS_OF_MEMBER.format(
                name=summary.member.name, member_no=summary.member.member_no, points=summary.points,
                tier=summary.tier,
            )
        if summary.next_expiring_on is not None and summary.next_expiring_points:
            text += DM.POINTS_EXPIRING.format(
                points=summary.next_expiring_points, day=members.fmt_date(summary.next_expiring_on)
            )
        if summary.membership_expires is not None:
            text += DM.POINTS_MEMBERSHIP.format(day=members.fmt_date(summary.membership_expires))
        return [Reply(text)]


@register
class Unsubscribe(Job):
    """退订 stops every care message; the literal 订阅 turns them back on."""

    name = "unsubscribe"
    roles = frozenset({"member"})

    def execute(self, turn: Turn, slots: Slots) -> list[Reply]:
        plain = re.sub(r"[\s。.!！~～,，]+", "", turn.text)
        if plain in SUBSCRIBE_WORDS:
            changed = members.set_opt_out(turn.session, turn.actor, False, now=turn.now)
            return [Reply(DM.SUBSCRIBED if changed else DM.ALREADY_SUBSCRIBED)]
        changed = members.set_opt_out(turn.session, turn.actor, True, now=turn.now)
        return [Reply(DM.UNSUBSCRIBED if changed else DM.ALREADY_UNSUBSCRIBED)]
