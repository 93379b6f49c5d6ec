"""The desk's own settings (DESK_*) for mail intake, the requester side, deadlines and fulfilment.

Read from the environment like everything in :mod:`config.settings`, which imports this module;
beat entries and task modules are collected here and merged there.
"""

from __future__ import annotations

import os

from celery.schedules import crontab

from config.settings_env import PRODUCTION, VAR_DIR, env_list

FEATURE_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# --- Mail intake (issue 3: helpdesk.intake) -------------------------------------------------
# Limits: a message over DESK_MAIL_MAX_BYTES or DESK_MAIL_MAX_PARTS MIME parts is quarantined;
# attachments over DESK_ATTACHMENT_MAX_BYTES (each) or beyond DESK_ATTACHMENT_MAX_COUNT are dropped
# (the raw message, kept as evidence, still holds them).
DESK_MAIL_MAX_BYTES = int(os.environ.get("DESK_MAIL_MAX_BYTES", str(25 * 1024 * 1024)))
DESK_MAIL_MAX_PARTS = int(os.environ.get("DESK_MAIL_MAX_PARTS", "100"))
DESK_ATTACHMENT_MAX_BYTES = int(os.environ.get("DESK_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
DESK_ATTACHMENT_MAX_COUNT = int(os.environ.get("DESK_ATTACHMENT_MAX_COUNT", "20"))
# IMAP mailbox polled by `manage.py poll_mailbox` (cron) or the Celery beat task below.
# DESK_IMAP_SECURITY: "ssl" (implicit TLS, port 993), "starttls" or "none" (loopback/tests only).
DESK_IMAP_HOST = os.environ.get("DESK_IMAP_HOST", "")
DESK_IMAP_SECURITY = os.environ.get("DESK_IMAP_SECURITY", "ssl").strip().lower()
DESK_IMAP_PORT = int(os.environ.get("DESK_IMAP_PORT", "993" if DESK_IMAP_SECURITY == "ssl" else "143"))
DESK_IMAP_USER = os.environ.get("DESK_IMAP_USER", "")
DESK_IMAP_PASSWORD = os.environ.get("DESK_IMAP_PASSWORD", "")
DESK_IMAP_FOLDER = os.environ.get("DESK_IMAP_FOLDER", "INBOX")
# Empty: filed messages get \Seen + the keyword below and stay put; else they are moved there.
DESK_IMAP_PROCESSED_FOLDER = os.environ.get("DESK_IMAP_PROCESSED_FOLDER", "")
DESK_IMAP_KEYWORD = os.environ.get("DESK_IMAP_KEYWORD", "$PrivacyDeskFiled")
DESK_IMAP_TIMEOUT = int(os.environ.get("DESK_IMAP_TIMEOUT", "60"))
# The authserv-id our receiving MTA writes in Authentication-Results (RFC 8601), e.g.
# "mx.micube.co.kr": a reply whose DMARC/DKIM/SPF failed there (or that has no such field) is
# quarantined instead of joining a ticket (docs/trust.md). Empty: not checked (development only).
DESK_TRUSTED_AUTHSERV_ID = os.environ.get("DESK_TRUSTED_AUTHSERV_ID", "").strip()
FEATURE_CELERY_IMPORTS = ["helpdesk.intake.tasks"]
if DESK_IMAP_HOST:
    FEATURE_BEAT_SCHEDULE["poll-mailbox"] = {"task": "helpdesk.intake.tasks.poll_mailbox", "schedule": 60.0}

# --- Requester side: Contact Us, signed links, abuse limits (issue 5: helpdesk.public) -------
# Attachments on the form and the status page: at most DESK_UPLOAD_MAX_FILES files of
# DESK_UPLOAD_MAX_BYTES each, of the types below (sniffed from the content, never the browser's
# claim). A whole request above DESK_PUBLIC_MAX_REQUEST_BYTES is refused before it is read.
DESK_UPLOAD_MAX_BYTES = int(os.environ.get("DESK_UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))
DESK_UPLOAD_MAX_FILES = int(os.environ.get("DESK_UPLOAD_MAX_FILES", "5"))
DESK_UPLOAD_ALLOWED_TYPES = env_list(
    "DESK_UPLOAD_ALLOWED_TYPES",
    "application/pdf,image/jpeg,image/png,image/gif,image/webp,image/heic,text/plain,"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/x-hwp",
)
DESK_PUBLIC_MAX_REQUEST_BYTES = int(
    os.environ.get("DESK_PUBLIC_MAX_REQUEST_BYTES", str(DESK_UPLOAD_MAX_FILES * DESK_UPLOAD_MAX_BYTES + 1024 * 1024))
)
# Requester links: e-mail / guardian confirmation (single use) and the private status page.
DESK_CONFIRM_LINK_MAX_AGE_DAYS = int(os.environ.get("DESK_CONFIRM_LINK_MAX_AGE_DAYS", "7"))
DESK_STATUS_LINK_MAX_AGE_DAYS = int(os.environ.get("DESK_STATUS_LINK_MAX_AGE_DAYS", "180"))
DESK_VERIFICATION_REMINDER_HOURS = int(os.environ.get("DESK_VERIFICATION_REMINDER_HOURS", "48"))
# django-ratelimit rates ("count/period", period s|m|h|d), on the default cache (Redis when
# REDIS_URL is set). Behind a proxy set RATELIMIT_IP_META_KEY (e.g. HTTP_X_REAL_IP).
DESK_RATE_SUBMIT_IP = os.environ.get("DESK_RATE_SUBMIT_IP", "10/h")
DESK_RATE_SUBMIT_EMAIL = os.environ.get("DESK_RATE_SUBMIT_EMAIL", "5/h")
DESK_RATE_RESEND_IP = os.environ.get("DESK_RATE_RESEND_IP", "10/h")
DESK_RATE_RESEND_EMAIL = os.environ.get("DESK_RATE_RESEND_EMAIL", "3/h")
DESK_RATE_LINK_IP = os.environ.get("DESK_RATE_LINK_IP", "60/h")  # posts on status/confirmation pages
RATELIMIT_USE_CACHE = "default"
if os.environ.get("RATELIMIT_IP_META_KEY"):
    RATELIMIT_IP_META_KEY = os.environ["RATELIMIT_IP_META_KEY"]
FEATURE_CELERY_IMPORTS += ["helpdesk.public.tasks"]
FEATURE_BEAT_SCHEDULE["requester-verification-reminders"] = {
    "task": "helpdesk.public.tasks.send_verification_reminders", "schedule": 3600.0,
}

# --- Deadlines: SLA sweep, daily digest, mail retries (issue 4: notifications.reminders) -------
# crontab times are in CELERY_TIMEZONE (the desk's, Asia/Seoul). Without beat, run
# `manage.py sla_sweep` from cron every 5 minutes (it sends the digest once, from 08:30).
DESK_SLA_SWEEP_BATCH = int(os.environ.get("DESK_SLA_SWEEP_BATCH", "500"))  # claims per sweep run
FEATURE_BEAT_SCHEDULE.update({
    "sla-sweep": {"task": "notifications.tasks.sla_sweep", "schedule": 300.0},
    # Reminders about tasks sent to departments, processors and providers (issue 26).
    "task-reminders": {"task": "notifications.tasks.task_reminder_sweep", "schedule": 300.0},
    "daily-digest": {"task": "notifications.tasks.send_daily_digests", "schedule": crontab(hour=8, minute=30)},
    "retry-pending-messages": {"task": "notifications.tasks.retry_pending_messages", "schedule": 600.0},
    "retry-webhooks": {"task": "notifications.tasks.retry_webhooks", "schedule": 60.0},
})
# The managers' figures summary (helpdesk.metrics): reports only read it; this keeps it current.
# Without beat, run `manage.py refresh_figures` from cron every few minutes.
FEATURE_CELERY_IMPORTS += ["helpdesk.metrics.tasks"]
FEATURE_BEAT_SCHEDULE["refresh-figures"] = {"task": "helpdesk.metrics.tasks.refresh_figures", "schedule": 60.0}

# --- Fulfilment: the company's own data sources (issue 13: helpdesk.fulfilment) -------------------
# DESK_DATA_SOURCES names the TOML file of data sources (docs/fulfilment.md). In development
# `make run` writes var/data_sources.toml for a demo CRM, used when the variable is not set.
_DEV_DATA_SOURCES = VAR_DIR / "data_sources.toml"
DESK_DATA_SOURCES = os.environ.get(
    "DESK_DATA_SOURCES", str(_DEV_DATA_SOURCES) if not PRODUCTION and _DEV_DATA_SOURCES.exists() else "")
# Days a released access package stays downloadable from the requester's status page.
DESK_ACCESS_PACKAGE_DAYS = int(os.environ.get("DESK_ACCESS_PACKAGE_DAYS", "14"))
# Four eyes on the irreversible steps (issue 28): when on, whoever previewed an erasure or built an
# access package may not also approve or release it — a second member of staff must. Off by default:
# a two-person office would otherwise wait for the other person on every request.
DESK_FOUR_EYES = os.environ.get("DESK_FOUR_EYES", "0").strip().lower() in {"1", "true", "yes", "on"}
# Administrators see and may take the tickets of a colleague marked away (issue 28); 0 turns it off.
DESK_COVER_AWAY_COLLEAGUES = os.environ.get("DESK_COVER_AWAY_COLLEAGUES", "1").strip().lower() not in {
    "0", "false", "no", "off"}
FEATURE_CELERY_IMPORTS += ["helpdesk.fulfilment.tasks"]

# Issue 31: bulk jobs whose worker died are picked up again (each ticket is still acted on once).
FEATURE_BEAT_SCHEDULE["resume-bulk-jobs"] = {"task": "helpdesk.desk.tasks.resume_bulk_jobs", "schedule": 300.0}
FEATURE_CELERY_IMPORTS += ["helpdesk.desk.tasks"]
