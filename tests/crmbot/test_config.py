import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, SecretStr

from crmbot.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config


def test_shipped_config_is_valid_and_defaults_to_embedded_sqlite() -> None:
    config = load_config(DEFAULT_CONFIG_PATH, environ={})
    assert config.database.url.startswith("sqlite:///")
    assert config.timezone == "Asia/Shanghai"


def test_environment_overrides_nested_settings() -> None:
    config = load_config(
        DEFAULT_CONFIG_PATH,
        environ={
            "CRMBOT_DATABASE__URL": "postgresql://u@h/db",
            "CRMBOT_NLU__RASA_URL": "http://rasa:5005",
            "CRMBOT_CHANNELS__TELEGRAM__TOKEN": "123:abc",
            "CRMBOT_DIALOGS__UNDO_MINUTES": "7",
            "CRMBOT_DIALOGS_CONFIRM_WRITES": "false",  # the older single-underscore spelling still works
            "CRMBOT_SCHEDULER__RATE_PER_SECOND__WECHAT": "10",  # a key inside a mapping setting
            "CRMBOT_DIALOGS__TRUSTED_STAFF": '["张伟", "李娜"]',  # lists are JSON
        },
    )
    assert config.scheduler.rate_per_second == {"wechat": 10.0}
    assert config.dialogs.trusted_staff == ["张伟", "李娜"]
    assert config.database.url == "postgresql://u@h/db"
    assert config.nlu.rasa_url == "http://rasa:5005"
    assert config.channels.telegram.token.get_secret_value() == "123:abc"
    assert config.dialogs.undo_minutes == 7
    assert config.dialogs.confirm_writes is False


def test_unknown_environment_key_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="CRMBOT_DATABASE_URLL"):
        load_config(DEFAULT_CONFIG_PATH, environ={"CRMBOT_DATABASE_URLL": "x"})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("database: [unclosed", "YAML"),
        ("- just\n- a list\n", "mapping"),
        ("dialogs:\n  undo_minutes: -3\n", "dialogs.undo_minutes"),
        ("timezone: Mars/Olympus\n", "timezone"),
        ("databse:\n  url: x\n", "databse"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path, environ={})


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yml", environ={})


def test_digit_only_strings_stay_strings_from_the_environment_and_the_file(tmp_path: Path) -> None:
    """A WeCom AgentId and a WeChat token may be all digits; they are text settings, not numbers."""
    config = load_config(DEFAULT_CONFIG_PATH, environ={
        "CRMBOT_CHANNELS__WECOM__AGENT_ID": "1000002",
        "CRMBOT_CHANNELS__WECHAT__TOKEN": "20261127",
        "CRMBOT_CHANNELS__WECHAT__APP_ID": "0012345",  # leading zeros kept
    })
    assert config.channels.wecom.agent_id == "1000002"
    assert config.channels.wechat.token.get_secret_value() == "20261127"
    assert config.channels.wechat.app_id == "0012345"
    path = tmp_path / "config.yml"
    path.write_text("channels:\n  wecom:\n    agent_id: 1000002\n    token: 123456\n", encoding="utf-8")
    from_file = load_config(path, environ={})
    assert from_file.channels.wecom.agent_id == "1000002"
    assert from_file.channels.wecom.token.get_secret_value() == "123456"


def test_environment_beats_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("dialogs:\n  page_size: 3\n  undo_minutes: 9\n", encoding="utf-8")
    config = load_config(path, environ={"CRMBOT_DIALOGS__PAGE_SIZE": "8"})
    assert (config.dialogs.page_size, config.dialogs.undo_minutes) == (8, 9)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"CRMBOT_NLU__THRESHOLDD": "0.5"}, "CRMBOT_NLU__THRESHOLDD"),
        ({"CRMBOT_CHANNELS__DINGTALK__TOKEN": "x"}, "CRMBOT_CHANNELS__DINGTALK__TOKEN"),
        ({"CRMBOT_DIALOGS__TRUSTED_STAFF": "张伟"}, "CRMBOT_DIALOGS__TRUSTED_STAFF"),  # not JSON
    ],
)
def test_bad_environment_names_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config(DEFAULT_CONFIG_PATH, environ=environ)


def test_test_and_bench_knobs_are_not_settings() -> None:
    load_config(DEFAULT_CONFIG_PATH, environ={"CRMBOT_TEST_PG_URL": "x", "CRMBOT_BENCH_PG_URL": "y",
                                              "CRMBOT_CONFIG": str(DEFAULT_CONFIG_PATH)})


