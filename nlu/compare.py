"""Our amount and time normalizers against the libraries they wrap, per category, on the same cases.

    crmbot nlu compare            (cases: nlu/data/normalizer_cases.yml)

Each library is given its best shot: jionlp.parse_money's blur ranges become {from, to}; cn2an reads
the numeral with a trailing 元/块 removed; jionlp.parse_time's point-like spans (one day, one hour,
one minute) become a point at their start.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import cn2an
import yaml

from nlu.jio import jionlp_module
from nlu.numbers import parse_amount, tidy
from nlu.timeparse import normalize_time

CASES = Path(__file__).resolve().parent / "data" / "normalizer_cases.yml"
TZ = ZoneInfo("Asia/Shanghai")


def load_cases(path: Path = CASES) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def value_text(value: Any) -> str:
    """One comparable string: 35000, 208.5, '20000/30000', ISO, 'ISO/ISO'."""
    if isinstance(value, dict) and "from" in value:
        return f"{value_text(value['from'])}/{value_text(value['to'])}"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return str(tidy(float(value)))
    return str(value)


def _expected(value: Any) -> str:
    if isinstance(value, str) and "/" in value and "T" not in value:
        low, high = value.split("/")
        return f"{value_text(float(low))}/{value_text(float(high))}"
    return value_text(value)


def _jionlp_money(text: str) -> Any:
    try:
        result = jionlp_module().parse_money(text)
    except Exception:  # jionlp raises on money it cannot read
        return None
    num = result.get("num")
    if isinstance(num, list):
        return {"from": float(num[0]), "to": float(num[1])}
    return float(num) if num is not None else None


def _cn2an(text: str) -> Any:
    core = text
    for tail in ("元整", "块钱", "元", "块", "圓", "塊"):
        if core.endswith(tail):
            core = core[: -len(tail)]
            break
    with contextlib.suppress(Exception):  # cn2an raises ValueError and others on what it cannot read
        return float(cn2an.cn2an(core, "smart"))
    return None


def _ours_time(text: str, now: datetime) -> Any:
    result = normalize_time(text, now, TZ)
    return result[0] if result else None


def _jionlp_time(text: str, now: datetime) -> Any:
    try:
        result = jionlp_module().parse_time(text, time_base=now.replace(tzinfo=None))["time"]
    except Exception:  # jionlp raises on time words it cannot read
        return None
    if "inf" in result[1] or "inf" in result[0]:
        return None
    start, end = (datetime.strptime(t, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TZ) for t in result)
    seconds = (end - start).total_seconds()
    if seconds < 86400 and (seconds in (59, 3599) or start.hour == 0 and seconds == 86399):
        return start.isoformat()
    return {"from": start.isoformat(), "to": end.isoformat()}


def score(cases: list[list[Any]], reader: Callable[[str], Any]) -> tuple[float, list[str]]:
    ok, wrong = 0, []
    for text, expected in cases:
        got = reader(str(text))
        if got is not None and value_text(got) == _expected(expected):
            ok += 1
        else:
            wrong.append(f"{text}: {value_text(got) if got is not None else None} != {_expected(expected)}")
    return ok / max(len(cases), 1), wrong


def compare(path: Path = CASES) -> dict[str, dict[str, dict[str, Any]]]:
    """{'amount' | 'time': {category: {'n', 'ours', 'jionlp', 'cn2an'?, 'ours_wrong'}}}."""
    doc = load_cases(path)
    now = datetime.fromisoformat(doc["now"])
    readers: dict[str, dict[str, Callable[[str], Any]]] = {
        "amount": {"ours": parse_amount, "jionlp": _jionlp_money, "cn2an": _cn2an},
        "time": {"ours": lambda t: _ours_time(t, now), "jionlp": lambda t: _jionlp_time(t, now)},
    }
    report: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, categories in (("amount", doc["amount"]), ("time", doc["time"])):
        report[kind] = {}
        for category, cases in categories.items():
            row: dict[str, Any] = {"n": len(cases)}
            for name, reader in readers[kind].items():
                row[name], wrong = score(cases, reader)
                if name == "ours":
                    row["ours_wrong"] = wrong
            report[kind][category] = row
    return report
