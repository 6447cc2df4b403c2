"""WeCom (企业微信) self-built app: callbacks at /wecom (the GET echostr is encrypted too, and the crypto
is keyed by the corp id), app messages out."""

from __future__ import annotations

from typing import Any, ClassVar

from bot.channels import register
from bot.channels._tencent import TencentChannel, TencentSettings, token_url_client


class WeComSettings(TencentSettings):
    corp_id: str = ""
    agent_id: str = ""
    api_base_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"

    required_fields: ClassVar[tuple[str, ...]] = ("corp_id", "agent_id", "secret", "token", "encoding_aes_key")

    def problems(self, name: str) -> list[str]:
        found = super().problems(name)
        if self.agent_id and not (self.agent_id.isascii() and self.agent_id.isdigit()):
            found.append(f"channels.{name}.agent_id 应为数字（企业微信应用的 AgentId）/ must be digits")
        return found


@register
class WeComChannel(TencentChannel):
    name = "wecom"
    settings_model = WeComSettings
    path = "/wecom"
    settings: WeComSettings

    def _crypto(self) -> Any:
        from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

        return WorkCrypto(self.settings.callback_token, self.settings.aes_key, self.settings.corp_id)

    def _parse(self, plaintext: str) -> Any:
        from wechatpy.enterprise import parse_message

        return parse_message(plaintext)

    def _echo(self, query: Any) -> str:
        """WeCom encrypts the echostr too: verify the msg_signature, return it decrypted."""
        echo = self.crypto.check_signature(query.get("msg_signature", ""), query.get("timestamp", ""),
                                           query.get("nonce", ""), query.get("echostr", ""))
        return echo.decode("utf-8") if isinstance(echo, bytes) else str(echo)

    # --- app messages ---
    def _make_client(self, storage: Any) -> Any:
        from wechatpy.enterprise.client import WeChatClient

        client_class = token_url_client(WeChatClient, "gettoken", lambda c: {
            "corpid": c.corp_id, "corpsecret": c.secret})
        return client_class(self.settings.corp_id, self.settings.secret.get_secret_value(), api_base_url=self.settings.api_base_url,
                            session=storage)

    @property
    def agent_id(self) -> int:
        return int(self.settings.agent_id or 0)

    def _send_text(self, user: str, text: str) -> None:
        self.client.message.send_text(self.agent_id, user, text)

    def _send_image(self, user: str, path: str) -> None:
        self.client.message.send_image(self.agent_id, user, self._upload(path))

    def _send_file(self, user: str, path: str) -> None:
        self.client.message.send_file(self.agent_id, user, self._upload(path, "file"))
