"""Privacy Desk settings, read from the environment (12-factor).

Zero-config default: SQLite file under ``var/``, Celery tasks run in-process, mail printed to the
console. Set ``DESK_ENV=production`` for the hardened mode that ``manage.py check --deploy``
accepts; it then refuses to start without a real ``SECRET_KEY`` and ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.settings_env import BASE_DIR, DESK_ENV, PRODUCTION, VAR_DIR, env_bool, env_list  # noqa: F401
from config.settings_storage import file_storage

# Lets admin/queryset classes be subscripted at runtime, as the type stubs expect.
django_stubs_ext.monkeypatch()


# Off unless asked for: `make run` sets DEBUG=1 for itself; anything else (a stray runserver,
# gunicorn without DESK_ENV) never shows Django's debug pages with settings and URL lists.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when DESK_ENV=production")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"  # noqa: S105 (dev only)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # The admin without autodiscovery: config/urls.py calls admin.autodiscover(), so commands
    # (ingest_email, started per mail by an MTA) skip the admin modules' imports.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / Redoc assets served locally (no CDN)
    "django_filters",
    "helpdesk",
    "helpdesk.fulfilment",
    "workflows",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.no_store.NoStoreMiddleware",  # Cache-Control: no-store on pages with personal data
    "helpdesk.base_url.RequestOriginMiddleware",  # development: mail links follow the served address
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.locale_middleware.LocaleMiddleware",  # the API answers in Accept-Language
    "config.strict_utf8.StrictUtf8Middleware",  # invalid UTF-8 in a form or query: 400, never repaired
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# --- Staff sign-in throttling (issue 6: the desk) -------------------------------------------
# django-axes locks a username+IP pair out after AXES_FAILURE_LIMIT failed sign-ins for
# AXES_COOLOFF_TIME hours. Its middleware must come last; its backend first.
INSTALLED_APPS += ["axes", "helpdesk.desk"]  # helpdesk.desk: the desk's template tags
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))  # 15 minutes
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "desk/locked_out.html"
# Behind the proxy: the client address from the same trusted header as the rate limits.
AXES_CLIENT_IP_CALLABLE = "helpdesk.client_ip.client_ip"
# No "AXES: BEGIN …" line at every start: an MTA keeps ~100 characters of ingest_email's output.
AXES_VERBOSE = False

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "helpdesk.User"
LOGIN_URL = "desk:login"
LOGIN_REDIRECT_URL = "desk:queue"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Covering indexes (INCLUDE) exist for PostgreSQL; SQLite simply indexes the key columns.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
    # WAL + a busy timeout let the web server and an ingest process share the file. secure_delete:
    # a deleted row (erased raw mail, a purged ticket) is overwritten with zeros, not left in a free page.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;",
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Only with PostgreSQL: on SQLite its import of psycopg alone was ~80 ms of every process's
    # start, and ingest_email starts once per mail when an MTA pipes it.
    INSTALLED_APPS.insert(INSTALLED_APPS.index("rest_framework"), "django.contrib.postgres")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, login throttling) --------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache"
            if not env_bool("DESK_LOCMEM_CACHE", False)
            else "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Passwords and sessions -----------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = 60 * 60 * 10  # one working day
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "ko")
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
# Uploads and raw mail live outside any web root and are only served through permission-checked
# views (MEDIA_URL is deliberately unset).
PRIVATE_STORAGE_ROOT = Path(os.environ.get("PRIVATE_STORAGE_ROOT", VAR_DIR / "private"))
STORAGES = {
    "default": file_storage(PRIVATE_STORAGE_ROOT),  # DESK_FILE_STORAGE: filesystem, database or s3
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- Mail -----------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 30
DESK_EMAIL = os.environ.get("DESK_EMAIL", "micube@micube.co.kr")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", f"MICUBE Privacy Desk <{DESK_EMAIL}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Addresses whose mail is our own: never a new ticket (loop protection).
DESK_OWN_ADDRESSES = env_list("DESK_OWN_ADDRESSES", DESK_EMAIL)
# Domain part of the Message-IDs we generate; lets intake recognise our own mail.
DESK_MESSAGE_ID_DOMAIN = os.environ.get("DESK_MESSAGE_ID_DOMAIN", "privacy-desk.local")
DESK_BASE_URL = os.environ.get("DESK_BASE_URL", "http://localhost:8000").rstrip("/")
# Development without DESK_BASE_URL: links in mail use the host and port the desk was reached on
# (helpdesk/base_url.py); never in production, where the Host header is not to be trusted.
DESK_BASE_URL_FROM_REQUEST = DEBUG and not PRODUCTION and not os.environ.get("DESK_BASE_URL")
DESK_REFERENCE_PREFIX = "PRIV"

# The privacy administrators named in the policy (section 14), "username:Full Name" pairs.
DESK_ADMINISTRATORS = env_list("DESK_ADMINISTRATORS", "moonwon.park:Park Moonwon,hyojoon.shim:Shim Hyojoon")
DESK_MANAGERS = env_list("DESK_MANAGERS", "manager:Privacy Manager")

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "") or None
# Without a broker the desk runs every task in-process, so the default setup needs no server.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Privacy Desk API",
    "DESCRIPTION": "Privacy complaints and data-subject requests for MICUBE Solution.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}
# --- API docs (issue 7: helpdesk.api) ---------------------------------------------------------
# The schema UI's JavaScript comes from drf-spectacular-sidecar, not a CDN: the desk may run offline.
SPECTACULAR_SETTINGS.update({
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RequestTypeEnum": "workflows.request_types.RequestType",
        "PeriodUnitEnum": "workflows.models.PeriodUnit",
        "TicketStateEnum": "workflows.states.TicketState",
        # Issue 26: the channels staff type in, and identity checks shared by verify and representation.
        "ChannelEnum": "helpdesk.models.tickets.Channel",
        "StaffChannelEnum": "helpdesk.models.tickets.STAFF_CHANNEL_CHOICES",
        "VerificationMethodEnum": "workflows.states.VerificationMethod",
    },
})

# --- Logging (structured: one JSON object per line in production) ---------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json" if PRODUCTION else "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # WeasyPrint logs each rendering step of a notice PDF at INFO.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"},
                "fontTools": {"level": "WARNING"}},
}

# --- Security -------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DESK_ENV=production")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Health checks hit plain HTTP from the load balancer.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]

# --- Records and trust (issue 8: retention, audit, CSP, two-factor, health) ------------------
# Content-Security-Policy (django-csp): only our own origin; no inline <script> or style=""
# (docs/trust.md says what templates may do). CSP_REPORT_URI: optional violation-report endpoint.
from celery.schedules import crontab  # noqa: E402
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    # drf-spectacular's Swagger UI / Redoc pages (API docs, no personal data) serve their assets
    # locally (sidecar) but start them with an inline script; they are the only pages without the policy.
    "EXCLUDE_URL_PREFIXES": ["/api/v1/docs/", "/api/v1/redoc/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        **({"report-uri": [os.environ["CSP_REPORT_URI"]]} if os.environ.get("CSP_REPORT_URI") else {}),
    },
}
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
# Optional TOTP two-factor sign-in for staff who enrolled a device (helpdesk/twofactor.py).
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp"]
_auth_index = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
MIDDLEWARE[_auth_index + 1:_auth_index + 1] = [
    "django_otp.middleware.OTPMiddleware",
    "helpdesk.twofactor.TwoFactorMiddleware",
    "helpdesk.readonly.ReadOnlyRoleMiddleware",  # the auditor role changes nothing
]
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "MICUBE Privacy Desk")
# Every staff account must use two-factor sign-in; those without a device enrol at their next sign-in.
DESK_REQUIRE_2FA = env_bool("DESK_REQUIRE_2FA", False)
# Retention purge: daily at DESK_PURGE_HOUR (desk time zone); periods live in RetentionPolicy.
CELERY_IMPORTS = ["helpdesk.trust.retention"]
CELERY_BEAT_SCHEDULE["purge-expired-records"] = {
    "task": "helpdesk.trust.retention.purge_expired",
    "schedule": crontab(hour=int(os.environ.get("DESK_PURGE_HOUR", "3")), minute=30),
}
if PRODUCTION:
    SESSION_COOKIE_HTTPONLY = True
    CSRF_COOKIE_HTTPONLY = False  # the desk's scripts read the token from the form, not the cookie
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# --- The desk's own features: intake, requester side, deadlines, fulfilment ----------------------
# --- Directory sign-in (OpenID Connect, LDAP), only when configured: config/settings_directory.py --
from config.settings_directory import *  # noqa: E402,F403
from config.settings_directory import AUTH_LDAP_SERVER_URI, LDAP_BACKEND, OIDC_BACKEND, OIDC_RP_CLIENT_ID  # noqa: E402
from config.settings_features import *  # noqa: E402,F403
from config.settings_features import FEATURE_BEAT_SCHEDULE, FEATURE_CELERY_IMPORTS  # noqa: E402

if OIDC_RP_CLIENT_ID:
    AUTHENTICATION_BACKENDS.insert(1, OIDC_BACKEND)  # after axes, before the password backend
if AUTH_LDAP_SERVER_URI:
    AUTHENTICATION_BACKENDS.insert(-1, LDAP_BACKEND)  # the directory first, then the desk's own passwords
LOGIN_REDIRECT_URL_FAILURE = "/desk/login/?directory=refused"

CELERY_IMPORTS += FEATURE_CELERY_IMPORTS
CELERY_BEAT_SCHEDULE.update(FEATURE_BEAT_SCHEDULE)