def test_errors_read_in_chinese_and_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("server:\n  port: 99999\nnlu:\n  backend: spacy\ndialogs:\n  page_size: many\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    message = str(error.value)
    assert "server.port：应不大于 65535" in message
    assert "nlu.backend：只能是" in message and "local" in message
    assert "dialogs.page_size：应为整数" in message


def test_relative_paths_are_taken_from_the_config_files_folder(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever folder a command runs from, it opens the same database, model, charts and exports."""
    home = tmp_path / "company"
    home.mkdir()
    path = home / "config.yml"
    path.write_text("data_dir: data\ndatabase:\n  url: sqlite:///data/crm.db\nnlu:\n  model_path: m/nlu.pkl\n"
                    "  data_dir: training\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(path, environ={})
    assert config.database.url == f"sqlite:///{home / 'data' / 'crm.db'}"
    assert Path(config.nlu.model_path) == home / "m" / "nlu.pkl"
    assert Path(config.nlu.data_dir) == home / "training"
    assert config.charts_dir == home / "data" / "charts" and config.exports_dir == home / "data" / "exports"
    absolute = load_config(path, environ={"CRMBOT_DATABASE__URL": f"sqlite:///{tmp_path / 'abs.db'}"})
    assert absolute.database.url == f"sqlite:///{tmp_path / 'abs.db'}"  # absolute stays as written
    memory = load_config(path, environ={"CRMBOT_DATABASE__URL": "sqlite:///:memory:"})
    assert memory.database.url == "sqlite:///:memory:"


def test_a_missing_config_named_by_the_environment_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(environ={"CRMBOT_CONFIG": str(tmp_path / "typo.yml")})


def test_config_built_in_code_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMBOT_DIALOGS__PAGE_SIZE", "9")
    assert Config().dialogs.page_size == 5


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and not prefix.endswith(("templates", "rate_per_second")):
        return {k: v for key, item in value.items() for k, v in _leaves(item, f"{prefix}.{key}".strip(".")).items()}
    return {prefix: value}


def _model_leaves(model: type[BaseModel], prefix: str = "") -> set[str]:
    found = set()
    for name, field in model.model_fields.items():
        key = f"{prefix}.{name}".strip(".")
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            found |= _model_leaves(nested, key)
        else:
            found.add(key)
    return found


def test_config_yml_and_the_model_defaults_agree() -> None:
    """config.yml documents every setting with its default value: the file and the code cannot drift."""
    shipped = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    in_file = _leaves(Config.model_validate(shipped).model_dump(mode="json"))
    defaults = _leaves(Config().model_dump(mode="json"))
    differ = {k: (in_file[k], defaults[k]) for k in defaults if in_file[k] != defaults[k]}
    assert differ == {}
    assert Config.model_validate(shipped) == Config()  # secrets compared by value too
    documented = set(_leaves(shipped))
    # The NLU component list is code wiring, not something an admin tunes (issue 18 item 3 decides its fate).
    assert _model_leaves(Config) - documented - {"nlu.pipeline"} == set()


def test_every_secret_is_typed_secret() -> None:
    """Redaction finds secrets by type, so any setting named like a secret must be a SecretStr."""
    def walk(model: type[BaseModel], prefix: str) -> list[str]:
        wrong = []
        for name, field in model.model_fields.items():
            nested = field.annotation
            if isinstance(nested, type) and issubclass(nested, BaseModel):
                wrong += walk(nested, f"{prefix}{name}.")
            elif any(word in name for word in ("secret", "token", "password", "aes_key")) and \
                    not name.endswith("_url") and nested is not SecretStr:
                wrong.append(prefix + name)
        return wrong

    assert walk(Config, "") == []


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMBOT_DIALOGS__PAGE_SIZE", "7")
    assert "CRMBOT_DIALOGS__PAGE_SIZE" in os.environ
    assert load_config(DEFAULT_CONFIG_PATH).dialogs.page_size == 7


def test_the_wheel_carries_config_yml_and_an_installed_copy_keeps_data_in_the_users_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crmbot import config as module

    packaged = module.PACKAGED_CONFIG_PATH
    assert packaged.read_bytes() == module.SOURCE_CONFIG_PATH.read_bytes()  # package data: the same file
    assert module.paths_base(module.SOURCE_CONFIG_PATH) == module.REPO_ROOT  # a checkout keeps var/ beside it
    monkeypatch.setattr(module, "REPO_ROOT", tmp_path / "site-packages")  # installed: no pyproject.toml
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert module.paths_base(packaged) == tmp_path / "share" / "crmbot"
    config = load_config(packaged, environ={}).resolved(module.paths_base(packaged))
    assert config.database.url == f"sqlite:///{tmp_path / 'share' / 'crmbot' / 'var' / 'crmbot.db'}"


def test_a_server_keeps_its_database_connections_under_load(pg_url: str) -> None:
    """10 threads at once, round after round (a server's handlers, inbox workers and notifier): the
    connections stay open. With the old pool of 5 the rest were opened and closed per use, a PostgreSQL
    backend started for each."""
    import threading

    from sqlalchemy import text

    from crmbot.wiring import open_database

    config = load_config(DEFAULT_CONFIG_PATH, environ={"CRMBOT_DATABASE__URL": pg_url})
    assert config.database.pool_size >= 10
    runtime = open_database(config, migrate=False)
    backends: set[int] = set()
    barrier = threading.Barrier(10)

    def use() -> None:
        for _ in range(5):
            barrier.wait()
            with runtime.engine.connect() as conn:
                backends.add(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
                barrier.wait()  # all 10 hold a connection at the same moment

    try:
        threads = [threading.Thread(target=use) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        runtime.engine.dispose()
    assert len(backends) == 10
