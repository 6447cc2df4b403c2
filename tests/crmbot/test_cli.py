"""The `crmbot` command as an admin meets it: Chinese help and errors, one line (never a traceback) when the
database is down or missing, clear errors for bad arguments, one `--now` everywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer

from crmbot.cli import COMMANDS
from crmbot.cli.common import parse_now
from tests.conftest import PG_ADMIN_URL

REPO = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Shanghai")


def crmbot(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.yml"
    if not config.exists():
        config.write_text("", encoding="utf-8")  # defaults, relative paths under tmp_path
    return subprocess.run(
        [sys.executable, "-m", "crmbot.cli", *args], input=stdin, capture_output=True, text=True, timeout=120,
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO), "CRMBOT_CONFIG": str(config), "COLUMNS": "250", **env},
    )


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_postgresql_down_is_one_line_saying_what_to_do(tmp_path: Path) -> None:
    down = "postgresql://crmbot@127.0.0.1:1/crmbot"  # nothing listens on port 1
    for command in (["db", "upgrade"], ["reminders", "list"], ["chat"]):
        line = one_clear_line(crmbot(tmp_path, *command, CRMBOT_DATABASE__URL=down))
        assert "无法连接数据库" in line and "127.0.0.1:1" in line and "database.url" in line


def test_a_missing_database_says_how_to_create_it(tmp_path: Path) -> None:
    name = f"crmbot_missing_{uuid.uuid4().hex[:8]}"
    url = f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"
    for command in (["db", "current"], ["export", "customers"]):
        line = one_clear_line(crmbot(tmp_path, *command, CRMBOT_DATABASE__URL=url))
        assert f"数据库「{name}」还不存在" in line and f"createdb -O postgres {name}" in line
        assert "crmbot db upgrade" in line


def test_an_unsupported_database_url_is_a_config_error(tmp_path: Path) -> None:
    line = one_clear_line(crmbot(tmp_path, "db", "current", CRMBOT_DATABASE__URL="mysql://u@h/db"))
    assert "database.url" in line and "只支持 SQLite 与 PostgreSQL" in line


def test_lookup_file_problems_are_clear_errors(tmp_path: Path) -> None:
    missing = crmbot(tmp_path, "nlu", "parse", "--lookup", "customer=/missing", stdin="华为\n")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "找不到名单文件 /missing" in missing.stderr
    latin1 = tmp_path / "names.txt"
    latin1.write_bytes("华为".encode("gbk"))
    wrong = crmbot(tmp_path, "nlu", "parse", "--lookup", f"customer={latin1}", stdin="华为\n")
    assert wrong.returncode == 2 and "不是 UTF-8 编码" in wrong.stderr
    unknown = crmbot(tmp_path, "nlu", "parse", "--lookup", f"client={latin1}", stdin="")
    assert unknown.returncode == 2 and "没有「client」这种名单" in unknown.stderr and "customer" in unknown.stderr


def test_help_and_usage_errors_read_in_chinese(tmp_path: Path) -> None:
    top = crmbot(tmp_path, "--help")
    assert top.returncode == 0
    for name in COMMANDS:
        assert name in top.stdout
    assert "命令" in top.stdout and "显示帮助并退出" in top.stdout and "Show this message" not in top.stdout
    assert "用法：" in top.stdout and "Usage:" not in top.stdout
    typo = crmbot(tmp_path, "chta")
    assert typo.returncode == 2 and "没有这个命令：chta" in typo.stderr and "'chat'" in typo.stderr
    bad_now = crmbot(tmp_path, "scheduler", "run-job", "digest", "--now", "明天")
    assert bad_now.returncode == 2 and "--now 的值无效" in bad_now.stderr and "ISO 8601" in bad_now.stderr
    missing = crmbot(tmp_path, "restore")
    assert missing.returncode == 2 and "缺少参数" in missing.stderr


def test_config_check_explains_a_bad_value_in_chinese(tmp_path: Path) -> None:
    (tmp_path / "config.yml").write_text("scheduler:\n  max_attempts: 0\n", encoding="utf-8")
    line = one_clear_line(crmbot(tmp_path, "config-check"))
    assert "scheduler.max_attempts：应不小于 1" in line
    (tmp_path / "config.yml").write_text("", encoding="utf-8")
    good = crmbot(tmp_path, "config-check")
    assert good.returncode == 0 and str(tmp_path / "var") in good.stdout


def test_every_sub_command_module_loads() -> None:
    """The lazy table names modules and attributes that exist (a rename cannot hide until someone runs it)."""
    for name, lazy in COMMANDS.items():
        assert lazy.load(name).name == name


def test_one_now_parser() -> None:
    assert parse_now("2026-11-27T10:00:00", TZ) == datetime(2026, 11, 27, 10, tzinfo=TZ)  # no offset: config tz
    assert parse_now("2026-11-27T02:00:00Z", TZ) == datetime(2026, 11, 27, 10, tzinfo=TZ)
    assert parse_now("2026-11-27T10:00:00+08:00", TZ).utcoffset() == timedelta(hours=8)
    assert abs(parse_now(None, TZ) - datetime.now(UTC)) < timedelta(seconds=5)
    with pytest.raises(typer.BadParameter, match="ISO 8601"):
        parse_now("下周一", TZ)
