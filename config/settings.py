"""Heed's settings, read from the environment (django-environ).

Local runs get safe embedded defaults (SQLite, a filesystem Celery broker, console email).
With DEBUG off, SECRET_KEY and ALLOWED_HOSTS must be set or start-up fails.
"""

import os
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("HEED_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET = "django-insecure-heed-local-development-only"  # noqa: S105 — DEBUG only
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# How long a tracking link keeps working after its case is closed.
TRACKING_LINK_DAYS_AFTER_CLOSE = env.int("TRACKING_LINK_DAYS_AFTER_CLOSE", default=90)
# How many proxies stand in front of the app and append to X-Forwarded-For (docker compose
# behind one TLS proxy: 1). The customer pages' rate limits count the client they name.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)
# Requests per minute one address may make to the customer's pages (tracking, lost link).
CUSTOMER_RATE_LIMIT = env.int("CUSTOMER_RATE_LIMIT", default=30)
# Requests per minute one address may make to the API's tracking JSON (a web shop's server).
TRACKING_API_RATE_LIMIT = env.int("TRACKING_API_RATE_LIMIT", default=600)
# Lost-link requests per minute from one address (each may send an email).
LOST_LINK_RATE_LIMIT = env.int("LOST_LINK_RATE_LIMIT", default=5)
# Email in (django-anymail's inbound webhooks, at /anymail/<provider>/inbound/): the basic-auth
# "user:password" the provider is given. Without it no inbound webhook is served, so that no
# one can post made-up emails; DEBUG has a local default.
ANYMAIL = {
    "WEBHOOK_SECRET": env.str(
        "INBOUND_WEBHOOK_SECRET", default="heed:local-inbound-only" if DEBUG else ""
    )
}
# Complaints per minute one address may send through the public form.
PUBLIC_FORM_RATE_LIMIT = env.int("PUBLIC_FORM_RATE_LIMIT", default=3)
# Follow-up (回访): the attempts to reach the customer that must not have reached them before a
# case may close as "unreachable"; the working days after Follow up begins on which the customer
# is reminded to rate, if they have not (conversation.reminders).
FOLLOW_UP_ATTEMPTS = env.int("FOLLOW_UP_ATTEMPTS", default=3)
FOLLOW_UP_REMINDER_DAYS = env.list("FOLLOW_UP_REMINDER_DAYS", cast=int, default=[2, 4])
# The public address customers' tracking links point at.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Full-text search fields and functions (the knowledge base); harmless on SQLite.
    "django.contrib.postgres",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files from PyPI, served by us: no CDN.
    "drf_spectacular_sidecar",
    "complaints",
    "intake",
    "escalation",
    # After escalation: a case's notices are written once its deadlines are.
    "conversation",
    "improvement",
    "webhooks",
    "api",
    "reporting",
    "knowledge",
    "anymail",
]

MIDDLEWARE = [
    # First, so that every answer (a redirect too) says its X-Request-ID (config/request_id.py).
    "config.request_id.RequestIdMiddleware",
    # Next, so that a request's time (/metrics) covers the middleware below it.
    "config.metrics.LatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files in production; runserver serves them itself in DEBUG.
    *([] if DEBUG else ["whitenoise.middleware.WhiteNoiseMiddleware"]),
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# Django's model permissions, a user's own and their roles' read in one query (config/auth.py).
AUTHENTICATION_BACKENDS = ["config.auth.Backend"]

# Django's widget templates, with a select's options written in Python (config/forms.py).
FORM_RENDERER = "config.forms.Renderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "complaints.context_processors.navigation_counts",
                "escalation.context_processors.queue_counts_nav",
                "intake.context_processors.held_mail_nav",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'heed.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for the writer instead of failing at once when web and worker write together.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "complaints.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "complaints:my_cases"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation: times stored in UTC, shown in TIME_ZONE.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# A filter's empty choice (django-filter's "---------"): the lists and reports read "Any".
FILTERS_EMPTY_CHOICE_LABEL = gettext_lazy("Any")
# Region used to read phone numbers written without a country code.
PHONE_REGION = env.str("PHONE_REGION", default="CN")

STATIC_URL = "static/"
# Where collectstatic gathers the files whitenoise serves when DEBUG is off.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/pico", BASE_DIR / "node_modules" / "@picocss" / "pico" / "css"),
]
# Files customers and staff attach to a case: outside the web root, never served by the web
# server, only through the views that check who is asking (complaints.attachments).
ATTACHMENTS_ROOT = Path(env.str("ATTACHMENTS_ROOT", default=str(VAR_DIR / "attachments")))
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENTS_PER_CASE = env.int("ATTACHMENTS_PER_CASE", default=30)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "attachments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(ATTACHMENTS_ROOT), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# The cache: Redis when REDIS_URL is set (and not empty), else this process's memory.
CACHES = {
    "default": env.cache("CACHE_URL", default=env.str("REDIS_URL", default="") or "locmemcache://")
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Redis away must not turn pages into 500s: an in-process cache answers meanwhile
    # (config/cache.py), and no request waits more than a second on a server that is gone.
    CACHES["default"]["BACKEND"] = "config.cache.ResilientRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": 1, "socket_timeout": 1}
    )

