"""The model file: loaded when fresh; retrained or refused (never mis-used) when missing, stale or broken."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from nlu import ModelMissing
from nlu.model import MAGIC, NLUModel, load_model, read_header, save_model

TINY = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - 你好
    - 您好
    - 在吗
- intent: affirm
  examples: |
    - 好的
    - 是的
    - 没错
- intent: submit_order
  examples: |
    - 给[华为](customer)下单[3套](quantity)
    - [比亚迪](customer)订[10台](quantity)
    - 帮[海尔](customer)下个单
"""
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "nlu.yml").write_text(TINY, encoding="utf-8")
    return tmp_path / "deep" / "dir" / "model.bin", str(data)


def _rewrite_header(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    raw = path.read_bytes()
    end = raw.index(b"\n", len(MAGIC))
    header = json.loads(raw[len(MAGIC) : end])
    change(header)
    path.write_bytes(MAGIC + json.dumps(header).encode() + raw[end:])


def _refusal(path: Path, data: str) -> str:
    """A server (train_if_missing=False) refuses the file: the Chinese message, which names the fix."""
    with pytest.raises(ModelMissing) as refused:
        load_model(path, data, train_if_missing=False)
    assert "crmbot nlu train" in str(refused.value)
    return str(refused.value)


def _retraining(path: Path, data: str, capsys) -> str:  # type: ignore[no-untyped-def]
    """`crmbot chat` / tests retrain instead: what they print."""
    capsys.readouterr()
    load_model(path, data, train_if_missing=True)
    load_model(path, data, train_if_missing=False)  # retrained and saved: fresh again
    return capsys.readouterr().err


def test_missing_model_is_trained_then_loaded_as_is(tiny, capsys) -> None:  # type: ignore[no-untyped-def]
    path, data = tiny
    assert "不存在" in _refusal(path, data)
    assert not path.exists()
    trained = load_model(path, data, train_if_missing=True)
    assert path.exists() and "训练" in capsys.readouterr().err
    loaded = load_model(path, data, train_if_missing=False)
    assert capsys.readouterr().err == ""  # fresh: just loaded
    assert loaded.header == read_header(path)
    assert loaded.intent.probabilities("帮华为下单") == trained.intent.probabilities("帮华为下单")


def test_changed_training_data_makes_the_model_stale(tiny, capsys) -> None:  # type: ignore[no-untyped-def]
    path, data = tiny
    load_model(path, data, train_if_missing=True)
    (Path(data) / "nlu.yml").write_text(TINY + "    - 帮[美的](customer)下单\n", encoding="utf-8")
    refusal = _refusal(path, data)
    assert "过期" in refusal and "训练数据" in refusal
    assert "过期" in _retraining(path, data, capsys)


@pytest.mark.parametrize(("key", "shown"), [("jieba", "jieba"), ("python-crfsuite", "python-crfsuite"),
                                            ("features", "特征版本"), ("format", "格式")])
def test_another_library_or_feature_version_is_refused_by_name(tiny, key, shown) -> None:  # type: ignore[no-untyped-def]
    path, data = tiny
    load_model(path, data, train_if_missing=True)

    def older(header: dict) -> None:
        header["key"][key] = "0.0.1"

    _rewrite_header(path, older)
    refusal = _refusal(path, data)
    assert shown in refusal and "0.0.1" in refusal


def test_broken_or_old_files_are_refused_or_retrained(tiny, capsys) -> None:  # type: ignore[no-untyped-def]
    path, data = tiny
    load_model(path, data, train_if_missing=True)
    good = path.read_bytes()
    old_pickle = pickle.dumps({"version": "4", "data_hash": "x", "intent": None, "crf": None})
    for broken in (good[: len(good) // 2], good[:-1] + bytes([good[-1] ^ 1]), old_pickle, b"", MAGIC + b"{"):
        path.write_bytes(broken)
        assert "无法读取" in _refusal(path, data)
    assert "无法读取" in _retraining(path, data, capsys)
    assert read_header(path)["key"]["format"] == 1


def test_a_file_naming_a_class_is_never_unpickled(tiny) -> None:  # type: ignore[no-untyped-def]
    """The payload may hold only plain values: a pickle that would import and call code is refused."""
    path, data = tiny
    model = load_model(path, data, train_if_missing=True)

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("pwned",))

    raw = model.to_bytes()
    end = raw.index(b"\n", len(MAGIC))
    header = json.loads(raw[len(MAGIC) : end])
    payload = pickle.dumps({"intent": Evil()})
    import hashlib

    header["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    with pytest.raises(ValueError, match="class"):
        NLUModel.from_bytes(MAGIC + json.dumps(header).encode() + b"\n" + payload)


def test_loading_and_parsing_import_no_scikit_learn_scipy_or_numpy(nlu_model_path: Path) -> None:
    code = f"""
import sys
from zoneinfo import ZoneInfo
from crmbot.config import NLUSettings
from nlu import load_parser
parser = load_parser(NLUSettings(model_path={str(nlu_model_path)!r}), ZoneInfo("Asia/Shanghai"),
                     train_if_missing=False)
parser.set_lookup("customer", ["瑞丰达贸易"])
result = parser.parse("帮我查一下瑞丰达贸易的联系人")
assert result["intent"]["name"] == "query_customer", result
assert any(e["entity"] == "customer" and e["value"] == "瑞丰达贸易" for e in result["entities"]), result
print(sorted(m for m in ("sklearn", "scipy", "numpy", "sklearn_crfsuite", "jionlp") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_save_is_atomic_and_round_trips(tiny) -> None:  # type: ignore[no-untyped-def]
    path, data = tiny
    model = load_model(path, data, train_if_missing=True)
    copy = path.with_name("copy.bin")
    save_model(NLUModel.from_bytes(path.read_bytes()), copy)
    assert copy.read_bytes() == path.read_bytes()
    assert not list(copy.parent.glob("*.tmp"))
    assert NLUModel.from_bytes(copy.read_bytes()).crf.model_bytes == model.crf.model_bytes
