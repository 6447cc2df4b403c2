from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys


def _run(args: list[str], stdin: str, env: dict) -> subprocess.CompletedProcess:
    exe = shutil.which("crmbot")
    cmd = [exe, *args] if exe else [sys.executable, "-c", "from crmbot.cli import main; main()", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=300, check=False)


def test_cli_parse_with_lookup(parser, model_path, tmp_path):
    names = tmp_path / "customers.txt"
    names.write_text("瑞丰达贸易\n", encoding="utf-8")
    (tmp_path / "config.yml").write_text("", encoding="utf-8")  # defaults; relative paths under tmp_path
    env = {**os.environ, "CRMBOT_NLU__MODEL_PATH": model_path, "CRMBOT_CONFIG": str(tmp_path / "config.yml")}
    proc = _run(["nlu", "parse", "--now", "2026-11-27T10:00:00", "--lookup", f"customer={names}"],
                "给瑞丰达贸易下个单 打印机5台\n下周三提醒我\n\n", env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert any(e["entity"] == "customer" and e["value"] == "瑞丰达贸易" for e in first["entities"])
    assert first["intent"]["name"] == "submit_order"
    time = next(e for e in second["entities"] if e["entity"] == "time")
    assert time["value"] == "2026-12-02T00:00:00+08:00"  # naive --now taken in Asia/Shanghai
    assert third["intent"]["name"] == "out_of_scope"


def test_cli_evaluate_uses_the_fresh_model_file(parser, model_path, tmp_path):
    """A fresh model file is evaluated as saved (seconds, not a retraining); the file is left alone."""
    before = os.stat(model_path).st_mtime_ns
    (tmp_path / "config.yml").write_text("", encoding="utf-8")  # defaults; relative paths under tmp_path
    env = {**os.environ, "CRMBOT_NLU__MODEL_PATH": model_path, "CRMBOT_CONFIG": str(tmp_path / "config.yml")}
    proc = _run(["nlu", "evaluate"], "", env)
    assert proc.returncode == 0, proc.stderr
    accuracy = next(line for line in proc.stdout.splitlines() if line.startswith("intent accuracy:"))
    assert float(accuracy.split(":")[1]) >= 0.95
    assert proc.stdout.startswith(f"评估模型文件 {model_path}")
    assert os.stat(model_path).st_mtime_ns == before