# Django 6.1 mailers. EMAIL_URL (smtp+tls://user:pass@host:587, consolemail://, ...) is read by
# django-environ and turned into the "default" mailer's options.
_email = env.email("EMAIL_URL", default="consolemail://")
_EMAIL_OPTIONS = {
    "EMAIL_HOST": "host",
    "EMAIL_PORT": "port",
    "EMAIL_HOST_USER": "username",
    "EMAIL_HOST_PASSWORD": "password",
    "EMAIL_USE_TLS": "use_tls",
    "EMAIL_USE_SSL": "use_ssl",
    "EMAIL_TIMEOUT": "timeout",
}
_smtp = _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
# A mail server that hangs must not hang the sweep that sends through it: give up after 20 s
# (the notification stays in the outbox and is retried).
_email.setdefault("EMAIL_TIMEOUT", env.int("EMAIL_TIMEOUT", default=20))
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {
            option: _email[key] for key, option in _EMAIL_OPTIONS.items() if _smtp and key in _email
        },
    }
}
if DEBUG and "EMAIL_URL" not in os.environ:
    # `make run`: one line per email on the console, the whole of it in var/mail/ (config/mail.py).
    MAILERS["default"] = {
        "BACKEND": "config.mail.SummaryBackend",
        "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
    }
elif _email["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
    # filemail:///var/mail/heed: one file per connection in that folder. Read from the URL
    # itself: django-environ drops the path's leading slash, which made it relative.
    _mail_dir = Path(unquote(urlsplit(env.str("EMAIL_URL")).path) or VAR_DIR / "mail")
    MAILERS["default"]["OPTIONS"]["file_path"] = str(_mail_dir)
# Text messages to customers (conversation.sms): console:// while developing, locmem:// in tests,
# file:///dir, or a provider: twilio://SID:TOKEN@api.twilio.com?from=…, tencent://ID:KEY@
# sms.tencentcloudapi.com?sdk_app_id=…&sign_name=…&template_id=… (README, "Notices"). Empty (the
# default outside DEBUG): no SMS, and a customer with only a phone is told they were not sent.
SMS_URL = env.str("SMS_URL", default="console://" if DEBUG else "")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Heed <complaints@heed.localhost>")


# The domain of our own Message-IDs (conversation.replies, escalation.notifications): the one of
# DEFAULT_FROM_EMAIL's address.
_from_local, _at, MAIL_DOMAIN = getaddresses([DEFAULT_FROM_EMAIL])[0][1].partition("@")
MAIL_DOMAIN = MAIL_DOMAIN or "heed.localhost"


# Where customers' email answers go (conversation.replies): {tag} becomes the case's reference
# and a secret, by which the answer finds its case.
# By default complaints+{tag}@domain from DEFAULT_FROM_EMAIL's address (plus addressing: most
# mail servers deliver it to complaints@domain, where the provider's inbound route takes it).
REPLY_ADDRESS = env.str("REPLY_ADDRESS", default=f"{_from_local}+{{tag}}@{MAIL_DOMAIN}")
if "{tag}" not in REPLY_ADDRESS:
    raise ImproperlyConfigured("REPLY_ADDRESS must contain {tag}, e.g. complaints+{tag}@…")

# Celery: Redis when REDIS_URL is set; otherwise a broker that needs no server.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
else:
    _broker_dir = VAR_DIR / "celery-broker"
    for _sub in ("processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# No task may run away with a worker (a sweep stuck on a hung server would stop escalations).
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A publish that cannot reach the broker gives up after about a second: the outbox and the next
# sweep carry what it was sending (escalation.notifications).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.2}
# Outbound webhooks (webhooks/): seconds to wait for a receiver's answer, and how many
# attempts (1, 2, 4 … minutes apart, at most 6 hours: 20 span about three days, a receiver
# down over a weekend loses nothing) before a delivery is given up.
WEBHOOK_TIMEOUT = env.int("WEBHOOK_TIMEOUT", default=10)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=20)
# The deadline sweep (escalation.sweep): every SWEEP_INTERVAL seconds, one minute by default.
SWEEP_INTERVAL = env.int("SWEEP_INTERVAL", default=60)
# /readyz (config/health.py) fails when more customer notices than this wait in the outbox, or
# one has been due and unsent for longer than this many seconds.
READY_OUTBOX_MAX_WAITING = env.int("READY_OUTBOX_MAX_WAITING", default=1000)
READY_OUTBOX_MAX_AGE = env.int("READY_OUTBOX_MAX_AGE", default=900)
# /metrics (config/metrics.py) answers the private network, and anyone sending this as a bearer
# token (empty: the private network only).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Editable in the admin (escalation.ScheduledJob rows override these by name).
CELERY_BEAT_SCHEDULER = "escalation.schedule:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "sweep-deadlines": {
        "task": "escalation.sweep",
        "schedule": float(SWEEP_INTERVAL),
        # A sweep not started within one interval is dropped: the next one does its work.
        "options": {"expires": float(SWEEP_INTERVAL)},
    },
    # Outbound webhooks (webhooks.delivery): sends the deliveries that are due, every minute.
    "webhooks-retry": {"task": "webhooks.retry", "schedule": 60.0, "options": {"expires": 60.0}},
    "purge-idempotency-keys": {"task": "api.purge_idempotency_keys", "schedule": 86400.0},
    # The early warning (reporting.early_warning): records this week's spikes and emails the
    # quality managers those not notified yet (a failed email is retried an hour later).
    "reporting-early-warning": {
        "task": "reporting.early_warning",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # The dashboard's daily rollup (reporting.rollup): the days of the cases changed lately,
    # every minute; the last 400 days again every night, in case something was missed.
    "reporting-rollup": {
        "task": "reporting.rollup_catch_up",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    "reporting-rollup-rebuild": {"task": "reporting.rollup_rebuild", "schedule": 86400.0},
    # Notices to customers (conversation.outbox): sends those due that no task sent.
    "conversation-outbox": {
        "task": "conversation.outbox",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Reminders to rate (conversation.reminders): those due become notices.
    "conversation-reminders": {
        "task": "conversation.remind",
        "schedule": 900.0,
        "options": {"expires": 900.0},
    },
}

# The API (api/): token or session, the roles' permissions, one error format, bounded pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env.str("API_RATE_LIMIT", default="1200/minute")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.handle",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # UTC with its offset, as stored.
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Heed API",
    "DESCRIPTION": (
        "Complaint cases through their seven steps, for integrations. Authenticate with a "
        "token from `POST /api/v1/auth/token/` sent as `Authorization: Bearer <token>`. "
        'Every error is `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # One name per choice set (the same steps appear in many fields).
    "ENUM_NAME_OVERRIDES": {
        "StepEnum": "complaints.models.Step",
        "TierEnum": "complaints.models.Tier",
        "EscalationReasonEnum": "escalation.models.Escalation.Reason",
        "PauseReasonEnum": "escalation.models.Pause.Reason",
        # The case's fields and the articles and actions share these (the names the case's
        # fields gave them).
        "RootCauseCategoryEnum": "complaints.models.RootCause",
        "RemedyTypesEnum": "complaints.models.Remedy",
        "ArticleStatusEnum": "knowledge.models.Article.Status",
        "ActionKindEnum": "improvement.models.Kind",
        "ActionStatusEnum": "improvement.models.Status",
        "ActionEventKindEnum": "improvement.models.ActionEvent.Kind",
        "ActionMoveKindEnum": [("forward", "forward"), ("back", "back"), ("cancel", "cancel")],
        # A case's channel (how the complaint came in) and a notice's (how the customer is told).
        "CaseChannelEnum": "complaints.models.Channel",
        "NoticeChannelEnum": [("", "none"), ("email", "email"), ("sms", "sms")],
        "PreferredChannelEnum": "complaints.models.Customer.Channel",
        "CaseEndingEnum": "api.serializers.cases.CASE_ENDINGS",
        "ClosingEndingEnum": "api.serializers.cases.CLOSING_ENDINGS",
    },
}
# How long an Idempotency-Key's response is kept for retries (api.idempotency).
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)

# Security: strict outside DEBUG.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Asking browsers to preload HSTS is the domain owner's decision, not a default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# JSON lines in production (a log collector reads them), plain lines while developing; each
# with the request's or task's id (config/logs.py, config/request_id.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # An expected refusal (a 4xx) in one line, without the traceback Django gives it.
    "filters": {
        "expected_refusals": {"()": "config.logs.ExpectedRefusals"},
        "request_id": {"()": "config.logs.RequestIdFilter"},
    },
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["expected_refusals", "request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
# The worker logs through the same handler (JSON, request ids) instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
