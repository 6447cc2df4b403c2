"""Load and validate config.yml; every setting can be overridden by an environment variable.

`CRMBOT_DATABASE_URL=...` overrides `database.url`; nested keys are joined with `_` (or `__`),
e.g. `CRMBOT_NLU_THRESHOLD=0.5`, `CRMBOT_CHANNELS__TELEGRAM__TOKEN=...`. Values are read as YAML
scalars, so `true`, `5` and `0.5` get their types.
"""

from __future__ import annotations

import os
import string
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.settings import InboxSettings

ENV_PREFIX = "CRMBOT_"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = REPO_ROOT / "config.yml"


class ConfigError(Exception):
    """A config file or override that cannot be used; the message is bilingual and names the key."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(Section):
    url: str = "sqlite:///var/crmbot.db"
    echo: bool = False


class NLUSettings(Section):
    backend: Literal["local", "rasa"] = "local"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_seconds: float = 3.0
    # Below this calibrated confidence the top intent becomes out_of_scope (ranking kept).
    threshold: float = Field(0.4, ge=0.0, le=1.0)
    model_path: str = "var/nlu-model.pkl"
    data_dir: str = ""  # empty: the training data shipped in nlu/data


class DialogSettings(Section):
    confirm_writes: bool = True
    # Staff names allowed to skip the confirmation step.
    trusted_staff: list[str] = Field(default_factory=list)
    undo_minutes: int = Field(5, ge=0)
    page_size: int = Field(5, ge=1, le=20)
    # A pending form older than this is dropped when the user comes back.
    form_timeout_minutes: int = Field(30, ge=1)


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


def _channels_model() -> type[BaseModel]:
    """`channels:` has one section per platform module in bot/channels (each brings its settings model)."""
    from pydantic import create_model

    from bot.channels import settings_models

    fields: dict[str, Any] = {name: (model, Field(default_factory=model)) for name, model in settings_models().items()}
    return create_model("Channels", __base__=Section, **fields)


Channels = _channels_model()


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    # Channels (issue 7): callback bodies above this are refused (413); access tokens shared via Redis
    # (empty = in-process memory, fine for a single process).
    max_body_bytes: int = Field(65536, ge=1024)
    token_cache_url: str = "redis://127.0.0.1:6379/0"


class SchedulerSettings(Section):
    enabled: bool = True
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    max_attempts: int = Field(5, ge=1)
    missed_grace_minutes: int = Field(120, ge=0)
    # --- scheduler/outbox (issue 8) ---
    # Times of day (configured timezone) of the daily jobs; the weekly report runs on Monday.
    # Member care runs at rules.care.send_hour.
    digest_time: time = time(8, 30)
    dormant_time: time = time(9, 0)
    weekly_report_time: time = time(8, 30)
    reminder_scan_seconds: int = Field(60, ge=1)
    escalation_scan_minutes: int = Field(15, ge=1)
    # Outbox delivery: polling, batch size, back-off (base * 2^(attempt-1), capped) and stale-claim timeout.
    poll_seconds: float = Field(2.0, gt=0)
    batch_size: int = Field(50, ge=1)
    retry_base_seconds: int = Field(60, ge=1)
    retry_max_seconds: int = Field(3600, ge=1)
    claim_timeout_seconds: int = Field(300, ge=10)
    # Token bucket per channel (messages/second); channels not listed use default_rate_per_second.
    default_rate_per_second: float = Field(20.0, gt=0)
    rate_per_second: dict[str, float] = Field(default_factory=dict)
    # Followers try to become leader this often (PostgreSQL advisory lock).
    leader_retry_seconds: float = Field(5.0, gt=0)


class Config(Section):
    timezone: str = "Asia/Shanghai"
    data_dir: str = "var"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    inbox: InboxSettings = Field(default_factory=InboxSettings)
    nlu: NLUSettings = Field(default_factory=NLUSettings)
    dialogs: DialogSettings = Field(default_factory=DialogSettings)
    rules: Rules = Field(default_factory=Rules)
    channels: Channels = Field(default_factory=Channels)
    server: ServerSettings = Field(default_factory=ServerSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"未知时区 unknown timezone: {value}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def path(self, relative: str) -> Path:
        """Resolve a configured path: absolute stays, relative is taken from the repository root."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else REPO_ROOT / candidate


def _env_overrides(environ: dict[str, str]) -> list[tuple[list[str], Any]]:
    overrides = []
    for name, raw in environ.items():
        if name.startswith(ENV_PREFIX) and name != "CRMBOT_CONFIG" and not name.startswith("CRMBOT_TEST_"):
            key = name[len(ENV_PREFIX) :].lower()
            path = _resolve_key(Config, key.replace("__", "_"))
            if path is None:
                raise ConfigError(f"环境变量无法对应配置项 / environment variable matches no setting: {name}")
            overrides.append((path, yaml.safe_load(raw) if raw else raw))
    return overrides


def _resolve_key(model: type[BaseModel], key: str) -> list[str] | None:
    """Map `nlu_rasa_url` to ['nlu', 'rasa_url'] by walking the model's field names, longest first."""
    for field_name in sorted(model.model_fields, key=len, reverse=True):
        if key == field_name:
            return [field_name]
        if key.startswith(field_name + "_"):
            annotation = model.model_fields[field_name].annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                rest = _resolve_key(annotation, key[len(field_name) + 1 :])
                if rest is not None:
                    return [field_name, *rest]
    return None


def _apply(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read config.yml (or $CRMBOT_CONFIG), apply environment overrides, validate."""
    environ = dict(os.environ if environ is None else environ)
    config_path = Path(path or environ.get("CRMBOT_CONFIG") or DEFAULT_CONFIG_PATH)
    data: dict[str, Any] = {}
    if config_path.exists():
        try:
            loaded = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"配置文件不是合法的 YAML / {config_path} is not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"配置文件顶层必须是键值对 / {config_path}: top level must be a mapping")
        data = loaded or {}
    elif path is not None:
        raise ConfigError(f"找不到配置文件 / config file not found: {config_path}")
    for key_path, value in _env_overrides(environ):
        _apply(data, key_path, value)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"配置有误 / invalid configuration ({config_path}): {problems}") from exc
