"""Build the running pieces from a Config: database, NLU parser, dialog engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_store import services
from crm_store.db import make_engine, session_factory, transaction, upgrade
from crm_store.demo import seed_demo
from crm_store.models import Staff
from crmbot import messages as CM
from crmbot.config import Config


@dataclass
class Runtime:
    config: Config
    engine: Engine
    factory: sessionmaker[Session]


def open_database(config: Config, *, migrate: bool = True) -> Runtime:
    engine = make_engine(config.database.url, echo=config.database.echo, pool_size=config.database.pool_size)
    if migrate:
        upgrade(engine)
    return Runtime(config, engine, session_factory(engine))


def seed_demo_if_empty(runtime: Runtime, now: datetime) -> bool:
    """The embedded default starts with a believable company so `crmbot chat` is useful at once."""
    with transaction(runtime.factory) as session:
        if session.scalar(select(func.count()).select_from(Staff)):
            return False
        seed_demo(session, now=now)
        return True


def build_dialogs(runtime: Runtime, clock=None, *, train_if_missing: bool = True):  # type: ignore[no-untyped-def]
    """The dialog engine with the NLU loaded; a server passes train_if_missing=False (nlu.ModelMissing)."""
    from dialogs import DialogEngine
    from nlu import load_parser

    parser = load_parser(runtime.config.nlu, runtime.config.tz, train_if_missing=train_if_missing)
    return DialogEngine(runtime.factory, parser, runtime.config, clock=clock)


def bind_console(runtime: Runtime, staff_name: str, now: datetime) -> int:
    """Console users say who they are with --as; the terminal is a trusted, local channel."""
    with transaction(runtime.factory) as session:
        staff = services.find_staff(session, staff_name)
        if staff is None:
            names = "、".join(s.name for s in services.list_staff(session))
            raise LookupError(CM.NO_SUCH_STAFF.format(name=staff_name, names=names))
        identity = services.identity_for(session, "console", staff_name)
        if identity is None or identity.staff_id != staff.id:
            services.bind_identity(session, "console", staff_name, staff_id=staff.id, now=now)
        return staff.id


def bind_console_member(runtime: Runtime, member_no: str, now: datetime) -> str:
    """`crmbot chat --member VIP0002`: the terminal speaks as that member (console identity "member:<no>"),
    as if the member had bound a chat account; returns the console identity."""
    from crm_store.models import Member
    from crm_store.services.members import normalize_member_no

    number = normalize_member_no(member_no) or member_no.strip()
    external_id = f"member:{number}"
    with transaction(runtime.factory) as session:
        member_id = session.scalar(select(Member.id).where(Member.member_no == number))
        if member_id is None:
            raise LookupError(CM.NO_SUCH_MEMBER.format(member_no=member_no))
        identity = services.identity_for(session, "console", external_id)
        if identity is None or identity.member_id != member_id:
            services.bind_identity(session, "console", external_id, member_id=member_id, now=now)
    return external_id
