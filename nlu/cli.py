"""`crmbot nlu ...` commands (parse, train, evaluate, export-rasa)."""

import typer

app = typer.Typer(help="中文理解模型：解析、训练、评估、导出 Rasa 项目", no_args_is_help=True)
