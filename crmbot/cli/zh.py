"""Chinese for the words typer and click print around our own text: panel titles, the help option, and
the usage errors ("Invalid value for --now: …", "No such command …").

Typer keeps these as English module constants and literal messages; this module swaps the constants and
translates the messages where they are formatted. Each patch checks that its target exists, so a typer
upgrade degrades to English text rather than a crash (tests/crmbot/test_cli.py notices)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

RICH_TEXTS = {
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ARGUMENTS_PANEL_TITLE": "参数",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已取消。",
    "DEFAULT_STRING": "[默认：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "DEPRECATED_STRING": "（已弃用）",
    "RICH_HELP": "运行 [blue]{command_path} {help_option}[/] 查看帮助。",
}
HELP_OPTION_TEXT = "显示帮助并退出。"
USAGE_PREFIX = "用法："
MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), r) for p, r in (
        (r"^Invalid value for (.+?): ", r"\1 的值无效："),
        (r"^Invalid value: ", "值无效："),
        (r"^Missing argument (.+?)\.", r"缺少参数 \1。"),
        (r"^Missing option (.+?)\.", r"缺少选项 \1。"),
        (r"^Missing parameter: (.+)", r"缺少参数 \1"),
        (r"^No such option: (.+)", r"没有这个选项：\1"),
        (r"^No such command '(.+)'\.", r"没有这个命令：\1。"),
        (r"Did you mean (.+)\?", r"是不是要用 \1？"),
        (r"\(Possible options: (.+)\)", r"（可选：\1）"),
        (r"^Got unexpected extra arguments? \((.+)\)", r"多余的参数：\1"),
        (r"^Option '(.+)' requires an argument\.", r"选项 \1 需要一个值。"),
        (r"'(.+?)' is not one of (.+)\.", r"「\1」不在可选范围内：\2。"),
        (r"'(.+?)' is not a valid integer\.", r"「\1」不是整数。"),
        (r"'(.+?)' is not a valid float\.", r"「\1」不是数字。"),
        (r"(.+?) is not in the range (.+)\.", r"\1 超出范围 \2。"),
        (r"[Ff]ile '(.+?)' does not exist\.", r"文件「\1」不存在。"),
        (r"[Ff]ile '(.+?)' is a directory\.", r"「\1」是文件夹，不是文件。"),
    )
]


def translate(text: str) -> str:
    for pattern, replacement in MESSAGES:
        text = pattern.sub(replacement, text)
    return text


def _translated(method: Callable[..., str]) -> Callable[..., str]:
    def format_message(self: Any) -> str:
        return translate(method(self))

    format_message.__zh__ = True  # type: ignore[attr-defined]
    return format_message


def install() -> None:
    """Idempotent; called by crmbot.cli.main before the command line is parsed."""
    from typer import rich_utils

    for name, text in RICH_TEXTS.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, text)
    try:
        from typer._click import core as click_core
        from typer._click import exceptions
    except ImportError:  # an older typer on plain click: its messages stay English
        return
    for name in ("ClickException", "UsageError", "BadParameter", "MissingParameter", "NoSuchOption", "BadOptionUsage",
                 "BadArgumentUsage"):
        cls = getattr(exceptions, name, None)
        method = getattr(cls, "format_message", None)
        if method is not None and not getattr(method, "__zh__", False):
            cls.format_message = _translated(method)
    try:
        from typer._click import formatting
    except ImportError:
        formatting = None
    write_usage = getattr(formatting, "HelpFormatter", None) and formatting.HelpFormatter.__dict__.get("write_usage")
    if write_usage is not None and not getattr(write_usage, "__zh__", False):
        def chinese_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
            write_usage(self, prog, args, USAGE_PREFIX if prefix is None else prefix)

        chinese_usage.__zh__ = True  # type: ignore[attr-defined]
        formatting.HelpFormatter.write_usage = chinese_usage
    get_help_option = click_core.Command.__dict__.get("get_help_option")
    if get_help_option is not None and not getattr(get_help_option, "__zh__", False):
        def chinese_help_option(self: Any, ctx: Any) -> Any:
            option = get_help_option(self, ctx)
            if option is not None:
                option.help = HELP_OPTION_TEXT
            return option

        chinese_help_option.__zh__ = True  # type: ignore[attr-defined]
        click_core.Command.get_help_option = chinese_help_option
