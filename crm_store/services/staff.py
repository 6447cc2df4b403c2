"""Staff look-ups, adding staff (one by one or from a file) and chat identity bindings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_store import messages as SM
from crm_store.errors import InvalidInput, NotFound, PermissionDenied
from crm_store.models import ChatIdentity, Member, Staff, valid_channel
from crm_store.services import outbox
from crm_store.services.common import Actor, audit, normalize_phone, require_aware

STAFF_ROLES = ("rep", "manager", "director", "clerk", "admin")
# Who can be someone's manager (陈静 manages the reps, 赵建国 manages 陈静).
SUPERIOR_ROLES = ("manager", "director", "admin")
# What people write in a spreadsheet's role column, besides the codes themselves.
ROLE_WORDS = {
    "销售": "rep", "销售代表": "rep", "业务员": "rep", "客户经理": "rep", "销售员": "rep",
    "经理": "manager", "销售经理": "manager", "主管": "manager", "组长": "manager",
    "总监": "director", "销售总监": "director", "店员": "clerk", "导购": "clerk", "收银员": "clerk",
    "管理员": "admin", "系统管理员": "admin",
}
_NAME = re.compile(r"^[\u4e00-\u9fa5A-Za-z·][\u4e00-\u9fa5A-Za-z·.\-]{1,19}$")


def staff_for_admin(session: Session, actor: Actor | None, staff_id: int, *, denied: str) -> Staff:
    """The staff row an admin (or the server's operator: actor None) is about to change."""
    if actor is not None and actor.role != "admin":
        raise PermissionDenied(denied)
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(SM.STAFF_NOT_FOUND)
    return staff


def find_staff(session: Session, name: str) -> Staff | None:
    """Exact name, active or not."""
    return session.scalar(select(Staff).where(Staff.name == name.strip()))


def list_staff(session: Session, role: str | None = None) -> list[Staff]:
    stmt = select(Staff).order_by(Staff.id)
    if role is not None:
        stmt = stmt.where(Staff.role == role)
    return list(session.scalars(stmt))


def identity_for(session: Session, channel: str, external_id: str) -> ChatIdentity | None:
    return session.scalar(
        select(ChatIdentity).where(ChatIdentity.channel == channel, ChatIdentity.external_id == str(external_id))
    )


def _identity_state(identity: ChatIdentity) -> dict[str, object]:
    return {
        "channel": identity.channel,
        "external_id": identity.external_id,
        "staff_id": identity.staff_id,
        "member_id": identity.member_id,
        "bound_at": identity.bound_at,
    }


def bind_identity(
    session: Session,
    channel: str,
    external_id: str,
    *,
    staff_id: int | None = None,
    member_id: int | None = None,
    actor: Actor | None = None,
    now: datetime,
    display_name: str | None = None,
) -> ChatIdentity:
    """Bind a chat account to a staff member or a member. actor None = the system (binding code flow)."""
    require_aware(now)
    if (staff_id is None) == (member_id is None):
        raise InvalidInput(SM.IDENTITY_TARGET_REQUIRED)
    if not valid_channel(channel):
        raise InvalidInput(SM.IDENTITY_CHANNEL_INVALID)
    if actor is not None and actor.role != "admin":
        binding_self = (staff_id is not None and staff_id == actor.staff_id) or (
            member_id is not None and member_id == actor.member_id
        )
        if not binding_self:
            raise PermissionDenied(SM.NO_PERMISSION_BIND)
    if staff_id is not None and session.get(Staff, staff_id) is None:
        raise NotFound(SM.STAFF_NOT_FOUND)
    if member_id is not None and session.get(Member, member_id) is None:
        raise NotFound(SM.MEMBER_NOT_FOUND)
    identity = identity_for(session, channel, external_id)
    if identity is None:
        identity = ChatIdentity(
            channel=channel,
            external_id=str(external_id),
            staff_id=staff_id,
            member_id=member_id,
            display_name=display_name,
            bound_at=now,
        )
        session.add(identity)
        session.flush()
        audit(session, actor, "identity.bind", "chat_identity", identity.id, after=_identity_state(identity), now=now)
        _release(session, identity, now)
        return identity
    before = _identity_state(identity)
    identity.staff_id = staff_id
    identity.member_id = member_id
    identity.bound_at = now
    if display_name is not None:
        identity.display_name = display_name
    session.flush()
    audit(
        session, actor, "identity.rebind", "chat_identity", identity.id,
        before=before, after=_identity_state(identity), now=now,
    )
    _release(session, identity, now)
    return identity


# --- adding staff -------------------------------------------------------------------------------


def role_choices() -> str:
    return "、".join(f"{code}（{SM.STAFF_ROLE_NAMES[code]}）" for code in STAFF_ROLES)


def role_code(raw: str) -> str:
    """rep / 销售 / 销售代表 -> 'rep'; InvalidInput listing the choices otherwise."""
    value = raw.strip()
    code = ROLE_WORDS.get(value, value.lower())
    if code not in STAFF_ROLES:
        raise InvalidInput(SM.STAFF_ROLE_INVALID.format(value=value[:20], choices=role_choices()))
    return code


@dataclass(frozen=True)
class NewStaff:
    name: str
    role: str
    manager_id: int | None
    manager_name: str | None
    team: str | None
    store: str | None
    phone: str | None


class StaffChecker:
    """Validates new staff against the database and against earlier ones of the same batch (a file's rows),
    collecting every problem of one person so they can all be fixed at once."""

    def __init__(self, session: Session) -> None:
        self.known: dict[str, Staff | NewStaff] = {s.name: s for s in session.scalars(select(Staff).order_by(Staff.id))}
        self.ids: dict[str, int] = {s.name: s.id for s in self.known.values() if isinstance(s, Staff)}

    def _superiors(self) -> str:
        names = [n for n, s in self.known.items() if s.role in SUPERIOR_ROLES and getattr(s, "active", True)]
        return "、".join(names[:12]) + ("…" if len(names) > 12 else "") or SM.REPORT_NOBODY

    def superior(self, name: str) -> Staff | NewStaff:
        """Someone who can be a manager: known, a manager / director / admin, and active."""
        boss = self.known.get(name)
        if boss is None:
            raise InvalidInput(SM.STAFF_MANAGER_UNKNOWN.format(name=name[:20], choices=self._superiors()))
        if boss.role not in SUPERIOR_ROLES:
            raise InvalidInput(SM.STAFF_MANAGER_ROLE.format(
                name=name, role=SM.STAFF_ROLE_NAMES.get(boss.role, boss.role), choices=self._superiors()))
        if not getattr(boss, "active", True):
            raise InvalidInput(SM.STAFF_MANAGER_INACTIVE.format(name=name))
        return boss

    def check(
        self, name: str, role: str, *, manager: str | None = None, team: str | None = None,
        store: str | None = None, phone: str | None = None,
    ) -> NewStaff:
        problems: list[str] = []
        name = (name or "").strip()
        if not name:
            problems.append(SM.STAFF_NAME_REQUIRED)
        elif not _NAME.match(name):
            problems.append(SM.STAFF_NAME_INVALID.format(value=name[:30]))
        elif name in self.known:
            other = self.known[name]
            problems.append(SM.STAFF_DUPLICATE.format(name=name, role=SM.STAFF_ROLE_NAMES.get(other.role, other.role)))
        code = None
        try:
            code = role_code(role or "")
        except InvalidInput as error:
            problems.append(error.message)
        manager = (manager or "").strip() or None
        boss = None
        if manager is not None:
            try:
                boss = self.superior(manager)
            except InvalidInput as error:
                problems.append(error.message)
        number = None
        if phone and phone.strip():
            try:
                number = normalize_phone(phone)
            except InvalidInput:
                problems.append(SM.STAFF_PHONE_INVALID.format(value=phone.strip()[:30]))
        if problems:
            raise InvalidInput("；".join(problems))
        assert code is not None
        # A rep joins the manager's team unless told otherwise.
        team = (team or "").strip() or (boss.team if boss is not None and boss.role == "manager" else None)
        new = NewStaff(name, code, self.ids.get(manager) if manager else None, manager, team,
                       (store or "").strip() or None, number)
        self.known[name] = new
        return new


def create_staff(session: Session, actor: Actor | None, people: list[NewStaff], *, now: datetime) -> list[Staff]:
    """Insert checked staff (StaffChecker); a manager named among them is linked once all exist.
    actor None is the server's own operator (the `crmbot` command on the machine). Flushes only."""
    require_aware(now)
    if actor is not None and actor.role != "admin":
        raise PermissionDenied(SM.STAFF_ADD_ADMIN_ONLY)
    rows = [Staff(name=p.name, role=p.role, manager_id=p.manager_id, team=p.team, store=p.store, phone=p.phone,
                  active=True, created_at=now) for p in people]
    session.add_all(rows)
    session.flush()
    by_name = {row.name: row for row in rows}
    for person, row in zip(people, rows, strict=True):
        if row.manager_id is None and person.manager_name:
            row.manager_id = by_name[person.manager_name].id
    session.flush()
    for row in rows:
        audit(session, actor, "staff.create", "staff", row.id, after={
            "name": row.name, "role": row.role, "manager_id": row.manager_id, "team": row.team, "store": row.store,
        }, now=now)
    return rows


def add_staff(
    session: Session, actor: Actor | None, name: str, role: str, *, manager: str | None = None,
    team: str | None = None, store: str | None = None, phone: str | None = None, now: datetime,
) -> Staff:
    """One new staff member, every problem of the input in one clear message."""
    person = StaffChecker(session).check(name, role, manager=manager, team=team, store=store, phone=phone)
    return create_staff(session, actor, [person], now=now)[0]


def set_manager(session: Session, actor: Actor | None, staff_id: int, manager: str, *, now: datetime) -> Staff:
    """Give someone another direct manager (before their manager leaves); a rep moves into the new manager's
    team. actor None is the server's operator. Flushes only."""
    require_aware(now)
    staff = staff_for_admin(session, actor, staff_id, denied=SM.STAFF_ADD_ADMIN_ONLY)
    boss = StaffChecker(session).superior(manager.strip())
    assert isinstance(boss, Staff)
    chain: Staff | None = boss
    while chain is not None:  # nobody may end up managing themselves, directly or up the line
        if chain.id == staff.id:
            raise InvalidInput(SM.STAFF_MANAGER_CYCLE.format(name=staff.name, manager=boss.name))
        chain = chain.manager
    before = {"manager_id": staff.manager_id, "team": staff.team}
    staff.manager_id = boss.id
    if staff.role == "rep" and boss.role == "manager":
        staff.team = boss.team
    session.flush()
    audit(session, actor, "staff.manager", "staff", staff.id, before=before,
          after={"manager_id": staff.manager_id, "team": staff.team}, now=now)
    return staff


def _release(session: Session, identity: ChatIdentity, now: datetime) -> None:
    """Messages that waited for this colleague to have a chat account go out now."""
    if identity.staff_id is not None:
        outbox.release_waiting(session, identity.staff_id, now=now)
