"""The `crmbot` console script: the roof that mounts every package's commands.

Each sub-command lives in its own module and is imported only when it runs (or when its own --help is
shown), so `crmbot --help` loads typer and nothing of the CRM (see bench/cli_bench.py for the figure).
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from typing import Any

import typer
import typer.core

from crmbot import messages as CM


@dataclass(frozen=True)
class Lazy:
    """A sub-command by reference: module, attribute (a typer app or a command function), its one-line help."""

    module: str
    attribute: str
    help: str
    context_settings: dict[str, Any] = field(default_factory=dict)

    def load(self, name: str) -> typer.core.TyperCommand | typer.core.TyperGroup:
        target = getattr(importlib.import_module(self.module), self.attribute)
        if isinstance(target, typer.Typer):
            command = typer.main.get_group(target)
        else:
            single = typer.Typer(add_completion=False)
            single.command(name, context_settings=self.context_settings or None)(target)
            command = typer.main.get_command(single)
        command.name = name
        return command


BENCH_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}

COMMANDS: dict[str, Lazy] = {
    "chat": Lazy("crmbot.cli.chat", "chat", "在终端里和销售助手对话（默认使用内置 SQLite 与演示数据）"),
    "run": Lazy("bot.cli", "run_command", "启动聊天渠道（Telegram / 微信 / 企业微信）、收件箱与定时任务"),
    "staff": Lazy("bot.cli", "staff_app", "员工：添加、列出、生成绑定邀请码、停用、解除绑定"),
    "nlu": Lazy("crmbot.cli.nlu", "app", "中文理解模型：解析、训练、评估、导出 Rasa 项目"),
    "db": Lazy("crmbot.cli.db", "db_app", "数据库迁移：升级、查看当前版本"),
    "demo": Lazy("crmbot.cli.db", "demo_app", "演示数据：生成一家演示公司"),
    "import": Lazy("crmbot.cli.transfer", "import_app", "导入客户、会员、产品、员工（xlsx / csv）"),
    "export": Lazy("crmbot.cli.transfer", "export_app", "导出客户、拜访、订单、会员（xlsx / csv）"),
    "backup": Lazy("crmbot.cli.backup", "backup_command", "备份数据库"),
    "restore": Lazy("crmbot.cli.backup", "restore_command", "从备份恢复数据库"),
    "scheduler": Lazy("crmbot.cli.scheduler", "scheduler_app", "定时任务：查看状态、立即运行一个任务"),
    "reminders": Lazy("crmbot.cli.scheduler", "reminders_app", "跟进提醒：列出待处理的提醒"),
    "outbox": Lazy("crmbot.cli.scheduler", "outbox_app", "待发消息：查看、重发失败的消息"),
    "inbox": Lazy("bot.cli", "inbox_app", "收件箱：已收到的聊天消息，处理失败的可重新处理"),
    "bench": Lazy("crmbot.cli.bench", "bench_command", "运行性能基准并打印数据", BENCH_CONTEXT),
    "config-check": Lazy("crmbot.cli.chat", "config_check", "校验配置文件与环境变量"),
    "version": Lazy("crmbot.cli.chat", "version", "打印版本号"),
}


class LazyGroup(typer.core.TyperGroup):
    """Loads a sub-command's module only when that sub-command is used; the top-level help lists names
    and one-line helps without importing anything."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        lazy = COMMANDS.get(cmd_name)
        if lazy is None:
            return None
        if self._listing:
            return typer.core.TyperCommand(cmd_name, help=lazy.help, short_help=lazy.help)
        command = self.commands[cmd_name] = lazy.load(cmd_name)
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except typer.core._click.exceptions.UsageError as error:  # suggest among the lazy names too
            from difflib import get_close_matches

            matches = get_close_matches(args[0], list(COMMANDS)) if args else []
            if matches and "Did you mean" not in error.message:
                error.message = f"{error.message.rstrip('.')}. Did you mean {', '.join(map(repr, matches))}?"
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(cls=LazyGroup, help=CM.APP_HELP, no_args_is_help=True, pretty_exceptions_enable=False,
                  add_completion=False)


@app.callback()
def _root() -> None:
    pass


def main() -> None:
    from crmbot.cli import zh
    from crmbot.cli.errors import run_reporting_errors

    zh.install()
    sys.exit(run_reporting_errors(app))


if __name__ == "__main__":
    main()
