"""LeadLoop settings, configured only through environment variables.

With no environment at all the app runs embedded: SQLite, an in-process cache and Celery
tasks executed eagerly. Set ``DATABASE_URL`` and ``REDIS_URL`` for production.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from redis.backoff import NoBackoff
from redis.retry import Retry

from pipeline.clientip import trusted_proxies_from_env
from pipeline.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and env_str("DATABASE_URL"):
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set.")
    # Embedded/demo mode only: a fixed, clearly insecure key so sessions survive restarts.
    SECRET_KEY = "insecure-embedded-demo-key-set-SECRET_KEY-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pipeline.axes_app.AxesConfig",  # django-axes, with its admin section translated
    "pipeline",
    "campaigns",
    "leads",
    "scoring",
    "assignment",
    "reports",
    "notifications",
    "webhooks",
    "targets",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy; above WhiteNoise, so static files too.
    "pipeline.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After a signed-in user's write, their reads stay on the primary (read replica only).
    "pipeline.dbrouter.ReplicaPinMiddleware",
    # The signed-in user's saved language (after LocaleMiddleware: it wins over the cookie).
    "notifications.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pipeline.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pipeline.context_processors.navigation",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

WSGI_APPLICATION = "pipeline.wsgi.application"

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
else:
    # The embedded default, tuned so concurrent requests queue instead of failing with
    # "database is locked" (DESIGN §14): WAL lets readers run beside the one writer;
    # IMMEDIATE takes the write lock when a transaction begins, so no transaction fails
    # half-way when it upgrades from reading to writing; the busy timeout (seconds; below
    # gunicorn's 60 s worker timeout) is how long a writer waits for the lock.
    # synchronous=NORMAL is safe in WAL mode (a power cut may lose the last commits, never
    # corrupt the file). WAL does not apply to the in-memory test database (it says "memory").
    SQLITE_BUSY_TIMEOUT = 30
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "leadloop.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": SQLITE_BUSY_TIMEOUT,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}"
                ),
            },
        }
    }
# An optional PostgreSQL streaming replica for reports and exports (pipeline/dbrouter.py):
# only code inside pipeline.db.reading_replica() reads it; a user who wrote reads the primary
# for REPLICA_PIN_SECONDS; a replica down or more than REPLICA_MAX_LAG_SECONDS behind (checked
# every REPLICA_CHECK_SECONDS per process) is skipped. In tests its database is the standby's
# copy of the primary's test database (TEST MIRROR); see tests/pipeline/test_replica_standby.py.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
REPLICA_MAX_LAG_SECONDS = env_float("REPLICA_MAX_LAG_SECONDS", 5.0, minimum=0)
REPLICA_CHECK_SECONDS = env_float("REPLICA_CHECK_SECONDS", 2.0, minimum=0)
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 10, minimum=0)
if DATABASE_REPLICA_URL:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL.")
    if REPLICA_PIN_SECONDS < REPLICA_MAX_LAG_SECONDS + REPLICA_CHECK_SECONDS:
        raise ImproperlyConfigured(
            "REPLICA_PIN_SECONDS must be at least REPLICA_MAX_LAG_SECONDS + "
            "REPLICA_CHECK_SECONDS, or a user could miss their own change on the replica."
        )
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
    if DATABASES["replica"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must be a postgres:// URL.")
    # A replica that does not answer is skipped after 2 s, not waited for.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["pipeline.dbrouter.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery ---------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
#: After Redis failed once, skip it for this long in this process (captures stay fast while
#: it is down; see pipeline.queue.CircuitBreaker). 0 tries Redis on every request.
REDIS_BREAKER_SECONDS = env_int("REDIS_BREAKER_SECONDS", 15, minimum=0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Fail fast: a cache that does not answer must not hold a request for seconds
            # (redis-py waits for the OS, minutes, without a connect timeout). No retries:
            # the callers (throttle, cached configuration) have a fallback.
            "OPTIONS": {
                "socket_connect_timeout": 0.3,
                "socket_timeout": 1.0,
                "retry": Retry(NoBackoff(), 0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Acknowledge after the task ran: a worker that dies mid-task leaves it to another one
# (every task is idempotent or claims its rows); one task at a time per worker process
# (prefetch 1), so a long import never sits reserved behind a process that is busy.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The four queues (DESIGN §14), each consumed by its own workers (docker-compose.yml,
# README "Production"), so a 100k-row import or a long report never delays a new lead:
# realtime — one lead: routing, notices and their emails;
# bulk — imports, rescoring, bulk routing, sweeps and retention;
# reports — SLA scan, digest, snapshots, report jobs; hooks — webhook deliveries.
# The one table of routes: a test checks that every registered task has one. A task
# without a route would go to the default queue, ``realtime`` (never a queue nobody reads).
# Eager tasks (the embedded default) ignore routes.
# On realtime, routing goes first: notices and emails are sent with a lower priority (the
# Redis transport keeps one list per priority and reads priority 0 first), so a burst of
# notices never stands between a new lead and its owner.
TASK_QUEUES = ("realtime", "bulk", "reports", "hooks")
CELERY_TASK_DEFAULT_QUEUE = "realtime"
NOTICE_PRIORITY = 6
CELERY_TASK_ROUTES = {
    "assignment.tasks.route_lead_task": {"queue": "realtime"},
    "assignment.tasks.route_leads_task": {"queue": "bulk"},
    "assignment.tasks.reroute_after_sla_task": {"queue": "bulk"},
    "assignment.tasks.sweep_unrouted_task": {"queue": "bulk"},
    "notifications.tasks.send_emails_task": {"queue": "realtime", "priority": NOTICE_PRIORITY},
    "notifications.tasks.tell_assigned_task": {"queue": "realtime", "priority": NOTICE_PRIORITY},
    "notifications.tasks.tell_assignments_task": {
        "queue": "realtime",
        "priority": NOTICE_PRIORITY,
    },
    "notifications.tasks.tell_returned_task": {"queue": "realtime", "priority": NOTICE_PRIORITY},
    "notifications.tasks.tell_recycled_task": {"queue": "realtime", "priority": NOTICE_PRIORITY},
    "notifications.tasks.tell_import_duplicates_task": {
        "queue": "realtime",
        "priority": NOTICE_PRIORITY,
    },
    "notifications.tasks.tell_import_done_task": {
        "queue": "realtime",
        "priority": NOTICE_PRIORITY,
    },
    "leads.tasks.import_run_task": {"queue": "bulk"},
    "leads.tasks.import_inspect_task": {"queue": "bulk"},
    "leads.tasks.requeue_stale_imports_task": {"queue": "bulk"},
    "leads.tasks.import_staging_cleanup_task": {"queue": "bulk"},
    "leads.tasks.retention_erase_task": {"queue": "bulk"},
    "leads.tasks.export_run_task": {"queue": "bulk"},
    "leads.tasks.export_cleanup_task": {"queue": "bulk"},
    "scoring.tasks.rescore_job_task": {"queue": "bulk"},
    "scoring.tasks.rescore_resume_task": {"queue": "bulk"},
    "reports.tasks.sla_scan_task": {"queue": "reports"},
    "reports.tasks.overdue_digest_task": {"queue": "reports"},
    "reports.tasks.compliance_snapshot_task": {"queue": "reports"},
    "reports.tasks.report_job_task": {"queue": "reports"},
    "reports.tasks.refresh_report_snapshots_task": {"queue": "reports"},
    "reports.tasks.targets_at_risk_task": {"queue": "reports"},
    # Debounced and over days, not one lead: on realtime, but behind routing.
    "reports.tasks.rollup_refresh_task": {"queue": "realtime", "priority": NOTICE_PRIORITY},
    "reports.tasks.rollup_rebuild_task": {"queue": "reports"},
    "reports.tasks.rollup_sweep_task": {"queue": "reports"},
    "webhooks.tasks.deliver_task": {"queue": "hooks"},
    "webhooks.tasks.sweep_deliveries_task": {"queue": "hooks"},
    # Celery's own housekeeping tasks (chords, result cleanup), should any ever run.
    "celery.*": {"queue": "realtime"},
}
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 0.5,
    "socket_timeout": 5,
    # Publishing gives up at the first failed connection instead of retrying (with sleeps
    # of 1-2 s) until CELERY_BROKER_CONNECTION_TIMEOUT; the sweep redoes what was not
    # queued. Workers keep retrying their own consumer connection
    # (broker_connection_max_retries is passed explicitly there).
    "max_retries": 0,
    # A task taken by a worker that then dies is delivered again after this many seconds.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=10),
}
CELERY_TIMEZONE = None  # set below from TIME_ZONE
# Fail fast when the broker is down: a request never waits on it. The caller logs the
# failure and the beat sweep redoes what was not queued (each app's sweep_* task).
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BEAT_SCHEDULE = {
    # Side effects queued while the broker was down, redone by the app that owns each.
    # A rescore whose worker died, or whose queueing was lost, is queued again.
    "rescore-resume": {"task": "scoring.tasks.rescore_resume_task", "schedule": 120.0},
    "sweep-unrouted": {"task": "assignment.tasks.sweep_unrouted_task", "schedule": 120.0},
    "requeue-stale-imports": {
        "task": "leads.tasks.requeue_stale_imports_task",
        "schedule": 120.0,
    },
    "sla-scan": {"task": "reports.tasks.sla_scan_task", "schedule": 600.0},
    "import-staging-cleanup": {
        "task": "leads.tasks.import_staging_cleanup_task",
        "schedule": crontab(hour=3, minute=0),
    },
    "export-cleanup": {
        "task": "leads.tasks.export_cleanup_task",
        "schedule": crontab(hour=3, minute=20),
    },
    "overdue-digest": {
        "task": "reports.tasks.overdue_digest_task",
        "schedule": crontab(hour=8, minute=30),
    },
    "compliance-snapshot": {
        "task": "reports.tasks.compliance_snapshot_task",
        "schedule": crontab(hour=1, minute=15),
    },
    "report-snapshots": {
        "task": "reports.tasks.refresh_report_snapshots_task",
        "schedule": float(env_int("REPORT_SNAPSHOT_REFRESH_SECONDS", 1800, minimum=60)),
    },
    # Report rollups: days changed by writers without a signal, and lost refreshes.
    "rollup-sweep": {
        "task": "reports.tasks.rollup_sweep_task",
        "schedule": float(env_int("ROLLUP_SWEEP_SECONDS", 60, minimum=10)),
    },
    # Webhook deliveries that are due: first tries a broker outage skipped, retries.
    "webhook-deliveries": {"task": "webhooks.tasks.sweep_deliveries_task", "schedule": 60.0},
    # Targets at risk (DESIGN §11): owners and their managers, once a week per target.
    "targets-at-risk": {
        "task": "reports.tasks.targets_at_risk_task",
        "schedule": crontab(day_of_week="mon", hour=9, minute=0),
    },
    # PIPL retention: erases old lost/disqualified leads; does nothing while RETENTION_DAYS=0.
    "retention-erase": {
        "task": "leads.tasks.retention_erase_task",
        "schedule": crontab(hour=2, minute=30),
    },
}
# The embedded default (no Redis, eager tasks) has no `celery beat`: `runserver` runs the
# schedule above in a thread of its serving process instead (pipeline.scheduler), so the
# demo ages like production. Never in tests, gunicorn or workers.
EMBEDDED_SCHEDULER = env_bool("EMBEDDED_SCHEDULER", default=CELERY_TASK_ALWAYS_EAGER)
# Where `celery beat` keeps its last-run times; the container points it at a writable path.
CELERY_BEAT_SCHEDULE_FILENAME = env_str(
    "CELERY_BEAT_SCHEDULE_FILENAME", str(BASE_DIR / "celerybeat-schedule")
)

# --- Auth ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling and lockout (django-axes): after AXES_FAILURE_LIMIT failed logins for one
# username from one address, that pair is locked for AXES_COOLOFF_MINUTES. The page login
# and the API token endpoint both authenticate through these backends.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The address a lockout counts is the proxy-resolved client (TRUSTED_PROXIES below), never
# the proxy's own address: behind a proxy every visitor shares it, and anyone could lock any
# named account for everybody.
AXES_CLIENT_IP_CALLABLE = "pipeline.clientip.client_ip"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- I18N ------------------------------------------------------------------------------
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
CELERY_TIMEZONE = TIME_ZONE
USE_I18N = True
#: Our formats per language (pipeline/formats): thousands grouped by "," in Chinese too.
FORMAT_MODULE_PATH = ["pipeline.formats"]
USE_TZ = True

# --- Static ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Only an existing folder: git keeps no empty folder, and a missing one is a check warning.
STATICFILES_DIRS = [path for path in [BASE_DIR / "static"] if path.is_dir()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and env_bool("STATIC_MANIFEST", default=bool(DATABASE_URL))
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "media/"
WHITENOISE_USE_FINDERS = not STORAGES["staticfiles"]["BACKEND"].startswith("whitenoise")
if WHITENOISE_USE_FINDERS:
    # Served straight from the app folders: no collectstatic, so no STATIC_ROOT to warn about.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

# --- Email -----------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "LeadLoop <leadloop@localhost>")

# --- Security (production) -------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
#: The reverse proxies whose X-Forwarded-For is believed (IPs or CIDR networks, comma-
#: separated). Empty: no proxy is trusted and the client is the socket peer (REMOTE_ADDR).
#: Read by pipeline.clientip.client_ip (throttles, login lockout, recorded addresses) and by
#: gunicorn's forwarded_allow_ips (pipeline/gunicorn.conf.py).
TRUSTED_PROXIES = trusted_proxies_from_env()
if env_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
#: Who may put the public capture form (/f/<key>/) in a frame: the frame-ancestors sources
#: of its Content-Security-Policy (pipeline/security.py), e.g.
#: "https://www.example.com,https://*.example.cn". Every other page may not be framed.
CAPTURE_FRAME_ANCESTORS = env_list("CAPTURE_FRAME_ANCESTORS", "*") or ["*"]
# Health checks probe the app over plain HTTP from inside the container or host.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a domain-wide, hard-to-undo commitment: operators opt in explicitly
    # with SECURE_HSTS_PRELOAD=1, so its absence is not a deployment defect.
    "security.W021",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- REST framework --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "pipeline.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "pipeline.pagination.StableOrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pipeline.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LeadLoop API",
    "DESCRIPTION": "Campaigns, leads, lifecycle, assignment and reports of LeadLoop.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "campaigns.choices.CampaignStatus",
        "JobStatusEnum": "leads.choices.ImportStatus",
        "ChannelKindEnum": "campaigns.choices.ChannelKind",
        "DisqualifyReasonEnum": "leads.choices.DisqualifyReason",
        "RejectReasonEnum": "leads.choices.RejectReason",
        "RecycleReasonEnum": "leads.choices.RecycleReason",
        "LoseReasonEnum": "leads.choices.LoseReason",
    },
    # The schema is validated by its own CI step (`spectacular --validate`); `check --deploy`
    # on a production host checks the deployment, not the API documentation.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
}

# --- LeadLoop domain settings ----------------------------------------------------------
CURRENCY = env_str("CURRENCY", "CNY")
#: Absolute address of the app, for links in emails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
PHONE_REGION = env_str("PHONE_REGION", "CN")
#: PostgreSQL collation for sorting names and companies (pinyin order for Chinese with ICU);
#: empty: the database's own order. See pipeline.people.text_collation.
NAME_COLLATION = env_str("NAME_COLLATION", "zh-x-icu")
AUTO_ASSIGN = env_bool("AUTO_ASSIGN", default=True)
POOL_DAILY_CLAIM_LIMIT = env_int("POOL_DAILY_CLAIM_LIMIT", 20, minimum=0)
POOL_RECLAIM_COOLDOWN_DAYS = env_int("POOL_RECLAIM_COOLDOWN_DAYS", 7, minimum=0)
#: A follow-up counts for the SLA at its stated time only when recorded within this many
#: hours of it; otherwise at the time it was recorded (DESIGN §7, honest clocks).
FOLLOW_UP_BACKDATE_HOURS = env_int("FOLLOW_UP_BACKDATE_HOURS", 24, minimum=0)
CAPTURE_RATE = env_str("CAPTURE_RATE", "60/min")
#: The privacy notice a capture's consent refers to (PIPL, DESIGN §13). Change the version
#: whenever the text or the linked page changes: each lead keeps the version it agreed to.
#: Empty texts use the built-in notice (translated); the URL, when set, is linked from it.
PRIVACY_NOTICE_VERSION = env_str("PRIVACY_NOTICE_VERSION", "1")
PRIVACY_NOTICE_URL = env_str("PRIVACY_NOTICE_URL")
PRIVACY_NOTICE_TEXT_EN = env_str("PRIVACY_NOTICE_TEXT_EN")
PRIVACY_NOTICE_TEXT_ZH_HANS = env_str("PRIVACY_NOTICE_TEXT_ZH_HANS")
if not PRIVACY_NOTICE_VERSION.strip() or len(PRIVACY_NOTICE_VERSION) > 40:
    raise ImproperlyConfigured("PRIVACY_NOTICE_VERSION must be 1 to 40 characters.")
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_MB", 50, minimum=1) * 1024 * 1024
#: XLSX limits, checked by the worker on the zip's directory before the workbook is opened
#: (an XLSX is a zip: a small file can unpack to gigabytes) and while its sheet is read.
IMPORT_XLSX_MAX_UNPACKED_MB = env_int("IMPORT_XLSX_MAX_UNPACKED_MB", 500, minimum=1)
IMPORT_XLSX_MAX_SHARED_STRINGS_MB = env_int("IMPORT_XLSX_MAX_SHARED_STRINGS_MB", 50, minimum=1)
IMPORT_XLSX_MAX_CELLS = env_int("IMPORT_XLSX_MAX_CELLS", 10_000_000, minimum=1)
#: Largest unpacked-to-packed ratio of a part of the workbook (text compresses ~5-20x).
IMPORT_XLSX_MAX_RATIO = env_int("IMPORT_XLSX_MAX_RATIO", 200, minimum=10)
#: A lead export of more rows than this is written by a job on the ``bulk`` queue (the
#: request answers 202 and the user is notified with a download link); the file is kept
#: for EXPORT_FILE_DAYS days.
EXPORT_SYNC_MAX_ROWS = env_int("EXPORT_SYNC_MAX_ROWS", 20_000, minimum=1)
EXPORT_FILE_DAYS = env_int("EXPORT_FILE_DAYS", 7, minimum=1)
#: A change of scoring rules or thresholds rescores the open leads this many seconds after
#: the last change of a burst (one rescore, not one per edit). Eager tasks: at once.
RESCORE_DEBOUNCE_SECONDS = env_int("RESCORE_DEBOUNCE_SECONDS", 10, minimum=0)
#: An import without a heartbeat for this long is taken over by another worker.
IMPORT_STALE_SECONDS = env_int("IMPORT_STALE_SECONDS", 600, minimum=5)
#: Report pages and endpoints show a stored snapshot computed less than this long ago.
REPORT_SNAPSHOT_MAX_AGE = env_int("REPORT_SNAPSHOT_MAX_AGE", 3600, minimum=0)
#: Without a snapshot, a period with at most this many leads is computed in the request;
#: a larger one is computed by a background job the page follows.
# Report rollups (reports/rollups/): a change to a lead refreshes its day's rollup this
# many seconds after the first change of a burst; the sweep runs this often.
ROLLUP_DEBOUNCE_SECONDS = env_int("ROLLUP_DEBOUNCE_SECONDS", 2, minimum=0)
ROLLUP_SWEEP_SECONDS = env_int("ROLLUP_SWEEP_SECONDS", 60, minimum=10)
REPORT_LIVE_MAX_LEADS = env_int("REPORT_LIVE_MAX_LEADS", 50_000, minimum=0)
#: A report job without a heartbeat (one per report computed) for this long is taken over.
REPORT_JOB_STALE_SECONDS = env_int("REPORT_JOB_STALE_SECONDS", 900, minimum=30)
#: PIPL retention: leads lost or disqualified longer than this many days ago have their
#: personal data erased by the daily job (``leads.privacy.retention_erase``); 0: off.
RETENTION_DAYS = env_int("RETENTION_DAYS", 0, minimum=0)
# Outgoing webhooks (webhooks/): tries per delivery before giving up, the timeout of one
# request, and whether URLs may point into private networks (on-premise chat servers).
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1)
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
# Targets (targets/, reports/attainment/): a target more than this share below its pace
# (the share of the period's working days elapsed) is "at risk".
TARGET_AT_RISK = env_float("TARGET_AT_RISK", 0.2, minimum=0.0, maximum=1.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # One line per task is noise; failures are still logged at ERROR.
        "celery.app.trace": {"level": env_str("CELERY_TRACE_LOG_LEVEL", "WARNING")},
    },
}
