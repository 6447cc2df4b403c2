"""Members: clerks look a member up (exact pairs only), register (办卡) and renew (续卡) members, record
purchases and redemptions; members ask their own points and unsubscribe (退订) or re-subscribe (订阅).

Importing this package registers every member job."""

from dialogs.member import card, lookup, purchase, self_service  # noqa: F401  (registers the jobs)
from dialogs.member.stats import member_sales_text

__all__ = ["member_sales_text"]
