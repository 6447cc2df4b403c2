"""Load and validate config.yml; every setting can be overridden by an environment variable.

`CRMBOT_DATABASE_URL=...` overrides `database.url`; nested keys are joined with `_` (or `__`),
e.g. `CRMBOT_NLU_THRESHOLD=0.5`, `CRMBOT_CHANNELS__TELEGRAM__TOKEN=...`. Values are read as YAML
scalars, so `true`, `5` and `0.5` get their types.
"""

from __future__ import annotations

import os
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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
    pipeline: list[str] = Field(
        default_factory=lambda: [
            "JiebaTokenizer",
            "IntentClassifier",
            "RuleEntityExtractor",
            "GazetteerEntityExtractor",
            "CRFEntityExtractor",
            "TimeNormalizer",
            "AmountNormalizer",
        ]
    )


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


class ReminderRules(Section):
    default_followup_hour: int = Field(9, ge=0, le=23)
    dormant_after_days: int = Field(30, ge=1)
    member_expiry_days_before: list[int] = Field(default_factory=lambda: [30, 7, 1])


class Rules(Section):
    approvals: ApprovalRules = Field(default_factory=ApprovalRules)
    points: PointsRules = Field(default_factory=PointsRules)
    reminders: ReminderRules = Field(default_factory=ReminderRules)


class TelegramSettings(Section):
    enabled: bool = False
    token: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    base_url: str = "https://api.telegram.org/bot"


class WeChatSettings(Section):
    enabled: bool = False
    app_id: str = ""
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""


class WeComSettings(Section):
    enabled: bool = False
    corp_id: str = ""
    agent_id: str = ""
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""


class Channels(Section):
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    wechat: WeChatSettings = Field(default_factory=WeChatSettings)
    wecom: WeComSettings = Field(default_factory=WeComSettings)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)


class SchedulerSettings(Section):
    enabled: bool = True
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    max_attempts: int = Field(5, ge=1)
    missed_grace_minutes: int = Field(120, ge=0)


class Config(Section):
    timezone: str = "Asia/Shanghai"
    data_dir: str = "var"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
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
