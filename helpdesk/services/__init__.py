"""Every write to tickets and messages goes through this package: e-mail, web form, API and admin.

Functions take keyword-only arguments and run in one transaction; the ticket's row is locked
(:mod:`~helpdesk.services.locking`) and its optimistic-lock version checked and advanced; every
change appends an audit event; mail is queued with ``transaction.on_commit`` so nothing is sent
for work that rolled back. One module per concern; the public names are re-exported here.
"""

from helpdesk.services.access import VIEW_LOG_MINUTES, record_ticket_access, record_ticket_view
from helpdesk.services.accounts import change_own_password, reset_password
from helpdesk.services.assignment import assign_ticket, assignable_administrators, auto_assign, pick_assignee, set_away
from helpdesk.services.errors import (
    ConflictError,
    GuardError,
    PermissionDeniedError,
    ServiceError,
    TransitionNotAllowedError,
)
from helpdesk.services.files import (
    TransactionOutcome,
    atomic_removing_files,
    files_removed_on_error,
    remember_file,
    store_new_file,
)
from helpdesk.services.locking import bump, check_version, lock_for_staff, lock_ticket
from helpdesk.services.messages import (
    STATES_A_MAIL_MOVES,
    InboundMessage,
    NewAttachment,
    add_inbound_message,
    add_note,
    add_system_note,
    record_bounce,
    send_reply,
    store_message,
)
from helpdesk.services.opening import MailOnTicket, TicketToOpen, open_tickets
from helpdesk.services.policies import extend_deadline, reclassify, save_sla_policy
from helpdesk.services.quarantine import (
    MessageReader,
    attach_quarantine_to_ticket,
    convert_quarantine_to_ticket,
    discard_quarantine,
    quarantine_message,
)
from helpdesk.services.requesters import normalize_email
from helpdesk.services.tickets import create_ticket
from helpdesk.services.transitions import TRANSITIONS, run_transition, transition_ticket

__all__ = [
    "STATES_A_MAIL_MOVES", "TRANSITIONS", "VIEW_LOG_MINUTES",
    "ConflictError", "GuardError", "InboundMessage", "MailOnTicket", "MessageReader", "NewAttachment",
    "PermissionDeniedError", "ServiceError", "TicketToOpen", "TransactionOutcome", "TransitionNotAllowedError",
    "add_inbound_message", "add_note", "add_system_note", "assign_ticket", "assignable_administrators",
    "atomic_removing_files", "attach_quarantine_to_ticket", "auto_assign",
    "bump", "change_own_password", "check_version", "convert_quarantine_to_ticket", "create_ticket",
    "discard_quarantine", "extend_deadline", "files_removed_on_error",
    "lock_for_staff", "lock_ticket", "normalize_email",
    "open_tickets", "pick_assignee", "quarantine_message", "reclassify", "record_bounce",
    "record_ticket_access", "record_ticket_view",
    "remember_file", "reset_password", "run_transition", "save_sla_policy", "send_reply", "set_away",
    "store_message", "store_new_file", "transition_ticket",
]
