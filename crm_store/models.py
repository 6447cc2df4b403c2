"""The CRM schema: SQLAlchemy 2.x typed models. Only crm_store services write these rows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from crm_store.types import UTCDateTime

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("rep", "manager", "director", "clerk", "admin", "member")
LIFECYCLE = ("target", "prospect", "opportunity", "customer", "dormant", "lost")
STAGES = ("initial", "qualified", "proposal", "negotiation", "won", "lost")
STAGE_PROBABILITY = {"initial": 10, "qualified": 30, "proposal": 50, "negotiation": 70, "won": 100, "lost": 0}
ORDER_STATUSES = ("draft", "pending", "approved", "rejected", "cancelled")
# Chat channels are plug-ins (bot/channels); the store only checks that a channel name is well formed.
CHANNEL_NAME = re.compile(r"[a-z][a-z0-9_]{1,19}")


def valid_channel(name: str) -> bool:
    return bool(CHANNEL_NAME.fullmatch(name))
# A reminder stays on the rep's list until a visit closes it; "sent" only means the scheduler reminded them.
OPEN_REMINDER_STATUSES = ("pending", "sent")

Money = Numeric(14, 2)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), Decimal: Money}


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    team: Mapped[str | None] = mapped_column(String(50))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    store: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    skip_confirm: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    manager: Mapped[Staff | None] = relationship(remote_side=[id])


class ChatIdentity(Base):
    """A chat account (channel + the platform's user id) bound to a staff member or a member."""

    __tablename__ = "chat_identity"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_chat_identity_channel_external"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    bound_at: Mapped[datetime] = mapped_column(default=utcnow)

    staff: Mapped[Staff | None] = relationship()
    member: Mapped[Member | None] = relationship()


class BindingCode(Base):
    """One-time code an admin creates so a staff member can bind a chat account."""

    __tablename__ = "binding_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    industry: Mapped[str | None] = mapped_column(String(50))
    region: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(String(200))
    lifecycle: Mapped[str] = mapped_column(String(20), default="target")
    owner_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    last_contact_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[Staff] = relationship()
    aliases: Mapped[list[CustomerAlias]] = relationship(cascade="all, delete-orphan", back_populates="customer")
    contacts: Mapped[list[Contact]] = relationship(back_populates="customer")
    shares: Mapped[list[CustomerShare]] = relationship(cascade="all, delete-orphan")


class CustomerAlias(Base):
    """Other names people use for a customer (华为 for 华为技术有限公司)."""

    __tablename__ = "customer_alias"
    __table_args__ = (UniqueConstraint("customer_id", "alias", name="uq_customer_alias_customer_alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(100), index=True)

    customer: Mapped[Customer] = relationship(back_populates="aliases")


class CustomerShare(Base):
    __tablename__ = "customer_share"
    __table_args__ = (UniqueConstraint("customer_id", "staff_id", name="uq_customer_share_customer_staff"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)


class Contact(Base):
    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    title: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class Visit(Base):
    __tablename__ = "visit"
    __table_args__ = (Index("ix_visit_customer_time", "customer_id", "visited_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    visited_at: Mapped[datetime]
    summary: Mapped[str] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    next_followup_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # How the report came in: NULL typed, 'voice' the platform's speech recognition of a voice message (语音).
    source: Mapped[str | None] = mapped_column(String(10))

    customer: Mapped[Customer] = relationship()
    contact: Mapped[Contact | None] = relationship()
    staff: Mapped[Staff] = relationship()


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    sku: Mapped[str | None] = mapped_column(String(50))
    unit: Mapped[str] = mapped_column(String(10), default="个")
    unit_price: Mapped[Decimal | None]
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Opportunity(Base):
    __tablename__ = "opportunity"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    amount: Mapped[Decimal | None]
    stage: Mapped[str] = mapped_column(String(20), default="initial")
    probability: Mapped[int] = mapped_column(Integer, default=10)
    expected_close: Mapped[date | None] = mapped_column(Date)
    owner_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
    product: Mapped[Product | None] = relationship()
    owner: Mapped[Staff] = relationship()
    history: Mapped[list[OpportunityStageChange]] = relationship(
        back_populates="opportunity", order_by="OpportunityStageChange.id"
    )


class OpportunityStageChange(Base):
    __tablename__ = "opportunity_stage_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal | None]
    probability: Mapped[int | None]
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    opportunity: Mapped[Opportunity] = relationship(back_populates="history")


class Order(Base):
    __tablename__ = "sales_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    submitter_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    total: Mapped[Decimal] = mapped_column(default=Decimal(0))
    discount: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(20), default="draft")
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
    submitter: Mapped[Staff] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(cascade="all, delete-orphan", order_by="OrderLine.id")
    steps: Mapped[list[ApprovalStep]] = relationship(order_by="ApprovalStep.step_no", back_populates="order")


class OrderLine(Base):
    __tablename__ = "order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    product_name: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal]
    amount: Mapped[Decimal]
    # The unit price the rep quoted, before a discount (None: the list price, or a line total was given);
    # the approver sees list, quoted and discounted prices as the rep did.
    quoted_price: Mapped[Decimal | None]


class OrderSequence(Base):
    """Per-day counter behind readable order numbers (SO20261127001); see orders.next_order_number."""

    __tablename__ = "order_sequence"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class ApprovalStep(Base):
    __tablename__ = "approval_step"
    __table_args__ = (UniqueConstraint("order_id", "step_no", name="uq_approval_step_order_step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    step_no: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    # waiting (earlier step not done) / pending / approved / rejected / skipped
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    via_message: Mapped[str | None] = mapped_column(String(128))
    pending_since: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship(back_populates="steps")
    approver: Mapped[Staff | None] = relationship(foreign_keys=[approver_id])


class Member(Base):
    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_no: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    tier: Mapped[str] = mapped_column(String(20), default="普通")
    points: Mapped[int] = mapped_column(Integer, default=0)
    total_spent: Mapped[Decimal] = mapped_column(default=Decimal(0))
    joined_at: Mapped[date] = mapped_column(Date)
    expires_at: Mapped[date | None] = mapped_column(Date, index=True)
    birthday: Mapped[date | None] = mapped_column(Date)
    store: Mapped[str | None] = mapped_column(String(50))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Purchase(Base):
    __tablename__ = "purchase"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    store: Mapped[str | None] = mapped_column(String(50))
    amount: Mapped[Decimal]
    points_earned: Mapped[int] = mapped_column(Integer, default=0)
    purchased_at: Mapped[datetime]


class PointsLedger(Base):
    """Every points change; the member's balance is the sum of delta over their rows."""

    __tablename__ = "points_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))  # earn / redeem / expire / adjust
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchase.id"))
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reminder(Base):
    __tablename__ = "reminder"
    __table_args__ = (Index("ix_reminder_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    due_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending / sent / done / cancelled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer | None] = relationship()
    contact: Mapped[Contact | None] = relationship()


class OutboxMessage(Base):
    """Every outgoing message is a row first; the notifier delivers it once."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_topic", "topic"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    recipient_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    recipient_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    # Set at enqueue for a reply to the chat account that wrote (it may be bound to nobody yet);
    # otherwise the channel the staff/member recipient was reached on, recorded when sent.
    channel: Mapped[str | None] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    attachment_path: Mapped[str | None] = mapped_column(String(300))
    payload: Mapped[dict[str, Any] | None]
    due_at: Mapped[datetime]
    # pending/sending/sent/dead/skipped; waiting: a staff recipient with no chat account yet (sent when they
    # bind); withdrawn: what it announced was undone before it went out
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the message is about ("order:12"), so undoing that withdraws the messages not yet sent.
    topic: Mapped[str | None] = mapped_column(String(60))


class AuditLog(Base):
    """Append-only: who changed what, before and after, when, through which message."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    action: Mapped[str] = mapped_column(String(50))
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    via_channel: Mapped[str | None] = mapped_column(String(20))
    via_message: Mapped[str | None] = mapped_column(String(128))


class ConversationState(Base):
    """The dialog state per chat identity, so a restart in the middle of a form loses nothing."""

    __tablename__ = "conversation_state"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_conversation_state_channel_external"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProcessedMessage(Base):
    """Inbound message ids already handled (WeChat retries, double submits): processed once."""

    __tablename__ = "processed_message"
    __table_args__ = (UniqueConstraint("channel", "message_key", name="uq_processed_message_channel_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    message_key: Mapped[str] = mapped_column(String(200))
    reply: Mapped[dict[str, Any] | None]
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


INBOX_UNFINISHED_SQL = "status IN ('pending', 'processing')"


class InboxMessage(Base):
    """A verified inbound chat message, committed before the platform gets its answer (durable intake).

    Keyed by the platform's own message id, so a retry or a second copy is the same row. Workers claim
    rows atomically and process each once (the `done` update is part of the dialog's transaction).
    `delivery` says how the reply travels: NULL = passively, in the HTTP answer that is waiting for it;
    `push` = through the outbox (Telegram always; WeChat/WeCom when the passive window ran out).
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "message_key", name="uq_inbox_channel_message_key"),
        Index("ix_inbox_status_next_attempt", "status", "next_attempt_at"),
        # Only unfinished rows: a sender's done messages pile up for ever, and the per-message checks
        # (is this sender's earlier message still open?) must not walk them.
        Index("ix_inbox_sender_unfinished", "channel", "external_id", "id",
              postgresql_where=sql_text(INBOX_UNFINISHED_SQL), sqlite_where=sql_text(INBOX_UNFINISHED_SQL)),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    message_key: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending/processing/done/dead
    delivery: Mapped[str | None] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    replies: Mapped[dict[str, Any] | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class ButtonPayload(Base):
    """What a chat button sends back when it is longer than the platform carries (Telegram: 64 bytes):
    the button carries the key, every process (and every restart) can read the text."""

    __tablename__ = "button_payload"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SecurityEvent(Base):
    """Failed lookups, failed bindings and similar, for rate limits and review."""

    __tablename__ = "security_event"
    __table_args__ = (Index("ix_security_event_kind_subject_at", "kind", "subject", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


# --- scheduler (issue 8) ------------------------------------------------------------------------


class SchedulerNode(Base):
    """One row per running scheduler process: heartbeat and whether it holds the leader lock (for status)."""

    __tablename__ = "scheduler_node"

    node_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int] = mapped_column(Integer)
    is_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)


class APSchedulerJob(Base):
    """APScheduler's SQLAlchemyJobStore table (same columns as the store defines), declared here so the
    migrations own it: created with the schema, emptied with it, never seen as an unknown table."""

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(String(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)



# --- names feed (issue 16) ------------------------------------------------------------------------


class NameChange(Base):
    """A name the NLU gazetteer should learn (entity + name), or with name NULL: reload that entity's names.

    Written in the same transaction as the change (crm_store.services.names), read by every dialog engine
    with one indexed range query (`id > last seen`): the names' version is the highest id.
    """

    __tablename__ = "name_change"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entity: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
