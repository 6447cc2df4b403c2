"""WeCom (企业微信) self-built app callbacks: like the Official Account, but the GET echostr is
encrypted too and the crypto is keyed by the corp id (wechatpy 1.8: wechatpy.enterprise)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto
from wechatpy.exceptions import InvalidSignatureException

from bot.wechat import TencentChannel
from crmbot.config import WeComSettings


class WeComChannel(TencentChannel):
    channel = "wecom"

    def _crypto(self) -> Any:
        assert isinstance(self.settings, WeComSettings)
        return WorkCrypto(self.settings.token.get_secret_value(), self.settings.encoding_aes_key.get_secret_value(),
                          self.settings.corp_id)

    async def verify(self, request: Request) -> Response:
        q = request.query_params
        try:
            echo = self.crypto.check_signature(
                q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""), q.get("echostr", "")
            )
        except InvalidSignatureException:
            return PlainTextResponse("forbidden", status_code=403)
        except Exception:  # signed but undecryptable: wrong key or corp id
            return PlainTextResponse("bad echostr", status_code=400)
        return PlainTextResponse(echo.decode("utf-8") if isinstance(echo, bytes) else str(echo))
