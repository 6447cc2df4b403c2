"""`crmbot nlu ...`: parse, train, evaluate, export-rasa."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from crmbot import messages as CM
from crmbot.cli import common

app = typer.Typer(help="中文理解模型：解析、训练、评估、导出 Rasa 项目", no_args_is_help=True)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _read_lookup(item: str) -> tuple[str, list[str]]:
    """`--lookup customer=names.txt`: the entity and the names in the file (one a line)."""
    from nlu.gazetteer import LOOKUP_ENTITIES

    entity, sep, file = item.partition("=")
    entity = entity.strip()
    if not sep or not entity or not file.strip():
        raise typer.BadParameter(CM.LOOKUP_FORMAT.format(item=item), param_hint="--lookup")
    if entity not in LOOKUP_ENTITIES:
        raise typer.BadParameter(CM.LOOKUP_ENTITY.format(entity=entity, choices="、".join(LOOKUP_ENTITIES)),
                                 param_hint="--lookup")
    path = Path(file.strip()).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise typer.BadParameter(CM.LOOKUP_MISSING.format(path=path), param_hint="--lookup") from exc
    except IsADirectoryError as exc:
        raise typer.BadParameter(CM.LOOKUP_IS_DIR.format(path=path), param_hint="--lookup") from exc
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(CM.LOOKUP_NOT_UTF8.format(path=path), param_hint="--lookup") from exc
    except OSError as exc:
        raise typer.BadParameter(CM.LOOKUP_UNREADABLE.format(path=path, error=exc.strerror),
                                 param_hint="--lookup") from exc
    return entity, [name.strip() for name in text.splitlines() if name.strip()]


@app.command()
def parse(
    now: str | None = common.now_option("参考时间 ISO 8601（默认：配置时区的当前时间）"),
    lookup: list[str] = typer.Option(None, "--lookup", help="ENTITY=FILE，每行一个名称"),
) -> None:
    """从标准输入逐行读取，逐行输出 JSON"""
    from nlu import load_parser

    config = common.config()
    tz = config.tz
    ref = common.parse_now(now, tz)
    lookups = [_read_lookup(item) for item in lookup or []]  # before the model loads: fail fast
    parser = load_parser(config.nlu, tz)
    for entity, names in lookups:
        parser.set_lookup(entity, names, source="cli")
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="surrogateescape", closefd=False)  # noqa: SIM115
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    for line in stdin:
        text = line.rstrip("\r\n")
        result = parser.parse(text, ref)
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()


@app.command()
def train(out: Path = typer.Option(None, "--out", help="模型输出路径（默认：配置中的 model_path）")) -> None:
    """用训练数据训练并保存本地模型"""
    from nlu import messages as NM
    from nlu.data_io import data_hash, load_training
    from nlu.model import save_model
    from nlu.training import train_model

    config = common.config()
    data_dir = config.nlu.data_dir or None
    with common.working(CM.NLU_TRAINING):
        trained = train_model(load_training(data_dir), data_hash(data_dir))
    path = out or Path(config.nlu.model_path)
    save_model(trained.to_bytes(), path)
    typer.echo(NM.TRAINED.format(n=trained.n_examples, cpu=trained.cpu_seconds, wall=trained.wall_seconds, path=path))


@app.command()
def evaluate(
    show_errors: bool = typer.Option(False, "--errors", help="列出错误样例"),
    file: Path | None = typer.Option(None, "--file", help="只评估这个留出文件（默认：test/ 下全部）"),
) -> None:
    """在留出测试集上评估（只用训练数据训练；模型文件最新时直接用它）；每个文件打印意图、实体和各实体归一化值的准确率"""
    from nlu import ModelMissing
    from nlu import messages as NM
    from nlu.data_io import load_examples, load_training, test_files
    from nlu.evaluate import evaluate as run_eval
    from nlu.model import load_model
    from nlu.parser import LocalParser

    config = common.config()
    data_dir = config.nlu.data_dir or None
    path = Path(config.nlu.model_path)
    with common.working(CM.NLU_EVALUATING):
        try:  # the saved model never saw the held-out files either
            model = load_model(path, data_dir, train_if_missing=False)
            typer.echo(NM.EVALUATING_SAVED.format(path=path, trained_at=model.header.get("trained_at", "?")))
        except ModelMissing as missing:  # missing or stale: train in memory, leave the file alone
            from nlu.training import train_model

            typer.echo(NM.EVALUATING_TRAINED.format(problem=missing.problem))
            model = train_model(load_training(data_dir)).to_model()
        parser = LocalParser(model, config.tz, config.nlu.threshold)
        reports = [(held_out, run_eval(parser, load_examples(held_out)))
                   for held_out in ([file] if file else test_files(data_dir))]
    for held_out, report in reports:
        typer.echo(f"=== {held_out.name} ===")
        _print_report(report, show_errors)


def _print_report(report: dict, show_errors: bool) -> None:
    typer.echo(f"{'intent':<22}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, m in report["intents"].items():
        typer.echo(f"{name:<22}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>9}")
    typer.echo("")
    typer.echo(f"{'entity':<22}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, m in report["entities"].items():
        typer.echo(f"{name:<22}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>9}")
    typer.echo("")
    typer.echo(f"{'normalized value':<22}{'accuracy':>10}{'correct':>10}{'n':>9}")
    for name, row in report["values"].items():
        typer.echo(f"{name:<22}{row['accuracy']:>10.3f}{row['correct']:>10}{row['n']:>9}")
    typer.echo("")
    typer.echo(f"held-out examples: {report['n']}")
    typer.echo(f"intent accuracy: {report['intent_accuracy']:.4f}")
    typer.echo(f"entity precision/recall/F1: {report['entity_precision']:.4f} / {report['entity_recall']:.4f}"
               f" / {report['entity_f1']:.4f}")
    typer.echo(f"time/amount value accuracy: {report['value_accuracy']:.4f} (n={report['value_total']})")
    multi = report["multi"]
    if multi["combined_n"]:
        typer.echo(f"multi-part reports: {multi['combined_n']}")
        typer.echo(f"intent-combination accuracy: {multi['combination_accuracy']:.4f}")
        typer.echo(f"per-part entity attribution accuracy: {multi['attribution_accuracy']:.4f}"
                   f" (n={multi['attribution_n']})")
        for job, row in multi["attribution_by_job"].items():
            typer.echo(f"  {job:<22}{row['accuracy']:>10.3f}{row['correct']:>10}{row['n']:>9}")
    typer.echo(f"single-job messages read as several jobs: {multi['combined_false_alarms']}")
    if show_errors:
        for line in multi["attribution_errors"]:
            typer.echo("  " + line)
        for line in report["errors"]:
            typer.echo("  " + line)
        for row in report["values"].values():
            for line in row["errors"]:
                typer.echo("  value " + line)


@app.command()
def compare(show_errors: bool = typer.Option(False, "--errors", help="列出我们读错的样例")) -> None:
    """金额、时间归一化：我们 vs jionlp / cn2an，按类别对比"""
    from nlu.compare import compare as run_compare

    report = run_compare()
    for kind, categories in report.items():
        typer.echo(f"{kind:<8}{'category':<24}{'n':>4}{'ours':>8}{'jionlp':>8}{'cn2an':>8}")
        for category, row in categories.items():
            cn = f"{row['cn2an']:>8.2f}" if "cn2an" in row else f"{'-':>8}"
            typer.echo(f"{'':<8}{category:<24}{row['n']:>4}{row['ours']:>8.2f}{row['jionlp']:>8.2f}{cn}")
        total = sum(row["n"] for row in categories.values())
        for name in ("ours", "jionlp", "cn2an"):
            if all(name in row for row in categories.values()):
                overall = sum(row[name] * row["n"] for row in categories.values()) / max(total, 1)
                typer.echo(f"{'':<8}{'all (' + name + ')':<24}{total:>4}{overall:>8.2f}")
        if show_errors:
            for row in categories.values():
                for line in row["ours_wrong"]:
                    typer.echo("  " + line)


@app.command("export-rasa")
def export_rasa(out_dir: Path = typer.Argument(..., help="输出目录")) -> None:
    """导出 Rasa 3.x 项目（config.yml / data/nlu.yml / domain.yml）"""
    from nlu.export_rasa import export

    config = common.config()
    data_dir = config.nlu.data_dir or None
    files = export(out_dir, data_dir, config.nlu.threshold)
    for f in files:
        typer.echo(str(f))
