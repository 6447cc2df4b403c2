"""NLU benchmark, before and after in one run: load CPU, training CPU, held-out scores, parse latency, and
the cost of feeding CRM names (set_lookup) as the company grows.

    python bench/nlu_bench.py [--n 3000] [--before 57a7b37] [--sizes 60,2000,10000,100000] [--train-runs 3]

"before" is the NLU of an older commit (default: the last one that pickled the scikit-learn objects),
exported with `git archive` into a temporary folder. Each variant trains, loads and parses in its own
processes, measured the same way, so the two columns share the machine's load. CPU is process time
(training: the process and its children, i.e. the CRF trainer; the median of --train-runs alternating runs); wall times are printed with the
load average, since other processes share the two cores. `--before none` measures only the current code.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BEFORE = "57a7b37"  # last commit with the pickled scikit-learn / sklearn-crfsuite model
PIPELINE_BEFORE = ["JiebaTokenizer", "IntentClassifier", "RuleEntityExtractor", "GazetteerEntityExtractor",
                   "CRFEntityExtractor", "TimeNormalizer", "AmountNormalizer"]  # the removed nlu.pipeline key
HEAVY = ("sklearn", "scipy", "numpy", "sklearn_crfsuite", "jionlp", "cn2an")


# --- synthetic CRM names ----------------------------------------------------------------------------

_CITIES = "北京 上海 广州 深圳 杭州 苏州 南京 成都 重庆 武汉 西安 天津 青岛 宁波 厦门 长沙 郑州 合肥 福州 济南".split()
_WORDS = list("华瑞丰达鑫盛泰恒源宏兴隆昌益德信诚安康明辉金银永嘉宝利通和佳新锦天海联创润晟博远卓越弘星")
_TRADES = "科技 贸易 五金 电子 物流 食品 建材 医药 机械 纺织 家居 汽配 化工 印务 环保 照明 包装 餐饮 文具 光电".split()
_SUFFIXES = ["有限公司", "集团", "商行", "工作室", "实业", "股份有限公司", ""]


def synthetic_names(count: int, seed: int = 16) -> list[str]:
    """Distinct, believable company names (deterministic), e.g. 杭州瑞丰科技有限公司."""
    import random

    rnd = random.Random(seed)
    names: dict[str, None] = {}
    while len(names) < count:
        name = (rnd.choice(_CITIES) * (rnd.random() < 0.6) + rnd.choice(_WORDS) + rnd.choice(_WORDS)
                + rnd.choice(_TRADES) + rnd.choice(_SUFFIXES))
        names[name] = None
    return list(names)


# --- workers: run inside the variant's own interpreter -------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * q) - 1)]


def worker_train(model_path: str) -> None:
    from nlu.data_io import data_hash, load_training

    try:
        from nlu.training import train_model  # after: returns the fitted objects
    except ImportError:  # before: nlu.model.train_model returned the pickled dict
        from nlu.model import save_model, train_model

        save_model(train_model(load_training(None), data_hash(None)), Path(model_path))
        return
    from nlu.model import save_model

    trained = train_model(load_training(None), data_hash(None))
    save_model(trained.to_bytes() if hasattr(trained, "to_bytes") else trained.to_model(), Path(model_path))


def worker_measure(model_path: str, n: int, sizes: list[int]) -> None:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    import inspect
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from nlu import load_parser

    tz = ZoneInfo("Asia/Shanghai")
    # The NLU settings load_parser reads (a namespace: works whatever module the app config lives in).
    settings = SimpleNamespace(backend="local", model_path=model_path, data_dir="", threshold=0.4,
                               pipeline=PIPELINE_BEFORE)
    new_api = "train_if_missing" in inspect.signature(load_parser).parameters
    parser = load_parser(settings, tz, train_if_missing=False) if new_api else load_parser(settings, tz)
    out: dict = {"load_cpu": time.process_time() - cpu0, "load_wall": time.perf_counter() - wall0,
                 "heavy_after_load": [m for m in HEAVY if m in sys.modules]}

    from nlu.data_io import load_examples, test_file
    from nlu.evaluate import REFERENCE_NOW, evaluate

    c0 = time.process_time()
    parser.parse("下周四下午三点去华为见林总，报价50万", REFERENCE_NOW)
    out["first_parse_cpu"] = time.process_time() - c0  # pays whatever load left for later (jionlp, cn2an)
    examples = load_examples(test_file())
    report = evaluate(parser, examples)
    out.update(intent_accuracy=report["intent_accuracy"], entity_f1=report["entity_f1"], held_out=report["n"])

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core for latency figures
    texts = [ex.text for ex in examples]
    out["parse"] = _time_parses(parser, texts, n, REFERENCE_NOW)

    def fresh_parser():  # type: ignore[no-untyped-def]
        from nlu.parser import LocalParser

        if new_api:
            return LocalParser(parser.model, tz, 0.4)
        return LocalParser({"intent": parser.intent, "crf": parser.crf}, tz, 0.4, sorted(parser.pipeline))

    all_names = synthetic_names(max(sizes) + 1)
    out["lookup"] = []
    for size in sizes:
        names = all_names[:size]
        p = fresh_parser()
        c0 = time.process_time()
        p.set_lookup("customer", names, source="db")
        first = time.process_time() - c0
        refeeds = []
        for k in range(3):  # one customer renamed, then the whole list fed again (as after any write)
            changed = names[:k] + [all_names[-1] + str(k)] + names[k + 1 :]
            c0 = time.process_time()
            p.set_lookup("customer", changed, source="db")
            refeeds.append(time.process_time() - c0)
        mentions = [f"明天去{name}拜访王总" for name in names[:: max(1, size // 50)][:50]]
        stats = _time_parses(p, texts + mentions, min(n, 1500), REFERENCE_NOW)
        out["lookup"].append({"names": size, "first_feed_cpu": first, "refeed_cpu": statistics.median(refeeds),
                              "parse_cpu_p50": stats["cpu_p50"], "parse_cpu_p99": stats["cpu_p99"]})
    print(json.dumps(out))


def _time_parses(parser, texts: list[str], n: int, now) -> dict:  # type: ignore[no-untyped-def]
    import gc

    for text in texts:  # warm-up: caches, lazy imports
        parser.parse(text, now)
    gc.collect()
    cpu, wall = [], []
    for i in range(n):
        text = texts[i % len(texts)]
        t0, c0 = time.perf_counter(), time.thread_time()
        parser.parse(text, now)
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return {"cpu_p50": statistics.median(cpu), "cpu_p99": _pct(cpu, 0.99), "wall_p50": statistics.median(wall),
            "wall_p99": _pct(wall, 0.99), "load": os.getloadavg()[0]}


# --- the driver ---------------------------------------------------------------------------------------


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(tree: Path, *args: str) -> tuple[str, float, float]:
    """Run this file as a worker with `tree` first on the path: (stdout, CPU incl. its children, wall)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(tree), str(REPO)]))}
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", *args], env=env,
                          cwd=tree, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"worker {args[0]} failed in {tree}:\n{done.stderr[-3000:]}")
    return done.stdout, _children_cpu() - cpu0, time.perf_counter() - wall0


