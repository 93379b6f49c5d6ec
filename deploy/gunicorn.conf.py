"""gunicorn settings for the Privacy Desk web nodes: ``gunicorn -c deploy/gunicorn.conf.py config.wsgi``.

Every value can be overridden from the environment (see privacy-desk.env.example). The web nodes
are stateless: sessions, rate limits and locks live in PostgreSQL/Redis, so any number of nodes
can sit behind the load balancer.

Two pools per node (issue 31: on a breach day the staff queued behind the public form, sign-in
took 2.3 s): ``GUNICORN_POOL=public`` (the default; the Contact Us form and the requesters' pages,
``GUNICORN_BIND``, ``WEB_CONCURRENCY`` workers) and ``GUNICORN_POOL=staff`` (``/desk/``, ``/api/``,
``/admin/``, ``/account/``, ``/oidc/`` and ``/static/``, routed there by the load balancer:
``deploy/nginx.conf.example``; ``STAFF_GUNICORN_BIND``, ``STAFF_WEB_CONCURRENCY`` workers), started by
``privacy-desk-web.service`` and ``privacy-desk-web-staff.service``. A surge fills the public pool's
queue; the staff's requests never wait in it.
"""

import multiprocessing
import os

pool = os.environ.get("GUNICORN_POOL", "public")
if pool not in ("public", "staff"):
    raise SystemExit(f"GUNICORN_POOL must be public or staff, not {pool!r}")
proc_name = f"privacy-desk-{pool}"
if pool == "staff":
    bind = os.environ.get("STAFF_GUNICORN_BIND", "127.0.0.1:8001")
    workers = int(os.environ.get("STAFF_WEB_CONCURRENCY", "2"))
else:
    bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
    workers = int(os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2 + 1)))
# gunicorn 25+ opens a control socket for ``gunicornc``; unnamed, it goes to ~/.gunicorn/gunicorn.ctl,
# which a service user with ProtectHome= cannot create (and two pools would share). Named per pool in
# the unit's RuntimeDirectory (systemd sets RUNTIME_DIRECTORY: /run/privacy-desk/gunicorn-<pool>.ctl),
# or GUNICORN_CONTROL_SOCKET; with neither (a test, a benchmark) there is none, never one in a home.
_runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
_control = os.environ.get("GUNICORN_CONTROL_SOCKET") or (
    os.path.join(_runtime, f"gunicorn-{pool}.ctl") if _runtime else "off")
if _control == "off":
    control_socket_disable = True
else:
    control_socket = _control
    control_socket_mode = 0o600
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never take a node down; each worker draws its own
# limit in [max_requests, max_requests + jitter], so a surge does not restart them all at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", str(max_requests // 4)))
# Only the load balancer may tell us the client's scheme/address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Refuse absurd request lines/headers before Django sees them.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
preload_app = False  # each worker opens its own database connections
accesslog = "-"
errorlog = "-"
# One JSON object per line, like the application's own logs (config.logging.JsonFormatter).
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO"), "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
