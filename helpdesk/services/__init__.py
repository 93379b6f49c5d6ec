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
from helpdesk.services.fees import latest_quote, quote_fee
from helpdesk.services.files import (
    TransactionOutcome,
    atomic_removing_files,
    files_removed_on_error,
    remember_file,
    store_new_file,
)
from helpdesk.services.hand_delivery import record_hand_delivery
from helpdesk.services.locking import bump, check_version, lock_for_staff, lock_ticket
from helpdesk.services.merging import MergePreview, link_tickets, merge_ticket, preview_merge, unlink_tickets
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
from helpdesk.services.participants import add_participant, offered_from_cc, remove_participant
from helpdesk.services.policies import extend_deadline, reclassify, save_sla_policy
from helpdesk.services.quarantine import (
    MessageReader,
    attach_quarantine_to_ticket,
    convert_quarantine_to_ticket,
    discard_quarantine,
    quarantine_message,
)
from helpdesk.services.representation import (
    SUBJECT_NOT_TOLD,
    OnBehalfOf,
    check_on_behalf_of,
    check_representation,
)
from helpdesk.services.requesters import normalize_email
from helpdesk.services.tickets import check_reachable, create_ticket, staff_received_at
from helpdesk.services.transitions import TRANSITIONS, run_transition, transition_ticket

__all__ = [
    "STATES_A_MAIL_MOVES", "SUBJECT_NOT_TOLD", "TRANSITIONS", "VIEW_LOG_MINUTES", "ConflictError", "GuardError",
    "InboundMessage", "MailOnTicket", "MergePreview", "MessageReader", "NewAttachment", "OnBehalfOf",
    "PermissionDeniedError", "ServiceError", "TicketToOpen", "TransactionOutcome", "TransitionNotAllowedError",
    "add_inbound_message", "add_note", "add_participant", "add_system_note", "assign_ticket",
    "assignable_administrators", "atomic_removing_files", "attach_quarantine_to_ticket", "auto_assign", "bump",
    "change_own_password", "check_on_behalf_of", "check_reachable", "check_representation", "check_version",
    "convert_quarantine_to_ticket", "create_ticket", "discard_quarantine", "extend_deadline",
    "files_removed_on_error", "latest_quote", "link_tickets", "lock_for_staff", "lock_ticket", "merge_ticket",
    "normalize_email", "offered_from_cc", "open_tickets", "pick_assignee", "preview_merge", "quarantine_message",
    "quote_fee", "reclassify", "record_bounce", "record_hand_delivery", "record_ticket_access",
    "record_ticket_view", "remember_file", "remove_participant", "reset_password", "run_transition",
    "save_sla_policy", "send_reply", "set_away", "staff_received_at", "store_message", "store_new_file",
    "transition_ticket", "unlink_tickets"
]
