"""The CRM store's services: the only writers. Callers own the transaction (crm_store.db.transaction)."""

from crm_store.services.activities import (
    Followups,
    create_reminder,
    find_product,
    list_followups,
    log_visit,
    open_opportunities,
    untouched_customers,
    update_opportunity,
)
from crm_store.services.common import Actor, actor_for_staff, actor_from_staff, normalize_phone
from crm_store.services.customers import (
    HistoryItem,
    create_customer,
    customer_history,
    find_customers,
    find_duplicates,
    find_or_create_contact,
    get_customer,
)
from crm_store.services.names import NamesCursor, entity_names, gazetteer_names
from crm_store.services.reminders import close_reminders, open_reminders, reminder_answered_by_visit
from crm_store.services.staff import bind_identity, find_staff, identity_for, list_staff
from crm_store.services.undo import group_writes, last_audit_id, undo_last_write

__all__ = [
    "find_product",
    "Actor",
    "Followups",
    "NamesCursor",
    "HistoryItem",
    "actor_for_staff",
    "actor_from_staff",
    "bind_identity",
    "close_reminders",
    "create_customer",
    "create_reminder",
    "customer_history",
    "entity_names",
    "find_customers",
    "find_duplicates",
    "find_or_create_contact",
    "find_staff",
    "gazetteer_names",
    "get_customer",
    "group_writes",
    "identity_for",
    "last_audit_id",
    "list_followups",
    "list_staff",
    "log_visit",
    "normalize_phone",
    "open_opportunities",
    "open_reminders",
    "reminder_answered_by_visit",
    "undo_last_write",
    "untouched_customers",
    "update_opportunity",
]
