"""Model caching: load when fresh, retrain when the data hash or MODEL_VERSION changes."""

from __future__ import annotations

import pickle

from nlu.model import load_or_train

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


def test_load_or_train_cycle(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "nlu.yml").write_text(TINY, encoding="utf-8")
    path = tmp_path / "deep" / "dir" / "model.pkl"
    load_or_train(path, str(data))
    assert path.exists()
    assert "训练" in capsys.readouterr().err
    load_or_train(path, str(data))
    assert capsys.readouterr().err == ""  # fresh: just loaded
    (data / "nlu.yml").write_text(TINY + "    - 帮[美的](customer)下单\n", encoding="utf-8")
    load_or_train(path, str(data))
    assert "过期" in capsys.readouterr().err  # data hash changed
    model = pickle.loads(path.read_bytes())
    model["version"] = "old"
    path.write_bytes(pickle.dumps(model))
    load_or_train(path, str(data))
    assert "过期" in capsys.readouterr().err  # MODEL_VERSION changed
