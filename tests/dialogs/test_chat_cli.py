"""`crmbot chat` as a user runs it: a fresh SQLite file, demo data seeded on first start, piped stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

INPUT = "今天下午拜访了华为张总，聊了新项目，预计下周三报价\n确认\n华为最近怎么样了\n"


def _chat(tmp_path: Path, model: Path, *args: str, stdin: str = INPUT) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CRMBOT_DATABASE__URL": f"sqlite:///{tmp_path / 'chat.db'}",
        "CRMBOT_NLU__MODEL_PATH": str(model),
        "CRMBOT_DATA_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        [sys.executable, "-m", "crmbot.cli", "chat", "--now", "2026-11-27T10:00:00+08:00", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_chat_seeds_demo_data_and_runs_a_conversation(tmp_path: Path, nlu_parser, nlu_model_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = _chat(tmp_path, nlu_model_path)
    assert result.returncode == 0, result.stderr
    assert "已生成演示数据" in result.stderr
    assert "记录拜访" in result.stdout
    assert "已记录华为技术有限公司的拜访" in result.stdout
    assert "今天下午拜访了华为张总，聊了新项目，预计下周三报价" in result.stdout  # history shows it as written
    # Second start: same database, no second seeding, the visit is still there.
    again = _chat(tmp_path, nlu_model_path, stdin="华为最近怎么样了\n")
    assert "已生成演示数据" not in again.stderr
    assert "今天下午拜访了华为张总" in again.stdout


def test_chat_as_unknown_staff_is_a_clear_error(tmp_path: Path, nlu_parser, nlu_model_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = _chat(tmp_path, nlu_model_path, "--as", "不存在的人", stdin="")
    assert result.returncode == 2
    assert "没有员工“不存在的人”" in result.stderr
    assert "Traceback" not in result.stderr


def test_chat_as_a_member(tmp_path: Path, nlu_parser, nlu_model_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The member side in the console: `--member VIP0002` speaks as that demo member."""
    result = _chat(tmp_path, nlu_model_path, "--member", "vip0002", stdin="我的积分还有多少\n")
    assert result.returncode == 0, result.stderr
    assert "积分" in result.stdout and "VIP0002" not in result.stderr
    stranger = _chat(tmp_path, nlu_model_path, "--member", "VIP9999", stdin="")
    assert stranger.returncode == 2 and "没有会员号“VIP9999”" in stranger.stderr
    assert "Traceback" not in stranger.stderr


def test_chat_names_the_colleague_a_notice_goes_to(tmp_path: Path, nlu_parser, nlu_model_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = _chat(tmp_path, nlu_model_path, stdin="给华为下单 服务器2台\n确认\n")
    assert result.returncode == 0, result.stderr
    assert "[通知 → 陈静] 【待审批】张伟提交了订单" in result.stdout
    assert "员工#" not in result.stdout
