"""WeChat Official Account (公众号): safe-mode callbacks at /wechat, customer-service messages out."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from bot import messages as BM
from bot.channels import register
from bot.channels._tencent import TencentChannel, TencentSettings, token_url_client


class WeChatSettings(TencentSettings):
    app_id: str = ""
    api_base_url: str = "https://api.weixin.qq.com/cgi-bin/"  # a local fake in tests

    required_fields: ClassVar[tuple[str, ...]] = ("app_id", "secret", "token", "encoding_aes_key")


@register
class WeChatChannel(TencentChannel):
    name = "wechat"
    settings_model = WeChatSettings
    path = "/wechat"
    settings: WeChatSettings

    def _crypto(self) -> Any:
        from wechatpy.crypto import WeChatCrypto

        return WeChatCrypto(self.settings.callback_token, self.settings.aes_key, self.settings.app_id)

    def _parse(self, plaintext: str) -> Any:
        from wechatpy import parse_message

        return parse_message(plaintext)

    def _echo(self, query: Any) -> str:
        """A plain signature over token, timestamp and nonce; the echostr comes back as sent."""
        from wechatpy.utils import check_signature

        check_signature(self.settings.callback_token, query.get("signature", ""), query.get("timestamp", ""),
                        query.get("nonce", ""))
        return str(query.get("echostr", ""))

    # --- customer-service messages (within 48 h of the user's last message) ---
    def _make_client(self, storage: Any) -> Any:
        from wechatpy.client import WeChatClient

        client_class = token_url_client(WeChatClient, "token", lambda c: {
            "grant_type": "client_credential", "appid": c.appid, "secret": c.secret})
        return client_class(self.settings.app_id, self.settings.secret.get_secret_value(), api_base_url=self.settings.api_base_url,
                            session=storage)

    def _send_text(self, user: str, text: str) -> None:
        self.client.message.send_text(user, text)

    def _send_image(self, user: str, path: str) -> None:
        self.client.message.send_image(user, self._upload(path))

    def _send_file(self, user: str, path: str) -> None:
        # Customer-service messages cannot carry files on an Official Account: say where to get it.
        self.client.message.send_text(user, BM.FILE_NOT_SUPPORTED.format(name=Path(path).name))
