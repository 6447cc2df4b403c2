"""Business rules the store applies (approval routing, points, reminders, member care), as plain values.

They are part of config.yml (`rules:`), but the store takes them as arguments, so crm_store never reads the
application config: the roof (crmbot.config) composes these models and passes them down.
"""

from __future__ import annotations

import string
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)


class Section(BaseModel):
    """A config section: unknown keys are an error (a typo must not be silently ignored); a text setting
    written as digits (a WeCom AgentId 1000002 in YAML) stays text."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


def _digits_as_text(value: object) -> object:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


# A secret setting (token, app secret, AES key): never printed, collected by log redaction by its type.
Secret = Annotated[SecretStr, BeforeValidator(_digits_as_text)]


class ApprovalStep(Section):
    role: Literal["manager", "director", "admin"]
    # The step applies when the order total is above this amount (yuan).
    above: Decimal = Decimal(0)


class ApprovalRules(Section):
    steps: list[ApprovalStep] = Field(
        default_factory=lambda: [
            ApprovalStep(role="manager", above=Decimal(0)),
            ApprovalStep(role="director", above=Decimal(100000)),
        ]
    )
    # A step waiting longer than this is reminded, then escalated one level up.
    escalate_after_hours: int = Field(24, ge=1)
    discount_needs_director_below: float = Field(0.8, gt=0, le=1)


class TierRule(Section):
    name: str
    min_spent: Decimal = Decimal(0)
    points_per_yuan: float = 1.0


class Promotion(Section):
    """Points multiplier for purchases made on start..end (inclusive, local dates), optionally in some stores."""

    name: str
    start: date
    end: date
    multiplier: float = Field(2.0, gt=0)
    stores: list[str] = Field(default_factory=list)  # empty: every store

    @model_validator(mode="after")
    def _ordered(self) -> Promotion:
        if self.end < self.start:
            raise ValueError(f"促销 {self.name} 结束日期早于开始日期 / end before start")
        return self


class PointsRules(Section):
    tiers: list[TierRule] = Field(
        default_factory=lambda: [
            TierRule(name="普通", min_spent=Decimal(0), points_per_yuan=1.0),
            TierRule(name="银卡", min_spent=Decimal(5000), points_per_yuan=1.2),
            TierRule(name="金卡", min_spent=Decimal(20000), points_per_yuan=1.5),
        ]
    )
    rounding: Literal["floor", "round"] = "floor"
    # Points earned in year Y expire at the end of year Y + expire_after_years.
    expire_after_years: int = Field(1, ge=0)
    yuan_per_point_redeemed: Decimal = Decimal("0.01")
    # --- members (issue 6): promotions multiply the tier rate on the days they cover ---
    promotions: list[Promotion] = Field(default_factory=list)

    @field_validator("tiers")
    @classmethod
    def _tiers_present(cls, value: list[TierRule]) -> list[TierRule]:
        if not value:
            raise ValueError("至少要有一个会员等级 / at least one tier")
        if len({t.name for t in value}) != len(value):
            raise ValueError("会员等级名称重复 / duplicate tier names")
        return sorted(value, key=lambda t: t.min_spent)


class ReminderRules(Section):
    default_followup_hour: int = Field(9, ge=0, le=23)
    dormant_after_days: int = Field(30, ge=1)
    member_expiry_days_before: list[int] = Field(default_factory=lambda: [30, 7, 1])


# --- members (issue 6): care message templates and when the scheduler sends them ---
CARE_FIELDS = frozenset(
    {"name", "member_no", "tier", "points", "expires", "days", "amount", "earned", "used", "yuan",
     "expiring_points", "points_expire_on"}
)


def _default_care_templates() -> dict[str, str]:
    return {
        "purchase": "{name}您好，您本次消费{amount}，获得{earned}积分，当前积分{points}。感谢光临！回复「退订」不再接收通知。",
        "tier_upgrade": "恭喜您升级为{tier}会员，以后消费积分更多！",
        "redeem": "{name}您好，您已使用{used}积分抵扣{yuan}，剩余积分{points}。",
        "membership_expiry": "{name}您好，您的会员将于{expires}到期（还有{days}天），欢迎到店续期。回复「退订」不再接收通知。",
        "birthday": "{name}，祝您生日快乐！生日当月到店消费有专属礼遇。回复「退订」不再接收通知。",
        "points_expiry": "{name}您好，您有{expiring_points}积分将于{points_expire_on}到期（当前积分{points}），记得及时使用。回复「退订」不再接收通知。",
    }


class CareRules(Section):
    templates: dict[str, str] = Field(default_factory=_default_care_templates)
    send_hour: int = Field(10, ge=0, le=23)  # local hour scheduled care messages are due
    birthday: bool = True
    points_expiry_days_before: list[int] = Field(default_factory=lambda: [30, 7])
    # membership expiry days: rules.reminders.member_expiry_days_before

    @field_validator("templates")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        merged = {**_default_care_templates(), **value}
        for kind, template in merged.items():
            try:
                fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
            except ValueError as exc:
                raise ValueError(f"关怀模板 {kind} 格式有误 / bad template: {exc}") from exc
            unknown = fields - CARE_FIELDS
            if unknown:
                raise ValueError(f"关怀模板 {kind} 含未知字段 / unknown fields: {sorted(unknown)}")
        return merged


class Rules(Section):
    approvals: ApprovalRules = Field(default_factory=ApprovalRules)
    points: PointsRules = Field(default_factory=PointsRules)
    reminders: ReminderRules = Field(default_factory=ReminderRules)
    care: CareRules = Field(default_factory=CareRules)


class RulesConfig(Protocol):
    """What the layers above the store read besides their own section (the app config satisfies it)."""

    @property
    def rules(self) -> Rules: ...

    @property
    def tz(self) -> ZoneInfo: ...

    @property
    def charts_dir(self) -> Path: ...
