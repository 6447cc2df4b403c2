"""Load and validate config.yml; every setting can be overridden by an environment variable.

`CRMBOT_DATABASE_URL=...` overrides `database.url`; nested keys are joined with `_` (or `__`),
e.g. `CRMBOT_NLU_THRESHOLD=0.5`, `CRMBOT_CHANNELS__TELEGRAM__TOKEN=...`. Values are read as YAML
scalars, so `true`, `5` and `0.5` get their types.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

# The sections each package owns; this module only composes them (and re-exports them for the roof).
from crm_store.rules import (  # noqa: F401
    CARE_FIELDS,
    ApprovalRules,
    ApprovalStep,
    CareRules,
    PointsRules,
    Promotion,
    ReminderRules,
    Rules,
    Section,
    TierRule,
)
from dialogs.settings import DialogSettings
from nlu.settings import NLUSettings
from scheduler.settings import SchedulerSettings

ENV_PREFIX = "CRMBOT_"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = REPO_ROOT / "config.yml"


class ConfigError(Exception):
    """A config file or override that cannot be used; the message is bilingual and names the key."""


class DatabaseSettings(Section):
    url: str = "sqlite:///var/crmbot.db"
    echo: bool = False


class TelegramSettings(Section):
    enabled: bool = False
    token: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    base_url: str = "https://api.telegram.org/bot"
    # Channels (issue 7): file downloads, and the timeout of one Bot API call.
    base_file_url: str = "https://api.telegram.org/file/bot"
    request_timeout_seconds: float = Field(10.0, gt=0)


class _TencentCallbackSettings(Section):
    """What WeChat Official Accounts and WeCom apps share: callback crypto, API host, timing."""

    enabled: bool = False
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    replay_window_seconds: int = Field(300, ge=1)
    # WeChat waits 5 s for a passive reply; slower answers are pushed through the API instead.
    reply_timeout_seconds: float = Field(4.0, gt=0, le=4.5)


class WeChatSettings(_TencentCallbackSettings):
    app_id: str = ""
    api_base_url: str = "https://api.weixin.qq.com/cgi-bin/"  # a local fake in tests


class WeComSettings(_TencentCallbackSettings):
    corp_id: str = ""
    agent_id: str = ""
    api_base_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"


class Channels(Section):
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    wechat: WeChatSettings = Field(default_factory=WeChatSettings)
    wecom: WeComSettings = Field(default_factory=WeComSettings)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    # Channels (issue 7): callback bodies above this are refused (413); access tokens shared via Redis
    # (empty = in-process memory, fine for a single process).
    max_body_bytes: int = Field(65536, ge=1024)
    token_cache_url: str = "redis://127.0.0.1:6379/0"


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

    @property
    def charts_dir(self) -> Path:
        return Path(self.data_dir) / "charts"

    @property
    def exports_dir(self) -> Path:
        return Path(self.data_dir) / "exports"

    def resolved(self, base: Path) -> Config:
        """A copy whose relative paths (data_dir, the model, the NLU data, a SQLite file) are taken from `base`,
        the config file's folder, so every command finds the same files whichever folder it runs from."""

        def absolute(value: str) -> str:
            return value if not value or Path(value).is_absolute() else str((base / value).resolve())

        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and url[len(prefix):] not in ("", ":memory:"):
            url = prefix + absolute(url[len(prefix):])
        return self.model_copy(update={
            "data_dir": absolute(self.data_dir),
            "database": self.database.model_copy(update={"url": url}),
            "nlu": self.nlu.model_copy(update={"model_path": absolute(self.nlu.model_path),
                                               "data_dir": absolute(self.nlu.data_dir)}),
        })


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


def config_path(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Path:
    """The file load_config reads: `path`, else $CRMBOT_CONFIG, else config.yml of the installation."""
    environ = os.environ if environ is None else environ
    return Path(path or environ.get("CRMBOT_CONFIG") or DEFAULT_CONFIG_PATH)


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read config.yml (or $CRMBOT_CONFIG), apply environment overrides, validate."""
    environ = dict(os.environ if environ is None else environ)
    source = config_path(path, environ)
    data: dict[str, Any] = {}
    if source.exists():
        try:
            loaded = yaml.safe_load(source.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"配置文件不是合法的 YAML / {source} is not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"配置文件顶层必须是键值对 / {source}: top level must be a mapping")
        data = loaded or {}
    elif path is not None:
        raise ConfigError(f"找不到配置文件 / config file not found: {source}")
    for key_path, value in _env_overrides(environ):
        _apply(data, key_path, value)
    try:
        return Config.model_validate(data).resolved(source.resolve().parent)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"配置有误 / invalid configuration ({source}): {problems}") from exc
