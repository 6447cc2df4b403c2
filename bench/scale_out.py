"""Scale-out on PostgreSQL: two `crmbot run` processes share one database; one is SIGKILLed mid-load.

    python bench/scale_out.py [--users 12] [--rounds 3] [--reminders 20] [--seed 1]

What it does (everything real except Tencent's API, which is a local fake that records every call):
1. a throw-away PostgreSQL database with the demo data; WeChat identities bound through services for reps,
   the manager, the clerk and some members; reminders due during the run created through services;
2. two `crmbot run` processes (WeChat enabled, scheduler enabled, fast timings) on different ports;
3. one thread per user sends WeChat-encrypted callbacks (visits with confirmation, queries, orders, the
   manager's approvals and rejections, member purchases) to either process; some messages are sent again
   with the same MsgId to the OTHER process (Tencent's retry), concurrently with the first;
4. the scheduler leader is SIGKILLed halfway; requests it dropped are retried (same MsgId) on the survivor,
   which takes over the dead process's unfinished inbox rows once their claim times out;
5. after the inbox and the outbox drain, checks: every MsgId one inbox row, processed (done), every passive
   answer to it the same; a message answered only `success` has its reply pushed from the outbox; no push
   duplicated or missing (fake API calls == sent outbox rows), every reminder sent exactly once,
   points == ledger sum per member, approval steps consistent with order status, an audit row per write.
Exit code 0 when every check holds; the report is printed (and returned by run_scenario for the test).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    NLU_MODEL_PATH,
    PG_ADMIN_URL,
    REPO,
    Tencent,
    free_port,
    load_average,
    machine_line,
    new_aes_key,
    text_message,
    throwaway_pg,
)

APP_ID, WX_TOKEN, WX_SECRET = "wxscaleout", "scaletoken", "scalesecret"
ORDER_NO = re.compile(r"SO\d{11}")
MARK = "回访事项#"


@dataclass
class Node:
    port: int
    process: subprocess.Popen[str]
    log: Path
    alive: bool = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/wechat"


@dataclass
class Stats:
    sent: int = 0
    retries_sent: int = 0  # deliberate Tencent-style retries (same MsgId, other process)
    failovers: int = 0  # requests the killed process dropped, retried on the survivor
    answers: dict[str, list[str | None]] = field(default_factory=dict)  # MsgId -> every passive answer
    latencies: list[float] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Load:
    """Sends callbacks to the live nodes; a dropped request goes to another node with the same MsgId."""

    def __init__(self, nodes: list[Node], tencent: Tencent, retry_every: int, rng: random.Random) -> None:
        self.nodes = nodes
        self.tencent = tencent
        self.retry_every = retry_every
        self.rng = rng
        self.stats = Stats()
        self.ids = itertools.count(7_000_000_000_000_000_000)
        self.http = httpx.Client(timeout=30)
        self.started_at = datetime.now().astimezone()

    def live(self) -> list[Node]:
        return [n for n in self.nodes if n.alive]

    def _post(self, node: Node, xml: str, msg_id: str) -> str | None:
        query, body = self.tencent.callback(xml)
        response = self.http.post(node.url, params=query, content=body, headers={"content-type": "text/xml"})
        if response.status_code != 200:  # refused or crashed: a finding, not something to retry
            with self.stats.lock:
                self.stats.http_errors.append(f"{msg_id}: HTTP {response.status_code} {response.text[:80]}")
            return None
        answer = self.tencent.open_reply(response.text)
        with self.stats.lock:
            self.stats.answers.setdefault(msg_id, []).append(answer)
        return answer

    def _deliver(self, first: Node, xml: str, msg_id: str) -> str | None:
        """Like Tencent: until some process answers, retry the same callback on another one."""
        node = first
        for _ in range(20):
            try:
                return self._post(node, xml, msg_id)
            except httpx.TransportError:  # the process is gone (killed) or the connection was cut
                with self.stats.lock:
                    self.stats.failovers += 1
                others = [n for n in self.live() if n is not node] or self.live()
                node = self.rng.choice(others)
                time.sleep(0.2)
        raise RuntimeError(f"no process answered {msg_id}")

    def say(self, user: str, text: str) -> str:
        msg_id = str(next(self.ids))
        xml = text_message(user, self.tencent.to_user, text, int(msg_id))
        live = self.live()
        node = self.rng.choice(live)
        with self.stats.lock:
            self.stats.sent += 1
            retry = self.retry_every > 0 and self.stats.sent % self.retry_every == 0
        started = time.perf_counter()
        twin: threading.Thread | None = None
        if retry and len(live) > 1:
            other = next(n for n in live if n is not node)
            with self.stats.lock:
                self.stats.retries_sent += 1
            # Tencent's retry of the same MsgId reaching the other process while the first still works.
            twin = threading.Thread(target=lambda: (time.sleep(0.05), self._deliver(other, xml, msg_id)))
            twin.start()
        answer = self._deliver(node, xml, msg_id)
        if twin is not None:
            twin.join()
        with self.stats.lock:
            self.stats.latencies.append(time.perf_counter() - started)
        return answer or ""


# --- setup ----------------------------------------------------------------------------------------


@dataclass
class Cast:
    reps: list[tuple[str, str, list[str]]]  # (openid, staff name, customer names the rep owns)
    manager: str
    clerk: str
    members: list[str]  # member numbers (some bound to WeChat)
    reminders: list[int]


def prepare(url: str, users: int, now: datetime) -> Cast:
    from sqlalchemy import select

    from crm_store import services
    from crm_store.db import transaction
    from crm_store.demo import seed_demo
    from crm_store.models import Customer, Member, Staff
    from crmbot.config import Config
    from crmbot.wiring import open_database

    runtime = open_database(Config.model_validate({"database": {"url": url}}))
    try:
        with transaction(runtime.factory) as session:
            seed_demo(session, now=now)
        with transaction(runtime.factory) as session:
            staff = {s.name: s for s in session.scalars(select(Staff))}
            owned: dict[str, list[str]] = {}
            for name in ("张伟", "李娜", "王强"):
                rows = session.scalars(select(Customer).where(Customer.owner_id == staff[name].id)
                                       .order_by(Customer.id)).all()
                names = [min([a.alias for a in c.aliases] + [c.name], key=len) for c in rows]
                owned[name] = [n for n in names if not n.startswith("华润")][:4]
            reps = []
            for k in range(max(1, users - 2)):
                name = ("张伟", "李娜", "王强")[k % 3]
                openid = f"o-rep-{k}"
                services.bind_identity(session, "wechat", openid, staff_id=staff[name].id, now=now)
                reps.append((openid, name, owned[name]))
            services.bind_identity(session, "wechat", "o-manager", staff_id=staff["陈静"].id, now=now)
            services.bind_identity(session, "wechat", "o-clerk", staff_id=staff["周芳"].id, now=now)
            members = [m.member_no for m in session.scalars(select(Member).order_by(Member.id).limit(12))]
            for number in members[:6]:
                member = session.scalar(select(Member).where(Member.member_no == number))
                assert member is not None
                services.bind_identity(session, "wechat", f"o-{number}", member_id=member.id, now=now)
        return Cast(reps, "o-manager", "o-clerk", members, [])
    finally:
        runtime.engine.dispose()


def add_reminders(url: str, count: int, spread: float) -> list[int]:
    """Reminders for the reps falling due one after another from 1 s to `spread` s from now (the load's span,
    so some fall due after the kill and are sent by the process that takes over as leader)."""
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from crm_store import services
    from crm_store.db import make_engine, session_factory, transaction
    from crm_store.models import Staff

    engine = make_engine(url)
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    ids = []
    try:
        with transaction(session_factory(engine)) as session:
            staff = {s.name: s for s in session.scalars(select(Staff))}
            for i in range(count):
                actor = services.actor_for_staff(session, staff[("张伟", "李娜", "王强")[i % 3]].id, "console", None)
                due = now + timedelta(seconds=1 + spread * i / max(1, count))
                row = services.create_reminder(session, actor, due_at=due, text=f"{MARK}{i:03d} 给客户回电话",
                                               now=now)
                ids.append(row.id)
    finally:
        engine.dispose()
    return ids


def write_config(path: Path, url: str, port: int, api: str, aes: str, model: str) -> Path:
    config = {
        "database": {"url": url},
        "nlu": {"model_path": model},
        "server": {"host": "127.0.0.1", "port": port, "token_cache_url": ""},
        "channels": {"wechat": {"enabled": True, "app_id": APP_ID, "secret": WX_SECRET, "token": WX_TOKEN,
                                "encoding_aes_key": aes, "api_base_url": f"{api}/cgi-bin/"}},
        "scheduler": {"enabled": True, "quiet_start": "00:00", "quiet_end": "00:00",
                      "reminder_scan_seconds": 1, "leader_retry_seconds": 0.5, "poll_seconds": 0.3,
                      "claim_timeout_seconds": 10, "retry_base_seconds": 1, "default_rate_per_second": 200},
        # The killed process's unfinished messages are taken over after this (the default is 60 s).
        "inbox": {"claim_timeout_seconds": 8, "poll_seconds": 0.5, "retry_base_seconds": 1},
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def start_node(workdir: Path, url: str, api: str, aes: str, model: str) -> Node:
    from bench.e2e_bench import server_environ

    port = free_port()
    config = write_config(workdir / f"crmbot-{port}.yml", url, port, api, aes, model)
    log = workdir / f"crmbot-{port}.log"
    env = {**server_environ(), "CRMBOT_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "crmbot.cli", "run"], cwd=REPO, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, text=True)
    return Node(port, process, log)


def wait_healthy(nodes: list[Node], timeout: float = 180) -> None:
    """Every node ready: /healthz green, the NLU loaded (webhooks answer earlier; those messages would wait)."""
    from bench.e2e_bench import wait_ready

    for node in nodes:
        wait_ready(f"http://127.0.0.1:{node.port}", node.process, node.log, timeout)


def leader_pid(url: str) -> int | None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT pid FROM scheduler_node WHERE is_leader ORDER BY heartbeat_at DESC"
                                     " LIMIT 1")).scalar()
    finally:
        engine.dispose()


# --- the conversations ----------------------------------------------------------------------------


def rep_script(load: Load, openid: str, customers: list[str], rounds: int, orders: list[str],
               rng: random.Random) -> None:
    for r in range(rounds):
        customer = customers[r % len(customers)]
        load.say(openid, f"今天下午拜访了{customer}，聊了新项目，预计下周三报价")
        load.say(openid, "确认")
        load.say(openid, rng.choice([f"{customer}的电话是多少", "今天该联系谁", f"{customer}最近怎么样了"]))
        load.say(openid, f"给{customer}下单 服务器2台")
        found = ORDER_NO.findall(load.say(openid, "确认"))
        orders.extend(found[:1])


def manager_script(load: Load, openid: str, orders: list[str], producers: list[threading.Thread]) -> None:
    decided: set[str] = set()
    n = 0
    while True:
        pending = [o for o in list(orders) if o not in decided]
        if not pending:
            if not any(t.is_alive() for t in producers):
                if not [o for o in list(orders) if o not in decided]:
                    return
            time.sleep(0.2)
            continue
        for number in pending:
            decided.add(number)
            n += 1
            load.say(openid, f"同意 {number}" if n % 3 else f"驳回 {number} 价格太低")
        if n % 4 == 0:
            load.say(openid, "待审批")


def clerk_script(load: Load, openid: str, members: list[str], rounds: int, rng: random.Random) -> None:
    for r in range(rounds * 2):
        number = members[r % len(members)]
        load.say(openid, f"会员{number}消费了{rng.randint(50, 3000)}元")
        load.say(openid, "确认")
        if r % 3 == 2:
            load.say(openid, "积分抵扣 100")
            load.say(openid, "确认")


# --- checks ---------------------------------------------------------------------------------------


def wait_settled(url: str, reminder_ids: list[int], timeout: float) -> dict[str, int]:
    """Until every scenario reminder is sent, every inbox row is processed (or given up), and no outbox row
    is pending or being sent."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                open_reminders = conn.execute(
                    text("SELECT count(*) FROM reminder WHERE status = 'pending' AND id = ANY(:ids)"),
                    {"ids": reminder_ids}).scalar() or 0
                busy = conn.execute(text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
                                         " AND due_at <= now()")).scalar() or 0
                unfinished = conn.execute(text("SELECT count(*) FROM inbox WHERE status IN ('pending', 'processing')"
                                               )).scalar() or 0
            if (open_reminders == 0 and busy == 0 and unfinished == 0) or time.monotonic() > deadline:
                return {"reminders_pending": int(open_reminders), "outbox_busy": int(busy),
                        "inbox_unfinished": int(unfinished)}
            time.sleep(0.5)
    finally:
        engine.dispose()


