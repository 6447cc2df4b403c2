"""`crmbot staff invite|unbind` and `crmbot run` (mounted by crmbot.cli)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import datetime

import typer
import uvicorn

from bot import messages as BM
from crm_store.errors import CRMError
from crmbot.config import Config, ConfigError

log = logging.getLogger(__name__)

staff_app = typer.Typer(help="员工账号绑定 staff chat bindings", no_args_is_help=True)


@staff_app.command("invite")
def invite(name: str = typer.Argument(..., help="员工姓名，例如 张伟")) -> None:
    """生成一次性绑定邀请码（7 天有效）/ create a one-time binding code."""
    from crm_store.db import transaction
    from crm_store.services import binding, find_staff, list_staff
    from crmbot.config import load_config
    from crmbot.wiring import open_database

    config = load_config()
    runtime = open_database(config)
    now = datetime.now(config.tz)
    try:
        with transaction(runtime.factory) as session:
            staff = find_staff(session, name)
            if staff is None:
                names = "、".join(s.name for s in list_staff(session))
                typer.echo(BM.STAFF_UNKNOWN.format(name=name, names=names), err=True)
                raise typer.Exit(2)
            row = binding.create_invite(session, staff.id, actor=None, now=now)
            code, expires = row.code, row.expires_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
    except CRMError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    finally:
        runtime.engine.dispose()
    typer.echo(BM.INVITE_CREATED.format(name=name, code=code, expires=expires))


@staff_app.command("unbind")
def unbind(
    channel: str = typer.Argument(..., help="telegram | wechat | wecom | console"),
    external_id: str = typer.Argument(..., help="该渠道的用户 ID（Telegram user id / OpenID / UserID）"),
) -> None:
    """解除某个聊天账号的绑定（记入审计日志）/ remove a chat binding (audited)."""
    from crm_store.db import transaction
    from crm_store.services import binding
    from crmbot.config import load_config
    from crmbot.wiring import open_database

    config = load_config()
    runtime = open_database(config)
    try:
        with transaction(runtime.factory) as session:
            binding.unbind(session, channel, external_id, actor=None, now=datetime.now(config.tz))
    except CRMError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    finally:
        runtime.engine.dispose()
    typer.echo(BM.UNBOUND.format(channel=channel, external_id=external_id))


# --- crmbot run ---------------------------------------------------------------------------------


def _check(config: Config) -> list[str]:
    """What `crmbot run` cannot start without; bilingual, naming the key."""
    problems = []
    channels = config.channels
    if channels.telegram.enabled:
        if not channels.telegram.token:
            problems.append("channels.telegram.token 未填写 / missing")
        if channels.telegram.webhook_url and not channels.telegram.webhook_secret:
            problems.append("channels.telegram.webhook_secret 必须填写（webhook 模式）/ required with webhook_url")
    for name, section, fields in (
        ("wechat", channels.wechat, ("app_id", "secret", "token", "encoding_aes_key")),
        ("wecom", channels.wecom, ("corp_id", "agent_id", "secret", "token", "encoding_aes_key")),
    ):
        if section.enabled:
            problems += [f"channels.{name}.{f} 未填写 / missing" for f in fields if not getattr(section, f)]
            if section.encoding_aes_key and len(section.encoding_aes_key) != 43:
                problems.append(f"channels.{name}.encoding_aes_key 应为 43 个字符 / must be 43 characters")
    return problems


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its graceful shutdown; we finish with exit code 0 instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _scheduler_runner() -> Callable[..., None] | None:
    """scheduler.run_scheduler(runtime, senders, stop_event), when the scheduler package provides it."""
    try:
        from scheduler import run_scheduler
    except ImportError:
        return None
    return run_scheduler


def build_server(config: Config) -> tuple[uvicorn.Server, list[str]]:
    """Everything `crmbot run` starts, wired but not yet running (tests drive it too)."""
    from bot.http import build_app
    from bot.senders import build_senders
    from bot.telegram import TelegramChannel
    from bot.wechat import WeChatChannel
    from bot.wecom import WeComChannel
    from crmbot.wiring import build_dialogs, open_database

    problems = _check(config)
    if problems:
        raise ConfigError("无法启动 / cannot start: " + "; ".join(problems))
    runtime = open_database(config)
    dialogs = build_dialogs(runtime)
    senders = build_senders(config)
    channels = config.channels
    limit = config.server.max_body_bytes
    telegram = TelegramChannel(channels.telegram, dialogs) if channels.telegram.enabled else None
    wechat = WeChatChannel(channels.wechat, dialogs, senders.get("wechat"), max_body_bytes=limit) \
        if channels.wechat.enabled else None
    wecom = WeComChannel(channels.wecom, dialogs, senders.get("wecom"), max_body_bytes=limit) \
        if channels.wecom.enabled else None

    stop_event = threading.Event()
    threads: list[threading.Thread] = []
    runner = _scheduler_runner()

    async def start_scheduler() -> None:
        if runner is None:
            log.warning("scheduler.run_scheduler not available: reminders and the outbox are not delivered")
            return
        thread = threading.Thread(target=runner, args=(runtime, senders, stop_event), name="scheduler", daemon=True)
        thread.start()
        threads.append(thread)

    async def stop_scheduler() -> None:
        stop_event.set()
        for thread in threads:
            await asyncio.to_thread(thread.join, 30)
        runtime.engine.dispose()

    app = build_app(runtime, telegram=telegram, wechat=wechat, wecom=wecom,
                    on_startup=[start_scheduler], on_shutdown=[stop_scheduler])
    server = _Server(uvicorn.Config(app, host=config.server.host, port=config.server.port,
                                           log_level="info", lifespan="on", proxy_headers=True))
    names = [name for name, c in (("telegram", telegram), ("wechat", wechat), ("wecom", wecom)) if c]
    return server, names


def run(config: Config) -> None:
    """Serve every configured channel plus the scheduler until SIGTERM/SIGINT (uvicorn's handlers
    stop accepting, finish requests in flight, then run the shutdown hooks)."""
    from crmbot.logging_setup import install_redaction

    install_redaction(config)  # issue 10: no phone number or secret in any log line
    server, names = build_server(config)
    typer.echo(BM.RUN_STARTED.format(host=config.server.host, port=config.server.port,
                                     channels="、".join(names) or "-"))
    if not names:
        typer.echo(BM.RUN_NO_CHANNEL)
    server.run()
    typer.echo(BM.RUN_STOPPED)


def run_command() -> None:
    """启动所有已配置的渠道（Telegram / 微信公众号 / 企业微信）和定时任务 / serve channels + scheduler."""
    from crmbot.config import load_config

    run(load_config())
