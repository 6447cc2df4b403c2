"""The application config: config.yml, then CRMBOT_* environment variables, validated by one model.

Each package owns its section (crm_store.rules, nlu.settings, dialogs.settings, scheduler.settings, the
channel settings); this module composes them and is the only place that knows where the file is.

- Environment: pydantic-settings, `__` between levels: `CRMBOT_DATABASE__URL`, `CRMBOT_NLU__THRESHOLD=0.5`,
  `CRMBOT_CHANNELS__WECOM__AGENT_ID=1000002`. Lists and mappings are JSON (`CRMBOT_DIALOGS__TRUSTED_STAFF='["张伟"]'`).
  The older single-underscore spelling (`CRMBOT_DATABASE_URL`) is still understood; a CRMBOT_* name that
  matches no setting is an error that names it.
- Relative paths (data_dir, the SQLite file, the NLU model and data) are taken from the config file's folder,
  so every command finds the same company whichever folder it runs from. With the copy of config.yml
  shipped inside the installed package, they are taken from the user's data folder instead
  (`~/.local/share/crmbot`, or $XDG_DATA_HOME/crmbot).
- Secrets are `SecretStr`: they print as `**********`, and log redaction collects them by type.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from bot.settings import InboxSettings
from crm_store.rules import (  # noqa: F401  (re-exported: the roof composes every section)
    CARE_FIELDS,
    ApprovalRules,
    ApprovalStep,
    CareRules,
    PointsRules,
    Promotion,
    ReminderRules,
    Rules,
    Secret,
    Section,
    TierRule,
)
from crmbot import messages as CM
from dialogs.settings import DialogSettings
from nlu.settings import NLUSettings
from scheduler.settings import SchedulerSettings

ENV_PREFIX = "CRMBOT_"
ENV_DELIMITER = "__"
# CRMBOT_* names that are not settings: which file to read, and the test and benchmark knobs.
ENV_NOT_SETTINGS = ("CRMBOT_CONFIG",)
ENV_OTHER_PREFIXES = ("CRMBOT_TEST_", "CRMBOT_BENCH_")
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
SOURCE_CONFIG_PATH = REPO_ROOT / "config.yml"  # a source checkout
PACKAGED_CONFIG_PATH = PACKAGE_DIR / "config.yml"  # the copy inside the installed package
DEFAULT_CONFIG_PATH = SOURCE_CONFIG_PATH if (REPO_ROOT / "pyproject.toml").is_file() else PACKAGED_CONFIG_PATH


class ConfigError(Exception):
    """A config file or override that cannot be used; the message is bilingual and names the key."""


class DatabaseSettings(Section):
    url: str = "sqlite:///var/crmbot.db"
    echo: bool = False
    # PostgreSQL connections each process keeps open. A server's HTTP handler threads, inbox workers and
    # notifier use ~10 at once under load; with fewer, connections were opened and closed per message
    # (a PostgreSQL backend started each time: ~20 % more database CPU per message, issue 16).
    pool_size: int = Field(12, ge=1, le=100)

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        scheme = value.split("://", 1)[0].split("+", 1)[0] if "://" in value else ""
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(CM.DB_URL_UNSUPPORTED.format(url=value.split("@")[-1]))
        return value


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
    # Processes serving the same port (`crmbot run --workers N` overrides); more than 1 needs PostgreSQL.
    workers: int = Field(1, ge=1, le=32)


_environ: ContextVar[Mapping[str, str] | None] = ContextVar("crmbot_environ", default=None)


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source, reading the variables load_config checked. `Config()` built
    directly (tests, benchmarks) reads no environment: load_config is the one way in."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in (_environ.get() or {}).items()}


class Config(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_DELIMITER, extra="forbid", case_sensitive=False,
        coerce_numbers_to_str=True,
    )

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


    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file (passed as init values); no .env or secrets-dir magic.
        return (_Environment(settings_cls), init_settings)


def _field_model(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


_NOT_A_SETTING = object()


def _setting_annotation(model: type[BaseModel], parts: list[str]) -> Any:
    """The type of the setting `parts` (lower case) names: fields all the way, or a key inside a mapping
    setting; _NOT_A_SETTING when nothing matches."""
    field = model.model_fields.get(parts[0])
    if field is None:
        return _NOT_A_SETTING
    if len(parts) == 1:
        return field.annotation
    nested = _field_model(field.annotation)
    if nested is not None:
        return _setting_annotation(nested, parts[1:])
    if len(parts) == 2 and get_origin(field.annotation) is dict:
        return get_args(field.annotation)[1]
    return _NOT_A_SETTING


def _is_complex(annotation: Any) -> bool:
    """Lists, mappings and sections come from the environment as JSON (pydantic-settings' rule)."""
    return _field_model(annotation) is not None or get_origin(annotation) in (list, dict, set, tuple)


def _legacy_path(model: type[BaseModel], key: str) -> list[str] | None:
    """`nlu_rasa_url` -> ['nlu', 'rasa_url'] (the single-underscore spelling), longest field name first."""
    for name in sorted(model.model_fields, key=len, reverse=True):
        if key == name:
            return [name]
        nested = _field_model(model.model_fields[name].annotation)
        if nested is not None and key.startswith(name + "_"):
            rest = _legacy_path(nested, key[len(name) + 1 :])
            if rest is not None:
                return [name, *rest]
    return None


def _settings_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The CRMBOT_* variables that set something, in pydantic-settings' `__` spelling. An unknown name, or
    a list/mapping that is not JSON, raises naming the variable."""
    found = {}
    for name, value in environ.items():
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in ENV_NOT_SETTINGS or upper.startswith(ENV_OTHER_PREFIXES):
            continue
        key = upper[len(ENV_PREFIX) :].lower()
        parts = key.split(ENV_DELIMITER)
        annotation = _setting_annotation(Config, parts)
        if annotation is _NOT_A_SETTING:
            parts = _legacy_path(Config, key.replace(ENV_DELIMITER, "_")) or []
            annotation = _setting_annotation(Config, parts) if parts else _NOT_A_SETTING
        if annotation is _NOT_A_SETTING:
            raise ConfigError(CM.CONFIG_UNKNOWN_ENV.format(name=name))
        if _is_complex(annotation):
            try:
                json.loads(value)
            except ValueError as exc:
                raise ConfigError(CM.CONFIG_ENV_NOT_JSON.format(name=name, value=value)) from exc
        found[ENV_PREFIX + ENV_DELIMITER.join(parts).upper()] = value
    return found


def config_path(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The file load_config reads: `path`, else $CRMBOT_CONFIG, else config.yml of this installation."""
    environ = os.environ if environ is None else environ
    return Path(path or environ.get("CRMBOT_CONFIG") or DEFAULT_CONFIG_PATH)


def paths_base(source: Path) -> Path:
    """Relative paths are taken from the config file's folder; the packaged copy sits among the installed
    code, so its paths are taken from the user's data folder."""
    if source.resolve() == PACKAGED_CONFIG_PATH.resolve() and not (REPO_ROOT / "pyproject.toml").is_file():
        data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(data_home) / "crmbot"
    return source.resolve().parent


def _read_file(source: Path, explicit: bool) -> dict[str, Any]:
    if not source.exists():
        if explicit:
            raise ConfigError(CM.CONFIG_NOT_FOUND.format(path=source))
        return {}
    try:
        loaded = yaml.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(CM.CONFIG_NOT_YAML.format(path=source, error=exc)) from exc
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(CM.CONFIG_NOT_MAPPING.format(path=source))
    return loaded or {}


def explain_validation(exc: ValidationError) -> Iterator[str]:
    """One line per problem: the dotted key, then what is wrong in Chinese (pydantic's English after it)."""
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(顶层)"
        template = CM.PYDANTIC_ERRORS.get(err["type"])
        context = {k: (", ".join(map(str, v)) if isinstance(v, list | tuple) else v)
                   for k, v in (err.get("ctx") or {}).items()}
        if err["type"] == "value_error":
            reason = err["msg"].removeprefix("Value error, ")
        elif template is not None:
            try:
                reason = f"{template.format(**context)}（{err['msg']}）"
            except (KeyError, IndexError):
                reason = err["msg"]
        else:
            reason = err["msg"]
        yield f"{key}：{reason}"


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read config.yml (or $CRMBOT_CONFIG), apply the CRMBOT_* environment variables, validate."""
    environ = dict(os.environ if environ is None else environ)
    source = config_path(path, environ)
    # A file named explicitly (argument or $CRMBOT_CONFIG) must exist: a typo must not start an empty company.
    data = _read_file(source, explicit=path is not None or bool(environ.get("CRMBOT_CONFIG")))
    token = _environ.set(_settings_environment(environ))
    try:
        config = Config(**data)
    except ValidationError as exc:
        problems = "；".join(explain_validation(exc))
        raise ConfigError(CM.CONFIG_INVALID.format(path=source, problems=problems)) from exc
    finally:
        _environ.reset(token)
    return config.resolved(paths_base(source))