def export_tree(rev: str, into: Path) -> Path:
    """The NLU (and the config it reads) of an older commit, ready to import from `into`."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "nlu", "crmbot/__init__.py",
                              "crmbot/config.py"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def train_rounds(trees: dict[str, Path], work: Path, runs: int) -> dict[str, dict]:
    """Train each variant `runs` times, alternating, so they share the machine's state; and run the whole
    `crmbot nlu train` command of this tree as often. CPU time on this shared machine varies by ±15 % from run
    to run: the median is the figure, with the range."""
    samples: dict[str, dict[str, list[float]]] = {label: {"cpu": [], "wall": [], "load": []} for label in trees}
    command: dict[str, list[float]] = {"cpu": [], "wall": []}
    for _ in range(runs):
        for label, tree in trees.items():
            _, cpu, wall = _run(tree, "train", str(work / f"{label}.model"))
            for key, value in (("cpu", cpu), ("wall", wall), ("load", os.getloadavg()[0])):
                samples[label][key].append(value)
        cpu0, wall0 = _children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "crmbot.cli", "nlu", "train", "--out", str(work / "cli.model")],
                       cwd=REPO, check=True, capture_output=True)
        command["cpu"].append(_children_cpu() - cpu0)
        command["wall"].append(time.perf_counter() - wall0)
    out = {}
    for label, got in samples.items():
        out[label] = {"train_cpu": got["cpu"], "train_wall": got["wall"], "train_load": got["load"]}
        if trees[label] == REPO:
            out[label].update(command_cpu=command["cpu"], command_wall=command["wall"])
    return out


def measure(label: str, tree: Path, work: Path, n: int, sizes: list[int], trained: dict) -> dict:
    model = work / f"{label}.model"
    stdout, _, _ = _run(tree, "measure", str(model), str(n), ",".join(map(str, sizes)))
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(trained, model_mb=model.stat().st_size / 1e6)
    return result


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def report(results: dict[str, dict]) -> None:
    cols = list(results)
    print(f"\n{'figure':<44}" + "".join(f"{c:>22}" for c in cols))

    def row(label: str, fmt: str, get) -> None:  # type: ignore[no-untyped-def]
        print(f"{label:<44}" + "".join(f"{fmt.format(get(results[c])):>22}" for c in cols))

    row("NLU load CPU (s)", "{:.2f}", lambda r: r["load_cpu"])
    row("NLU load wall (s)", "{:.2f}", lambda r: r["load_wall"])
    row("heavy modules after load", "{}", lambda r: ",".join(r["heavy_after_load"]) or "none")
    row("first parse CPU (s, lazy jionlp/cn2an)", "{:.3f}", lambda r: r["first_parse_cpu"])
    row("training CPU incl. children (s), median (range)", "{}", lambda r: _spread(r["train_cpu"]))
    row("training wall (s), median (range)", "{}", lambda r: _spread(r["train_wall"]))
    row("`crmbot nlu train` CPU (s), whole command", "{}",
        lambda r: _spread(r["command_cpu"]) if "command_cpu" in r else "-")
    row("`crmbot nlu train` wall (s)", "{}", lambda r: _spread(r["command_wall"]) if "command_wall" in r else "-")
    row("load average at training", "{}", lambda r: _spread(r["train_load"]))
    row("model file (MB)", "{:.1f}", lambda r: r["model_mb"])
    row("held-out intent accuracy", "{:.4f}", lambda r: r["intent_accuracy"])
    row("held-out entity F1", "{:.4f}", lambda r: r["entity_f1"])
    row("parse CPU p50 / p99 (ms)", "{}", lambda r: f"{r['parse']['cpu_p50']:.3f} / {r['parse']['cpu_p99']:.3f}")
    row("parse wall p50 / p99 (ms)", "{}", lambda r: f"{r['parse']['wall_p50']:.3f} / {r['parse']['wall_p99']:.3f}")
    row("load average during parses", "{:.2f}", lambda r: r["parse"]["load"])
    for i, entry in enumerate(next(iter(results.values()))["lookup"]):
        size = entry["names"]
        row(f"{size:>7,} names: first set_lookup CPU (ms)", "{:.1f}", lambda r, i=i: r["lookup"][i]["first_feed_cpu"] * 1e3)
        row(f"{size:>7,} names: re-feed, 1 changed (ms)", "{:.1f}", lambda r, i=i: r["lookup"][i]["refeed_cpu"] * 1e3)
        row(f"{size:>7,} names: parse CPU p50 / p99 (ms)", "{}",
            lambda r, i=i: f"{r['lookup'][i]['parse_cpu_p50']:.3f} / {r['lookup'][i]['parse_cpu_p99']:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000, help="timed parses per variant (>= 2000 for a stable p99)")
    ap.add_argument("--before", default=DEFAULT_BEFORE, help="older commit to compare with, or 'none'")
    ap.add_argument("--sizes", default="60,2000,10000,100000", help="customer-name counts for set_lookup")
    ap.add_argument("--train-runs", type=int, default=3, help="trainings per variant (alternating)")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "train":
            worker_train(rest[0])
        else:
            worker_measure(rest[0], int(rest[1]), [int(s) for s in rest[2].split(",")])
        return

    sys.path.insert(0, str(REPO))
    from bench.common import cpu_model, load_average, speed_reference

    print(f"cpu: {cpu_model()}  cores: {os.cpu_count()}  python: {sys.version.split()[0]}  "
          f"load average at start: {load_average()}")
    print(f"{speed_reference()} at start")
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="nlu-bench-") as tmp:
        work = Path(tmp)
        trees: dict[str, Path] = {}
        if args.before != "none":
            try:
                trees[f"before {args.before}"] = export_tree(args.before, Path(tempfile.mkdtemp(dir=work)))
            except (subprocess.CalledProcessError, OSError) as exc:  # no git, or no such commit here
                print(f"before: cannot export {args.before} ({exc}); measuring this tree only")
        trees["after (this tree)"] = REPO
        trained = train_rounds(trees, work, args.train_runs)
        for label, tree in trees.items():
            results[label] = measure(label, tree, work, args.n, sizes, trained[label])
    report(results)
    print(f"\nload average at end: {load_average()}; {speed_reference()} at end")


if __name__ == "__main__":
    main()
