from pathlib import Path

import pytest

from crmbot.config import DEFAULT_CONFIG_PATH, ConfigError, load_config


def test_shipped_config_is_valid_and_defaults_to_embedded_sqlite() -> None:
    config = load_config(DEFAULT_CONFIG_PATH, environ={})
    assert config.database.url.startswith("sqlite:///")
    assert config.timezone == "Asia/Shanghai"


def test_environment_overrides_nested_settings() -> None:
    config = load_config(
        DEFAULT_CONFIG_PATH,
        environ={
            "CRMBOT_DATABASE_URL": "postgresql://u@h/db",
            "CRMBOT_NLU_RASA_URL": "http://rasa:5005",
            "CRMBOT_CHANNELS__TELEGRAM__TOKEN": "123:abc",
            "CRMBOT_DIALOGS_UNDO_MINUTES": "7",
            "CRMBOT_DIALOGS_CONFIRM_WRITES": "false",
        },
    )
    assert config.database.url == "postgresql://u@h/db"
    assert config.nlu.rasa_url == "http://rasa:5005"
    assert config.channels.telegram.token == "123:abc"
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
