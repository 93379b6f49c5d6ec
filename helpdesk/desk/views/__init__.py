"""The administrators' desk: queues, the ticket page, acting on tickets, downloads, quarantine review.

Views stay thin: reads come from :mod:`helpdesk.selectors`, writes go through
:mod:`helpdesk.services`, whose errors are answered by the status each carries
(:func:`~helpdesk.desk.views.common.service_error_page`, the same mapping as the API's).
"""

from helpdesk.desk.views.files import attachment_download, raw_message_download
from helpdesk.desk.views.intake import new_ticket, notice_given, participants, representation_check
from helpdesk.desk.views.merging import merge, related
from helpdesk.desk.views.quarantine import quarantine_action, quarantine_detail, quarantine_list, quarantine_raw
from helpdesk.desk.views.queues import DeskLoginView, DeskLogoutView, away, queue
from helpdesk.desk.views.records import case_record, fee
from helpdesk.desk.views.tickets import assign, extend, note, reclassify, reply, take, ticket_detail, transition

__all__ = [
    "DeskLoginView", "DeskLogoutView", "assign", "attachment_download", "away", "case_record", "extend", "fee",
    "merge", "new_ticket", "note", "notice_given", "participants", "quarantine_action", "quarantine_detail",
    "quarantine_list", "quarantine_raw", "queue", "raw_message_download", "reclassify", "related", "reply",
    "representation_check", "take", "ticket_detail", "transition",
]
