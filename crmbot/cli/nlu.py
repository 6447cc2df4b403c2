"""`crmbot nlu ...`: parse, train, evaluate, export-rasa."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer

from crmbot import messages as M
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
        raise typer.BadParameter(M.LOOKUP_FORMAT.format(item=item), param_hint="--lookup")
    if entity not in LOOKUP_ENTITIES:
        raise typer.BadParameter(M.LOOKUP_ENTITY.format(entity=entity, choices="、".join(LOOKUP_ENTITIES)),
                                 param_hint="--lookup")
    path = Path(file.strip()).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise typer.BadParameter(M.LOOKUP_MISSING.format(path=path), param_hint="--lookup") from exc
    except IsADirectoryError as exc:
        raise typer.BadParameter(M.LOOKUP_IS_DIR.format(path=path), param_hint="--lookup") from exc
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(M.LOOKUP_NOT_UTF8.format(path=path), param_hint="--lookup") from exc
    except OSError as exc:
        raise typer.BadParameter(M.LOOKUP_UNREADABLE.format(path=path, error=exc.strerror),
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
    from nlu.data_io import data_hash, load_training
    from nlu.model import save_model, train_model

    config = common.config()
    data_dir = config.nlu.data_dir or None
    started = time.perf_counter()
    with common.working(M.NLU_TRAINING):
        examples = load_training(data_dir)
        model = train_model(examples, data_hash(data_dir))
    path = out or Path(config.nlu.model_path)
    save_model(model, path)
    typer.echo(f"训练完成 trained {len(examples)} examples in {time.perf_counter() - started:.2f}s -> {path}")


@app.command()
def evaluate(show_errors: bool = typer.Option(False, "--errors", help="列出错误样例")) -> None:
    """在留出测试集上评估（只用训练数据训练）"""
    from nlu.data_io import load_examples, load_training, test_file
    from nlu.evaluate import evaluate as run_eval
    from nlu.model import train_model
    from nlu.parser import LocalParser
    from nlu.timeparse import warm_up

    config = common.config()
    data_dir = config.nlu.data_dir or None
    with common.working(M.NLU_EVALUATING):
        warm_up()
        model = train_model(load_training(data_dir))
        parser = LocalParser(model, config.tz, config.nlu.threshold, config.nlu.pipeline)
        report = run_eval(parser, load_examples(test_file(data_dir)))
    typer.echo(f"{'intent':<22}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, m in report["intents"].items():
        typer.echo(f"{name:<22}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>9}")
    typer.echo("")
    typer.echo(f"{'entity':<22}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, m in report["entities"].items():
        typer.echo(f"{name:<22}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>9}")
    typer.echo("")
    typer.echo(f"held-out examples: {report['n']}")
    typer.echo(f"intent accuracy: {report['intent_accuracy']:.4f}")
    typer.echo(f"entity precision/recall/F1: {report['entity_precision']:.4f} / {report['entity_recall']:.4f}"
               f" / {report['entity_f1']:.4f}")
    typer.echo(f"time/amount value accuracy: {report['value_accuracy']:.4f} (n={report['value_total']})")
    if show_errors:
        for line in report["errors"]:
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