def reminders_sent_after(url: str, reminder_ids: list[int], moment: datetime) -> int:
    """How many scenario reminders the surviving process delivered (sent after the kill)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            keys = [f"reminder:{i}" for i in reminder_ids]
            return int(conn.execute(text("SELECT count(*) FROM outbox WHERE idempotency_key = ANY(:k) "
                                         "AND sent_at >= :at"), {"k": keys, "at": moment}).scalar() or 0)
    finally:
        engine.dispose()


def check(url: str, load: Load, pushes: list[dict[str, Any]], cast: Cast) -> dict[str, Any]:
    from sqlalchemy import func, select

    from bot.channels._tencent import WECHAT_LIMIT_BYTES
    from bot.render import as_plain_text, split_text, utf8_len
    from crm_store.db import make_engine, session_factory
    from crm_store.models import (
        ApprovalStep,
        AuditLog,
        InboxMessage,
        Member,
        Order,
        OutboxMessage,
        PointsLedger,
        Purchase,
        Reminder,
        Visit,
    )
    from dialogs.reply import Reply
    from scheduler.notifier import reply_for

    engine = make_engine(url)
    problems: list[str] = [f"non-200 answer: {e}" for e in load.stats.http_errors[:10]]
    figures: dict[str, Any] = {}
    try:
        with session_factory(engine)() as session:
            # 1. Every MsgId one inbox row, processed; every passive answer to it (first, retry, failover) the
            #    same as its stored replies; answered only `success`: its replies are pushed from the outbox.
            rows = session.scalars(select(InboxMessage).where(InboxMessage.channel == "wechat")).all()
            inbox = {row.message_key: row for row in rows}
            sent_ids = set(load.stats.answers)
            figures["messages"] = len(sent_ids)
            figures["processed_rows"] = sum(row.status == "done" for row in rows)
            figures["inbox"] = dict(Counter(row.status for row in rows))
            if set(inbox) != sent_ids:
                problems.append(f"inbox keys differ from MsgIds sent: missing {sorted(sent_ids - set(inbox))[:5]}, "
                                f"extra {sorted(set(inbox) - sent_ids)[:5]}")
            undone = [key for key, row in inbox.items() if row.status != "done"]
            if undone:
                problems.append(f"inbox rows not processed: {[(k, inbox[k].status) for k in undone[:5]]}")
            outbox_rows = session.scalars(select(OutboxMessage)).all()
            pushed_replies = Counter(r.idempotency_key.split(":")[2] for r in outbox_rows
                                     if r.kind == "reply" and r.idempotency_key.startswith("reply:wechat:"))
            for msg_id, answers in load.stats.answers.items():
                row = inbox.get(msg_id)
                stored = [Reply.from_dict(r) for r in (row.replies or {}).get("replies", [])] if row else []
                own = "\n\n".join(as_plain_text(r) for r in stored)  # one passive reply carries them all
                for answer in answers:
                    if answer is not None and answer != own:
                        problems.append(f"{msg_id}: answer {answer[:40]!r} differs from the stored {own[:40]!r}")
                if all(a is None for a in answers) and stored and not pushed_replies.get(msg_id):
                    problems.append(f"{msg_id}: answered `success` but its reply was never queued for a push")
            figures["answered_by_push"] = sum(all(a is None for a in v) for v in load.stats.answers.values())
            # A copy answered passively while another copy's window ran out and the reply was pushed as well:
            # Tencent retries only after dropping the first connection, so the user sees one (the twins here
            # are deliberately concurrent); counted, not a problem.
            figures["answered_passively_and_pushed"] = sum(
                any(a is not None for a in v) and bool(pushed_replies.get(k)) for k, v in load.stats.answers.items())
            # 2. Pushes through the fake API == sent outbox rows: none twice, none missing.
            keys_outbox = Counter(r.idempotency_key for r in outbox_rows)
            if max(keys_outbox.values(), default=1) > 1:
                problems.append("duplicate outbox idempotency keys")
            texts = [as_plain_text(reply_for(r)[0]) for r in outbox_rows
                     if r.status == "sent" and r.channel == "wechat"]
            # The channel splits a long text into pushes of at most WECHAT_LIMIT_BYTES (bot.channels._tencent).
            expected = Counter(part for t in texts if t for part in split_text(t, WECHAT_LIMIT_BYTES, measure=utf8_len))
            seen = Counter(p["text"]["content"] for p in pushes)
            figures["pushes"] = sum(seen.values())
            # "dead": care messages for members with no chat binding (only some members are bound).
            figures["outbox"] = dict(Counter(r.status for r in outbox_rows))
            # A row claimed more than once was in a killed process's hands: it may have reached the API before the
            # kill and is sent again by the process that takes it over (at-least-once delivery; WeChat's push API
            # has no idempotency key). Those copies are counted, not problems; any other extra copy is.
            retaken = Counter(part for r in outbox_rows if r.status == "sent" and r.channel == "wechat"
                              and r.attempts > 1 for part in split_text(as_plain_text(reply_for(r)[0]) or "",
                                                                        WECHAT_LIMIT_BYTES, measure=utf8_len) if part)
            figures["pushed_again_after_a_kill"] = sum(
                min(v - expected.get(k, 0), retaken.get(k, 0)) for k, v in seen.items() if v > expected.get(k, 0))
            twice = {k: v for k, v in seen.items() if v > expected.get(k, 0) + retaken.get(k, 0)}
            missing = {k: v for k, v in expected.items() if seen.get(k, 0) < v}
            if twice:
                problems.append(f"{len(twice)} push(es) sent more often than queued, e.g. {next(iter(twice))[:60]!r}")
            if missing:
                problems.append(f"{len(missing)} queued message(s) never pushed, e.g. {next(iter(missing))[:60]!r}")
            from crm_store import messages as SM

            dead = [r.idempotency_key for r in outbox_rows if r.status == "dead" and r.last_error != SM.OUTBOX_NO_CHANNEL]
            if dead:
                problems.append(f"outbox rows given up for another reason than 'no chat binding': {dead[:5]}")
            busy = [r.idempotency_key for r in outbox_rows if r.status in ("pending", "sending")]
            if busy:
                problems.append(f"outbox rows still undelivered: {busy[:5]}")
            # 3. Every scenario reminder sent, and pushed exactly once.
            from dialogs import messages as DM

            followup_list = re.compile("^" + re.escape(DM.FOLLOWUPS_HEADER).replace(r"\{day\}", ".+?"))
            for reminder in session.scalars(select(Reminder).where(Reminder.id.in_(cast.reminders))):
                marker = reminder.text.split()[0]
                # The reminder's own push (or the catch-up summary); a pushed answer to "今天要跟进谁" lists it
                # too, and is no resend.
                count = sum(v for k, v in seen.items() if marker in k and not followup_list.search(k))
                if reminder.status != "sent" or count != 1:
                    problems.append(f"reminder {marker}: status {reminder.status}, pushed {count} time(s)")
            figures["reminders"] = len(cast.reminders)
            # 4. Points: balance == ledger sum for every member.
            ledger = dict(session.execute(select(PointsLedger.member_id, func.sum(PointsLedger.delta))
                                          .group_by(PointsLedger.member_id)).all())
            for member in session.scalars(select(Member)):
                if member.points != int(ledger.get(member.id) or 0):
                    problems.append(f"member {member.member_no}: points {member.points} != ledger "
                                    f"{ledger.get(member.id)}")
            # 5. Approval steps consistent with the order status.
            statuses: Counter[str] = Counter()
            for order in session.scalars(select(Order)):
                steps = [s.status for s in order.steps]
                statuses[order.status] += 1
                if not _consistent(order.status, steps):
                    problems.append(f"order {order.number}: status {order.status} with steps {steps}")
            figures["orders"] = dict(statuses)
            # 6. An audit row per write made during the run (demo rows carry none: seeded directly).
            audited = set(session.execute(select(AuditLog.entity_type, AuditLog.entity_id)).all())
            audited = {(t, i) for t, i in audited}
            actions = Counter(session.scalars(select(AuditLog.action)))
            figures["audit_actions"] = {k: v for k, v in sorted(actions.items())}
            for visit in session.scalars(select(Visit).where(Visit.created_at >= load.started_at)):
                if ("visit", visit.id) not in audited:
                    problems.append(f"visit {visit.id} without an audit row")
            for order in session.scalars(select(Order).where(Order.created_at >= load.started_at)):
                if ("order", order.id) not in audited:
                    problems.append(f"order {order.number} without an audit row")
            for purchase in session.scalars(select(Purchase).where(Purchase.purchased_at >= load.started_at)):
                if ("purchase", purchase.id) not in audited:
                    problems.append(f"purchase {purchase.id} without an audit row")
            for step in session.scalars(select(ApprovalStep).where(ApprovalStep.via_message.is_not(None))):
                if ("approval_step", step.id) not in audited:
                    problems.append(f"approval step {step.id} decided without an audit row")
            from dialogs import messages as DM

            followup_list = re.compile("^" + re.escape(DM.FOLLOWUPS_HEADER).replace(r"\{day\}", ".+?"))
            for reminder in session.scalars(select(Reminder).where(Reminder.id.in_(cast.reminders))):
                if ("reminder", reminder.id) not in audited:
                    problems.append(f"reminder {reminder.id} without an audit row")
            dup_audit = session.execute(
                select(AuditLog.action, AuditLog.entity_type, AuditLog.entity_id, func.count())
                .where(AuditLog.via_message.is_not(None))
                .group_by(AuditLog.action, AuditLog.entity_type, AuditLog.entity_id, AuditLog.via_message)
                .having(func.count() > 1)).all()
            if dup_audit:
                problems.append(f"one message wrote the same thing twice: {dup_audit[:3]}")
    finally:
        engine.dispose()
    return {"problems": problems, **figures}


def _consistent(status: str, steps: list[str]) -> bool:
    if status == "approved":
        return bool(steps) and all(s == "approved" for s in steps)
    if status == "rejected":
        if steps.count("rejected") != 1:
            return False
        at = steps.index("rejected")
        return all(s == "approved" for s in steps[:at]) and all(s == "skipped" for s in steps[at + 1:])
    if status == "pending":
        if steps.count("pending") != 1:
            return False
        at = steps.index("pending")
        return all(s == "approved" for s in steps[:at]) and all(s == "waiting" for s in steps[at + 1:])
    return all(s in ("waiting", "skipped") for s in steps)  # draft / cancelled: nothing decided


# --- the scenario ---------------------------------------------------------------------------------


def run_scenario(*, users: int = 12, rounds: int = 3, reminders: int = 20, seed: int = 1,
                 kill: bool = True, model_path: str = NLU_MODEL_PATH, workdir: Path | None = None,
                 settle_timeout: float = 90, admin_url: str = PG_ADMIN_URL) -> dict[str, Any]:
    import tempfile
    from zoneinfo import ZoneInfo

    from bot.fakes import FakeAPI, ServerThread
    from crmbot.config import NLUSettings
    from nlu import load_parser

    rng = random.Random(seed)
    # The killed process drops requests to the fake API mid-body; that is the point, not an error to print.
    logging.getLogger("uvicorn.error").addFilter(
        lambda r: not (r.exc_info and type(r.exc_info[1]).__name__ == "ClientDisconnect"))
    load_parser(NLUSettings(model_path=model_path), ZoneInfo("Asia/Shanghai"))  # train once, nodes load it
    workdir = workdir or Path(tempfile.mkdtemp(prefix="crmbot-scale-"))
    aes = new_aes_key()
    api = FakeAPI()
    report: dict[str, Any] = {"machine": machine_line(admin_url)}
    with throwaway_pg("crmbot_scale", admin_url) as url, ServerThread(api.app) as fake:
        now = datetime.now(ZoneInfo("Asia/Shanghai"))
        cast = prepare(url, users, now)
        nodes = [start_node(workdir, url, fake.url, aes, model_path) for _ in range(2)]
        try:
            wait_healthy(nodes)
            cast.reminders = add_reminders(url, reminders, spread=max(8.0, users * rounds * 0.25))
            load = Load(nodes, Tencent(WX_TOKEN, aes, APP_ID), retry_every=5, rng=rng)
            orders: list[str] = []
            started = time.perf_counter()
            reps = [threading.Thread(target=rep_script, args=(load, openid, customers, rounds, orders,
                                                                random.Random(seed + i)))
                    for i, (openid, _, customers) in enumerate(cast.reps)]
            clerk = threading.Thread(target=clerk_script, args=(load, cast.clerk, cast.members, rounds,
                                                                 random.Random(seed)))
            manager = threading.Thread(target=manager_script, args=(load, cast.manager, orders, reps))
            for thread in [*reps, clerk, manager]:
                thread.start()
            total_expected = len(cast.reps) * rounds * 5 + rounds * 2 * 2
            killed = None
            while kill and killed is None and any(t.is_alive() for t in reps):
                if load.stats.sent >= total_expected // 2:
                    pid = leader_pid(url)
                    victim = next((n for n in nodes if n.process.pid == pid), nodes[0])
                    victim.alive = False
                    victim.process.send_signal(signal.SIGKILL)
                    victim.process.wait()
                    killed = {"port": victim.port, "was_leader": victim.process.pid == pid,
                              "after_messages": load.stats.sent, "at": datetime.now().astimezone()}
                time.sleep(0.05)
            for thread in [*reps, clerk, manager]:
                thread.join()
            elapsed = time.perf_counter() - started
            settled = wait_settled(url, cast.reminders, settle_timeout)
            time.sleep(1.0)  # a push in flight lands in the fake's log
            pushes = [c.params for c in api.named("/message/custom/send")]
            report.update(check(url, load, pushes, cast))
            if killed is not None:
                report["reminders_sent_after_kill"] = reminders_sent_after(url, cast.reminders, killed.pop("at"))
            lat = sorted(load.stats.latencies)
            report.update({
                "killed": killed, "settled": settled, "orders_seen_in_replies": len(orders),
                "retries_sent": load.stats.retries_sent, "failovers": load.stats.failovers,
                "seconds": round(elapsed, 1), "messages_per_second": round(load.stats.sent / elapsed, 1),
                "p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else 0,
                "p99_ms": round(lat[max(0, int(len(lat) * 0.99) - 1)] * 1000, 1) if lat else 0,
                "load_average_after": load_average(),
            })
        finally:
            for node in nodes:
                if node.process.poll() is None:
                    node.process.send_signal(signal.SIGTERM)
            for node in nodes:
                try:
                    node.process.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    node.process.kill()
        report["logs"] = [str(n.log) for n in nodes]
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=12, help="WeChat users (reps + manager + clerk)")
    ap.add_argument("--rounds", type=int, default=3, help="conversation rounds per rep")
    ap.add_argument("--reminders", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-kill", action="store_true")
    args = ap.parse_args()
    report = run_scenario(users=args.users, rounds=args.rounds, reminders=args.reminders, seed=args.seed,
                          kill=not args.no_kill)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    print("scale-out: OK" if not report["problems"] else f"scale-out: {len(report['problems'])} problem(s)")
    sys.exit(1 if report["problems"] else 0)


if __name__ == "__main__":
    main()
