"""What every chat platform is: one class with its settings, its HTTP routes, start/stop and send.

A platform module (bot/channels/<name>.py) defines a ChannelSettings subclass and a Channel subclass
decorated with @register; its fake for tests and benchmarks lives in bot/fakes/<name>.py. Nothing else
needs to change to add one: the app config, `crmbot run`, the HTTP app and the outbox find it here.

Inbound messages never go straight to the dialogs: a channel hands each verified message to the
Intake (bot/intake.py), which commits it to the inbox before the platform gets its answer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from crm_store.rules import Section
from dialogs.reply import Reply

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from bot.intake import Intake


class DeliveryError(Exception):
    """The message was not delivered; safe to retry later (the outbox does)."""


class ChannelSettings(Section):
    """A platform's section under `channels:` in config.yml. Ids stay strings even when written as digits
    (CRMBOT_CHANNELS__WECOM__AGENT_ID=1000002); secrets are typed `crm_store.rules.Secret`, which keeps
    them out of every log line and printout."""

    enabled: bool = False
    # Access tokens fetched from the platform replace each other: several processes should share them.
    fetches_access_tokens: ClassVar[bool] = False

    def problems(self, name: str) -> list[str]:
        """What an enabled channel cannot start without, bilingual and naming the key."""
        return []

    def single_receiver(self) -> bool:
        """Only one process at a time may receive (long polling): `crmbot run --workers N` refuses it."""
        return False


@dataclass(frozen=True)
class Inbound:
    """A verified message from a platform, in the platform's own terms."""

    channel: str
    external_id: str  # who wrote: Telegram user id, OpenID, WeCom UserID
    message_key: str  # the platform's id for this message: the same on every retry
    text: str
    payload: dict[str, Any] = field(default_factory=dict)  # what the channel needs to answer later


@dataclass(frozen=True)
class Outgoing:
    """One message for the outbox: a reply, and how this channel should deliver it."""

    reply: Reply
    options: dict[str, Any] = field(default_factory=dict)  # e.g. Telegram: edit this message instead


class Channel(ABC):
    name: ClassVar[str]
    settings_model: ClassVar[type[ChannelSettings]]
    # How long the platform waits for an HTTP answer that can carry the reply (0: replies are pushed).
    passive_window_seconds: float = 0.0
    # Messages per second the platform takes from one bot, unless scheduler.rate_per_second says otherwise.
    rate_per_second: ClassVar[float | None] = None

    def __init__(self, settings: ChannelSettings, intake: Intake | None, *, max_body_bytes: int = 65536,
                 token_cache_url: str = "") -> None:
        self.settings = settings
        self.intake = intake
        self.max_body_bytes = max_body_bytes
        self.token_cache_url = token_cache_url  # access tokens shared by all processes (Redis); "" = memory

    @abstractmethod
    def routes(self) -> list[BaseRoute]:
        """The HTTP routes this platform calls (webhooks), mounted by bot.http.build_app."""

    async def start(self) -> None:  # noqa: B027 - most platforms need no connection of their own
        """Connect to the platform (register a webhook, start polling). May fail: the others go on."""

    async def stop(self) -> None:  # noqa: B027
        """Undo start; called at shutdown even when start failed."""

    @abstractmethod
    def send(self, external_id: str, reply: Reply, options: dict[str, Any] | None = None) -> None:
        """Deliver one message now (blocking; called from the outbox's threads). Raise DeliveryError."""

    def outgoing(self, payload: dict[str, Any], replies: list[Reply]) -> list[Outgoing]:
        """The outbox messages that answer an inbound message whose reply is pushed."""
        return [Outgoing(reply) for reply in replies]
