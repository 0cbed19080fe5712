"""Django settings, all read from the environment (see the README's configuration table).

Defaults are the production-safe ones; `make run` sets DEBUG=true for development.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
import sentry_sdk
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from backend import embedded
from backend.core import redis_clients
from backend.core.logs import logging_config
from backend.core.redaction import sentry_before_send

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

VAR_DIR = Path(env("REMIX_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)


def _development_secret_key(var_dir: Path) -> str:
    """A random key made once per checkout (var/secret_key, mode 0600) and reused: no key lives in the code."""
    path = var_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    try:
        # O_EXCL: two processes starting at once agree on the first key written.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(key)
    return key


SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _development_secret_key(VAR_DIR)
# Previous keys, still accepted while signed links and sessions made with them expire (docs/operations.md,
# "Rotating keys"); JWTs are the exception: simplejwt checks the current key only.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",  # its catalogues: token errors in the reader's language
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "health_check",
    "backend.core",
    "backend.creators",
    "backend.videos",
    "backend.cameos",
    "backend.moderation",
    "backend.rights",
    # Feeds before media: a hidden video's cards are tombstoned (one pipeline) before its files
    # move (seconds for thousands); cards name the store a video's state calls for (feeds/cards.py).
    "feeds",
    "media",
    "notifications",
    "data_rights",
    "search",
    "backend.demo",
]

MIDDLEWARE = [
    # First: the request id, the access log and the request metrics cover everything below.
    "backend.core.middleware.RequestObservationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Accept-Language picks the language of every message; Content-Language says which (backend/core/i18n.py).
    "backend.core.i18n.RequestLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Reads of a request that writes, and of a user who just wrote, stay on the primary (read replicas).
    "backend.core.db_router.ReadYourWritesMiddleware",
    "backend.creators.throttles.AdminLoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data stores -----------------------------------------------------------

# Without DATABASE_URL and REDIS_URL, backend/embedded.py starts a PostgreSQL and a Redis of its own:
# right for `make run` (DEBUG) and the test suite, never by accident in production.
EMBEDDED_SERVICES = env.bool("EMBEDDED_SERVICES", default=DEBUG)
if not EMBEDDED_SERVICES and not (env("DATABASE_URL", default="") and env("REDIS_URL", default="")):
    raise ImproperlyConfigured(
        "DATABASE_URL and REDIS_URL must be set when DEBUG is off (or set EMBEDDED_SERVICES=true to start "
        "the embedded PostgreSQL and Redis, which needs requirements-embedded.txt installed)."
    )

DATABASES = {
    "default": {
        **env.db_url_config(embedded.database_url(configured=env("DATABASE_URL", default=None), var_dir=VAR_DIR)),
        "CONN_MAX_AGE": env.int("DATABASE_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Read replicas (README, "Read replicas"): reads that tolerate lag, and only those, may go to one of them
# (backend/core/db_router.py decides; every other read, and every write, goes to the primary). Each is an
# alias replica1, replica2, ...; under tests a replica mirrors the test database (Django's TEST MIRROR).
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
for _number, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    DATABASES[f"replica{_number}"] = {
        **env.db_url_config(_url),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"MIRROR": "default"},
    }
DATABASE_REPLICAS = [f"replica{number}" for number in range(1, len(DATABASE_REPLICA_URLS) + 1)]
DATABASE_ROUTERS = ["backend.core.db_router.PrimaryReplicaRouter"]
# After a user's own write (any POST, PUT, PATCH or DELETE), their reads stay on the primary this long:
# longer than the replicas' usual lag, so nobody misses what they just did.
DATABASE_READ_YOUR_WRITES_S = env.int("DATABASE_READ_YOUR_WRITES_S", default=5)
# A replica that refused a connection is left alone this long (its reads go to the primary meanwhile).
DATABASE_REPLICA_RETRY_S = env.int("DATABASE_REPLICA_RETRY_S", default=10)

REDIS_URL = embedded.redis_url(configured=env("REDIS_URL", default=None), var_dir=VAR_DIR)

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="remix"),
        # A Redis outage must not fail requests: cache reads miss, throttles fail open.
        # (The feed store talks to Redis directly and falls back to PostgreSQL itself.)
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "IGNORE_EXCEPTIONS": True},
    }
}

# --- Media storage ---------------------------------------------------------
# Private objects (originals, cameo references) and public renditions live in
# separate stores. With S3_BUCKET set they are S3 buckets (or MinIO); otherwise
# folders on the local disk.

S3_BUCKET = env("S3_BUCKET", default="")
S3_PUBLIC_BUCKET = env("S3_PUBLIC_BUCKET", default=S3_BUCKET)
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
MEDIA_URL_EXPIRY_SECONDS = env.int("MEDIA_URL_EXPIRY_SECONDS", default=3600)
# Where clients reach this server: media it serves itself (the local disk) gets absolute URLs under it.
SITE_URL = env("SITE_URL", default="http://localhost:8000").rstrip("/")
# Where clients read public media (published videos, posters, thumbnails, avatars): a CDN in front of the
# public bucket, or the bucket itself (http://<LAN IP>:9000/remix-public under compose). Those URLs are
# plain and stable, never signed, so CDNs and the apps cache them; without it, the S3 endpoint's bucket
# URL (or SITE_URL's /media/public/ on the local disk). Private media always gets signed, expiring links.
MEDIA_PUBLIC_BASE_URL = env("MEDIA_PUBLIC_BASE_URL", default="").rstrip("/")
MEDIA_PUBLIC_CACHE_SECONDS = env.int("MEDIA_PUBLIC_CACHE_SECONDS", default=24 * 3600)


def s3_public_url_options(base_url: str, *, cache_seconds: int) -> dict:
    """django-storages options of the public bucket: unsigned URLs (under ``base_url`` when set, as
    ``custom_domain`` takes it: host and path, the scheme apart) and a Cache-Control on every object.
    Objects are readable by anyone through the bucket policy (README, "Media delivery"), not per-object ACLs."""
    options = {"querystring_auth": False, "object_parameters": {"CacheControl": f"public, max-age={cache_seconds}"}}
    if base_url:
        scheme, _, rest = base_url.partition("://")
        options |= {"custom_domain": rest, "url_protocol": f"{scheme}:"}
    return options


if S3_BUCKET:
    _s3_options = {
        "endpoint_url": env("S3_ENDPOINT_URL", default=None),
        "access_key": env("S3_ACCESS_KEY_ID", default=None),
        "secret_key": env("S3_SECRET_ACCESS_KEY", default=None),
        "region_name": env("S3_REGION", default="us-east-1"),
        "querystring_auth": True,
        "querystring_expire": MEDIA_URL_EXPIRY_SECONDS,
        "file_overwrite": False,
        "default_acl": None,
    }
    _private_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3_options, "bucket_name": S3_BUCKET, "location": "private"},
    }
    _public_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_s3_options,
            **s3_public_url_options(MEDIA_PUBLIC_BASE_URL, cache_seconds=MEDIA_PUBLIC_CACHE_SECONDS),
            "bucket_name": S3_PUBLIC_BUCKET,
            "location": "public",
        },
    }
else:
    _private_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "private", "base_url": None},
    }
    _public_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": MEDIA_ROOT / "public",
            "base_url": f"{MEDIA_PUBLIC_BASE_URL or SITE_URL + MEDIA_URL + 'public'}/",
        },
    }

STORAGES = {
    "default": _private_storage,
    "public": _public_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"

# Upload limits: anything bigger is refused before it reaches a view.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
AVATAR_MAX_BYTES = env.int("AVATAR_MAX_BYTES", default=5 * 1024 * 1024)
AVATAR_MAX_PIXELS = 4096 * 4096

# --- Auth ------------------------------------------------------------------

AUTH_USER_MODEL = "creators.User"
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "handle", "display_name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The admin login form: this many failures per account or per address lock it for the window.
ADMIN_LOGIN_MAX_FAILURES = env.int("ADMIN_LOGIN_MAX_FAILURES", default=10)
ADMIN_LOGIN_WINDOW_S = env.int("ADMIN_LOGIN_WINDOW_S", default=15 * 60)

INVITE_ONLY = env.bool("INVITE_ONLY", default=False)
# Links in account mails (verify an email, reset a password, confirm a new email) open the app here;
# the app reads the token from the link and posts it to the API.
APP_URL = env("APP_URL", default="http://localhost:8000").rstrip("/")
EMAIL_VERIFY_MAX_AGE_S = env.int("EMAIL_VERIFY_MAX_AGE_S", default=3 * 24 * 3600)
EMAIL_CHANGE_MAX_AGE_S = env.int("EMAIL_CHANGE_MAX_AGE_S", default=24 * 3600)
# Password reset links (Django's token generator) expire after this; a used or outdated one never works.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_S", default=3 * 3600)
MINIMUM_AGE_YEARS = 13
ADULT_AGE_YEARS = 18

# Per-tier limits. The render pipeline enforces them; `me` reports them.
TIER_QUOTAS = {
    "free": {
        "max_render_seconds": env.int("FREE_MAX_RENDER_SECONDS", default=15),
        "daily_renders": env.int("FREE_DAILY_RENDERS", default=30),
        "concurrent_renders": env.int("FREE_CONCURRENT_RENDERS", default=2),
        "character_cameos": env.int("FREE_CHARACTER_CAMEOS", default=3),
    },
    "pro": {
        "max_render_seconds": env.int("PRO_MAX_RENDER_SECONDS", default=25),
        "daily_renders": env.int("PRO_DAILY_RENDERS", default=100),
        "concurrent_renders": env.int("PRO_CONCURRENT_RENDERS", default=5),
        "character_cameos": env.int("PRO_CHARACTER_CAMEOS", default=20),
    },
}

# Cameos: verification clips and reference media.
CAMEO_VERIFIER = env("CAMEO_VERIFIER", default="backend.cameos.verification.ManualReviewVerifier")
CAMEO_CHALLENGE_TTL_S = env.int("CAMEO_CHALLENGE_TTL_S", default=15 * 60)
CAMEO_CLIP_MIN_S = 3
CAMEO_CLIP_MAX_S = 30
CAMEO_CLIP_MAX_BYTES = env.int("CAMEO_CLIP_MAX_BYTES", default=50 * 1024 * 1024)
CAMEO_CLIP_MAX_SIDE_PX = env.int("CAMEO_CLIP_MAX_SIDE_PX", default=3840)
CAMEO_IMAGE_MAX_BYTES = env.int("CAMEO_IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
CAMEO_VOICE_MIN_S = 3
CAMEO_VOICE_MAX_S = env.int("CAMEO_VOICE_MAX_S", default=60)
# Direct uploads (POST /api/v1/uploads, backend/cameos/services/direct_uploads.py): how long a form or part
# URL stays valid; above DIRECT_UPLOAD_MULTIPART_BYTES, an S3 multipart upload in parts of PART_BYTES
# (S3 takes parts of 5 MB at least, the last one excepted), so a phone resends a failed part, not the file.
DIRECT_UPLOAD_EXPIRY_S = env.int("DIRECT_UPLOAD_EXPIRY_S", default=3600)
DIRECT_UPLOAD_MULTIPART_BYTES = env.int("DIRECT_UPLOAD_MULTIPART_BYTES", default=20 * 1024 * 1024)
DIRECT_UPLOAD_PART_BYTES = env.int("DIRECT_UPLOAD_PART_BYTES", default=8 * 1024 * 1024)

# Data rights (data_rights/): an account whose owner asked for its deletion is inactive at once and purged
# (personal data and every stored file) this many days later, unless they sign in before; a deleted cameo's
# files are erased at once, and whatever is left of them after this many days by beat; an export's link works
# for this many days (its file is deleted after), and a person may ask for this many a day.
ACCOUNT_PURGE_DAYS = env.int("ACCOUNT_PURGE_DAYS", default=30)
CAMEO_PURGE_DAYS = env.int("CAMEO_PURGE_DAYS", default=30)
DATA_EXPORT_LINK_DAYS = env.int("DATA_EXPORT_LINK_DAYS", default=7)
DATA_EXPORTS_PER_DAY = env.int("DATA_EXPORTS_PER_DAY", default=3)

# Moderation: strikes expire; enough active strikes suspend the account for a while.
STRIKE_TTL_DAYS = env.int("STRIKE_TTL_DAYS", default=90)
STRIKES_TO_SUSPEND = env.int("STRIKES_TO_SUSPEND", default=3)
SUSPENSION_DAYS = env.int("SUSPENSION_DAYS", default=7)
# An outside moderation model for prompts: "" (none) or "openai" (its moderation endpoint).
MODERATION_PROVIDER = env("MODERATION_PROVIDER", default="")
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default="https://api.openai.com")
# Flagged categories that refuse a prompt outright; other flags only mark it for review.
MODERATION_REFUSE_CATEGORIES = env.list(
    "MODERATION_REFUSE_CATEGORIES", default=["sexual/minors", "self-harm/instructions", "violence/graphic"]
)

# Revenue split, in basis points of each event (backend/rights/services.py documents the rule).
REVENUE_CAMEO_POOL_BPS = env.int("REVENUE_CAMEO_POOL_BPS", default=1500)
REVENUE_ANCESTOR_POOL_BPS = env.int("REVENUE_ANCESTOR_POOL_BPS", default=1000)
REVENUE_ANCESTORS_PAID = env.int("REVENUE_ANCESTORS_PAID", default=3)
REVENUE_PLATFORM_BPS = env.int("REVENUE_PLATFORM_BPS", default=3000)

# --- Mail ------------------------------------------------------------------


def email_settings(url: str, *, var_dir: Path) -> dict:
    """Django's EMAIL_* settings from EMAIL_URL as django-environ reads it (smtp+tls://user:password@host:587,
    smtp+ssl://host:465, smtp://host:25). Without one, each mail is a file under var/mail/."""
    if not url:
        filebased = "django.core.mail.backends.filebased.EmailBackend"
        return {"EMAIL_BACKEND": filebased, "EMAIL_FILE_PATH": var_dir / "mail"}
    config = environ.Env.email_url_config(url)
    return {key: value for key, value in config.items() if key.startswith("EMAIL_") and value not in (None, "")}


globals().update(email_settings(env("EMAIL_URL", default=""), var_dir=VAR_DIR))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_S", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Remix <no-reply@remix.local>")

# --- API -------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "backend.core.i18n.JWTAuthentication",
        "backend.core.i18n.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "backend.core.permissions.NotSuspendedForWrites",
    ],
    # JSON bodies are refused past API_JSON_MAX_DEPTH levels or API_JSON_MAX_BYTES before decoding.
    "DEFAULT_PARSER_CLASSES": [
        "backend.core.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "backend.core.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "backend.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "backend.core.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", default="60/min"),
        "user": env("THROTTLE_USER", default="600/min"),
        "auth": env("THROTTLE_AUTH", default="10/min"),  # per address: token, refresh, registration
        # Per email named in a token or registration request, whatever address it comes from.
        "auth_account": env("THROTTLE_AUTH_ACCOUNT", default="20/hour"),
        # Per user (per address when anonymous), for the writes an attacker would flood.
        "provenance": env("THROTTLE_PROVENANCE", default="30/hour"),
        "comments": env("THROTTLE_COMMENTS", default="20/min"),
        "reports": env("THROTTLE_REPORTS", default="30/hour"),
        "grant_requests": env("THROTTLE_GRANT_REQUESTS", default="30/hour"),
        "uploads": env("THROTTLE_UPLOADS", default="60/hour"),  # direct upload forms asked for
        "feed_events": env("THROTTLE_FEED_EVENTS", default="120/min"),  # batches per user (feeds/api.py)
    },
    # Throttles key on the client address: REMOTE_ADDR unless the operator declares how many
    # proxies sit in front (then the address that many hops back in X-Forwarded-For). Never the
    # header as a client sent it. See the README, "Behind a load balancer".
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# With PostgreSQL or Redis out of reach, requests answer 503 with this Retry-After (backend/core/errors.py).
UNAVAILABLE_RETRY_AFTER_S = env.int("UNAVAILABLE_RETRY_AFTER_S", default=5)
# The bearer token a Prometheus scraper presents at /metrics (backend/core/metrics.py); unset, /metrics is a 404.
METRICS_TOKEN = env("METRICS_TOKEN", default="")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    # A refresh token works once: a replayed one is refused.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "USER_ID_FIELD": "id",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Remix API",
    "DESCRIPTION": "AI-video social app: cameos, renders, remixes and the swipe feed.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "CameoKindEnum": "backend.cameos.models.Cameo.Kind",
        "CameoStatusEnum": "backend.cameos.models.Cameo.Status",
        "CameoAudienceEnum": "backend.cameos.models.Cameo.Audience",
        "GrantStatusEnum": "backend.cameos.models.CameoGrant.Status",
        "VerificationStatusEnum": "backend.cameos.models.CameoVerification.Status",
        "RenderKindEnum": "media.models.RenderJob.Kind",
        "RenderStatusEnum": "media.models.RenderJob.Status",
        "VideoStatusEnum": "backend.videos.models.Video.Status",
        "VideoVisibilityEnum": "backend.videos.models.Video.Visibility",
        "NotificationKindEnum": "notifications.models.Kind",
        "NotificationChannelEnum": "notifications.models.Channel",
        "UploadKindEnum": "backend.cameos.models.Upload.Kind",
        "UploadStatusEnum": "backend.cameos.models.Upload.Status",
        "RenderAspectEnum": "media.models.RenderJob.Aspect",
        "RenderResolutionEnum": "media.models.RenderJob.Resolution",
        "RenderStageEnum": "media.models.RenderJob.Stage",
        "ReportReasonEnum": "backend.moderation.models.Report.Reason",
        "ModerationTargetTypeEnum": "backend.moderation.models.Case.TargetType",
        "CharacterScopeEnum": "backend.rights.models.Character.Scope",
        "CreatorTierEnum": "backend.creators.models.User.Tier",
        "DevicePlatformEnum": "notifications.models.Device.Platform",
        "DataExportStatusEnum": "data_rights.models.DataExport.Status",
        "FeedEventTypeEnum": "feeds.services.EVENT_TYPES",
        "LineageNodeStatusEnum": ["available", "removed"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backend.core.conditional.schema_conditional_reads",  # the 304 and ETag of conditional reads
    ],
}

# --- Celery ----------------------------------------------------------------


def _kombu_url(redis_url: str) -> str:
    """redis-py writes unix sockets as unix://path?db=N; kombu as redis+socket://path?virtual_host=N."""
    if not redis_url.startswith("unix://"):
        return redis_url
    return "redis+socket://" + redis_url.removeprefix("unix://").replace("db=", "virtual_host=")


def broker_transport_options(broker_url: str) -> dict:
    """kombu's options for the broker at ``broker_url``: Redis (redis://, rediss://, redis+socket://) or
    RabbitMQ (amqp://, amqps://; README, "A broker of its own").

    max_retries and intervals (read by kombu for any transport): a producer finds a broker that is away in
    a fraction of a second (kombu would otherwise retry for seconds); the outbox keeps the message. Workers
    reconnect by their own settings (broker_connection_retry).
    """
    options = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
    if broker_url.startswith(("amqp://", "amqps://", "pyamqp://")):
        # The outbox deletes a message once the broker took it: with publisher confirms, "took it" means
        # RabbitMQ has it (in a durable queue, persistent), not that it left this process's socket.
        # No visibility timeout: an unacknowledged message goes back the moment its worker's connection
        # closes; RabbitMQ's consumer_timeout bounds how long a worker may hold one (README).
        return options | {"confirm_publish": True}
    if broker_url.startswith(("redis://", "rediss://", "redis+socket://")):
        # Redis has no acks: a message taken and not acknowledged within this time is given to another worker.
        # Longer than any task runs (renders stop at RENDER_SOFT_TIME_LIMIT_S) and than any countdown.
        return options | {"visibility_timeout": 3600}
    scheme = broker_url.partition(":")[0]  # not the URL: it may hold a password
    raise ImproperlyConfigured(f"CELERY_BROKER_URL: a redis://, rediss://, amqp:// or amqps:// URL, not {scheme}:.")


# The broker may be a server of its own (a Redis apart from the cache and the feed store, or RabbitMQ);
# without it, the Redis of REDIS_URL carries the messages too.
CELERY_BROKER_URL = _kombu_url(env("CELERY_BROKER_URL", default=REDIS_URL))
# Results are ignored (CELERY_TASK_IGNORE_RESULT); the few callers that wait for one (benchmarks) find it
# in Redis whatever the broker.
CELERY_RESULT_BACKEND = _kombu_url(env("CELERY_RESULT_BACKEND", default=REDIS_URL))
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    # Periodic maintenance never waits behind renders: the reaper must run while renders queue up.
    "media.render_jobs_reap": {"queue": "default"},
    "media.video_files_repair": {"queue": "default"},
    "media.render_job_postprocess": {"queue": "media"},
    "media.render_*": {"queue": "renders"},
    "media.*": {"queue": "media"},
    "cameos.upload_verify": {"queue": "media"},  # probes and remuxes a file, as media work does
    "feeds.*": {"queue": "feeds"},
    "notifications.*": {"queue": "notifications"},
}
# A task is acknowledged only once it finished; a worker that dies puts it back (RabbitMQ at once, when the
# worker's connection closes; Redis after the visibility timeout, renders sooner through the reaper).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(CELERY_BROKER_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Video search looks first among the newest this many posts (search.selectors.videos_search): enough that a word
# in one post of a hundred fills a page of candidates; few enough that their index and rows stay in memory.
SEARCH_RECENT_DOCUMENTS = env.int("SEARCH_RECENT_DOCUMENTS", default=50_000)
# Then among the newest this many (a wider ring, recent ones included), and only then among all posts: a rare word
# beside a common one costs the index the common one's posts in the ring it reads.
SEARCH_NEWER_DOCUMENTS = env.int("SEARCH_NEWER_DOCUMENTS", default=250_000)

CELERY_BEAT_SCHEDULER = "backend.core.beat:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# The outbox (backend/core/outbox.py): how often the relay looks for messages left unsent, and
# how long a process stops trying to send at once after the broker refused one.
OUTBOX_RELAY_INTERVAL_S = env.float("OUTBOX_RELAY_INTERVAL_S", default=1.0)
OUTBOX_BROKER_BACKOFF_S = env.float("OUTBOX_BROKER_BACKOFF_S", default=5.0)
# Messages go through the outbox, which is the retry: a publish to a broker that is away fails at
# once instead of holding the request or the worker.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULE = {
    "reap-stalled-renders": {"task": "media.render_jobs_reap", "schedule": 15.0},
    "flush-feed-counters": {"task": "feeds.counters_flush", "schedule": 10.0},
    # What Redis missed during an outage, put right once it is back (feeds/models.py RedisRepair).
    "repair-redis": {"task": "feeds.redis_repairs_apply", "schedule": 5.0},
    "recompute-trending": {"task": "feeds.trending_recompute", "schedule": 300.0},
    # The lists a viewer with no feed gets a first page from at once (feeds/cold_start.py).
    "refresh-shared-first-pages": {"task": "feeds.shared_candidates_refresh", "schedule": 60.0},
    # Files a crashed request or a lost retry left in the wrong store (see media/video_files.py).
    "repair-video-files": {"task": "media.video_files_repair", "schedule": 300.0},
    # Cog's and Replicate's webhook states and Cog's uploads, once renders no longer need them.
    "sweep-provider-predictions": {"task": "media.provider_predictions_sweep", "schedule": 3600.0},
    # Direct uploads nobody used (never sent, rejected, verified and left), with their objects.
    "sweep-uploads": {"task": "cameos.uploads_sweep", "schedule": 3600.0},
    # Data rights: accounts past their deletion grace period, deleted cameos' files, exports' expired files.
    "purge-deleted-accounts": {"task": "data_rights.accounts_purge", "schedule": 3600.0},
    "purge-deleted-cameo-media": {"task": "data_rights.cameos_media_purge", "schedule": 3600.0},
    "expire-data-exports": {"task": "data_rights.exports_expire", "schedule": 3600.0},
    # Messages waiting in each Celery queue, for /metrics (backend/core/metrics.py).
    # A reading older than the next is worthless: a backed-up default queue drops it.
    "record-queue-depths": {"task": "core.queue_depths_record", "schedule": 30.0, "options": {"expires": 25}},
    # Notifications of moments no change sends an event for: a suspension running out, a month's statements.
    "notify-suspensions-ended": {"task": "notifications.suspensions_ended_notify", "schedule": 300.0},
    # Hashtag counts and trending scores for search and discover (search/services.py).
    "refresh-hashtag-stats": {"task": "search.hashtag_stats_refresh", "schedule": 300.0},
    # Which posts are among the newest that video search looks among first (search/services.py).
    "refresh-search-recent": {"task": "search.recent_documents_refresh", "schedule": 600.0},
    "notify-statements-ready": {
        "task": "notifications.statements_ready_notify",
        "schedule": crontab(minute=0, hour=6, day_of_month=1),
    },
}

# --- Render pipeline ---------------------------------------------------------

RENDER_MAX_ATTEMPTS = env.int("RENDER_MAX_ATTEMPTS", default=4)
RENDER_RETRY_BACKOFF_S = env.int("RENDER_RETRY_BACKOFF_S", default=5)
RENDER_RETRY_BACKOFF_MAX_S = env.int("RENDER_RETRY_BACKOFF_MAX_S", default=300)
RENDER_POLL_INTERVAL_S = env.float("RENDER_POLL_INTERVAL_S", default=2.0)
RENDER_HEARTBEAT_INTERVAL_S = env.float("RENDER_HEARTBEAT_INTERVAL_S", default=10.0)
# A running job whose heartbeat is older than this lost its worker: the reaper re-queues it.
# With the reaper every 15 s, a dead worker's render is taken over within about 45 s.
RENDER_HEARTBEAT_TIMEOUT_S = env.int("RENDER_HEARTBEAT_TIMEOUT_S", default=30)
# A queued job nobody claimed for this long lost its message (a broker flush): the reaper sends it again.
RENDER_QUEUED_RESEND_S = env.int("RENDER_QUEUED_RESEND_S", default=900)
RENDER_SOFT_TIME_LIMIT_S = env.int("RENDER_SOFT_TIME_LIMIT_S", default=1800)
# Renders' and post-processing's work folders (media/workdirs.py): the reaper removes those a killed
# worker left once their job is no longer running.
RENDER_WORK_ROOT = Path(env("RENDER_WORK_ROOT", default=str(VAR_DIR / "work")))
RENDER_PROVIDER = env("RENDER_PROVIDER", default="preview")
# Options each provider is built with (keys of RENDER_PROVIDER_OPTIONS are provider names).
RENDER_PROVIDER_OPTIONS = {
    "preview": {"output_dir": VAR_DIR / "preview"},
    "veo": {
        "api_key": env("VEO_API_KEY", default=""),
        "base_url": env("VEO_BASE_URL", default="https://generativelanguage.googleapis.com"),
        # Served by the Gemini API today and takes reference images (cameos); media/providers/veo.py
        # lists the others it knows (Fast, Lite, Veo 3) and what each accepts.
        "model": env("VEO_MODEL", default="veo-3.1-generate-preview"),
        # A project billed in the EU, the UK, Switzerland or MENA may only ask Veo for adults.
        "adults_only_region": env.bool("VEO_ADULTS_ONLY_REGION", default=False),
    },
    "cog": {
        "base_url": env("COG_BASE_URL", default="http://127.0.0.1:5000"),
        # For a proxy in front of Cog's server (which has no authentication of its own).
        "api_token": env("COG_API_TOKEN", default=""),
        # Required: Cog reports progress only by webhook. This service's public URL + /api/v1/webhooks/cog.
        "webhook_url": env("COG_WEBHOOK_URL", default=""),
        # Hosts besides COG_BASE_URL's that may serve outputs given as URLs, fetched over HTTPS only.
        "download_hosts": env.list("COG_DOWNLOAD_HOSTS", default=[]),
    },
    "replicate": {
        "api_token": env("REPLICATE_API_TOKEN", default=""),
        # An official model ("owner/name", its latest version) or a version id; the version wins.
        "model": env("REPLICATE_MODEL", default=""),
        "version": env("REPLICATE_VERSION", default=""),
        # This service's public URL + /api/v1/webhooks/replicate; without it the worker polls the API.
        "webhook_url": env("REPLICATE_WEBHOOK_URL", default=""),
        # whsec_…, from GET https://api.replicate.com/v1/webhooks/default/secret.
        "webhook_signing_secret": env("REPLICATE_WEBHOOK_SIGNING_SECRET", default=""),
    },
}
# Cog's output uploads (started with --upload-url, see README) and inline outputs in its webhooks.
COG_UPLOAD_MAX_BYTES = env.int("COG_UPLOAD_MAX_BYTES", default=1024 * 1024 * 1024)
COG_WEBHOOK_MAX_BYTES = env.int("COG_WEBHOOK_MAX_BYTES", default=32 * 1024 * 1024)
# Extra providers by name (dotted class paths), e.g. a benchmark's no-op provider.
RENDER_PROVIDER_CLASSES: dict[str, str] = {}
# The C2PA signing chain (PEM) and key; a development chain is made in var/c2pa without them.
C2PA_CERT_PATH = env("C2PA_CERT_PATH", default="")
C2PA_KEY_PATH = env("C2PA_KEY_PATH", default="")
# Roots trusted when reading manifests (PEM); the development CA when unset.
C2PA_TRUST_ANCHORS_PATH = env("C2PA_TRUST_ANCHORS_PATH", default="")
PROVENANCE_MAX_BYTES = env.int("PROVENANCE_MAX_BYTES", default=100 * 1024 * 1024)
# The H.264 encoder of post-processing: libx264 (CPU) or a hardware one where the machine has it.
MEDIA_ENCODER = env("MEDIA_ENCODER", default="libx264")
if MEDIA_ENCODER not in ("libx264", "h264_nvenc", "h264_qsv", "h264_vaapi"):
    raise ImproperlyConfigured(f"MEDIA_ENCODER={MEDIA_ENCODER!r}: use libx264, h264_nvenc, h264_qsv or h264_vaapi.")
RENDER_REFERENCE_IMAGE_MAX_BYTES = env.int("RENDER_REFERENCE_IMAGE_MAX_BYTES", default=10 * 1024 * 1024)

# --- Feeds -------------------------------------------------------------------

FEED_KEY_PREFIX = env("FEED_KEY_PREFIX", default="remix")
# Where stored feeds, cards and event counters live: empty shares the cache's Redis (REDIS_URL); a
# redis:// URL names a Redis of their own, redis+cluster://host:port[,host:port...] a Redis Cluster.
FEED_REDIS_URL = env("FEED_REDIS_URL", default="")
if FEED_REDIS_URL and redis_clients.is_cluster_url(FEED_REDIS_URL):
    try:
        redis_clients.cluster_nodes(FEED_REDIS_URL)
    except ValueError as error:
        raise ImproperlyConfigured(f"FEED_REDIS_URL: {error}") from None
# Event counters are spread over this many hashes by video, so a cluster spreads their writes over its
# primaries. Raise it only: batches of shards beyond a lowered count are not flushed.
FEED_COUNTER_SHARDS = env.int("FEED_COUNTER_SHARDS", default=16 if redis_clients.is_cluster_url(FEED_REDIS_URL) else 1)
FEED_CAP = env.int("FEED_CAP", default=1000)  # ids kept per stored feed
FEED_TTL_S = env.int("FEED_TTL_S", default=7 * 24 * 3600)
# Cards carry counts; a few minutes of lag on a like count is the price of a cheap page.
FEED_CARD_TTL_S = env.int("FEED_CARD_TTL_S", default=600)
FEED_PAGE_SIZE = 10
# Cards cached ahead of the viewer; a refill caches more when a third of them is left.
FEED_WARM_CARDS = env.int("FEED_WARM_CARDS", default=300)
FEED_REFILL_BELOW = 30  # stored ids left before a refill is queued
FEED_REFILL_CLAIM_S = 30  # one queued refill per viewer in this time
FEED_CANDIDATES_PER_SOURCE = env.int("FEED_CANDIDATES_PER_SOURCE", default=300)
FEED_CANDIDATE_WINDOW_DAYS = env.int("FEED_CANDIDATE_WINDOW_DAYS", default=14)
# Authors with more followers than this are merged into followers' feeds at read
# time instead of being fanned out to every follower on publish.
FEED_FANOUT_MAX_FOLLOWERS = env.int("FEED_FANOUT_MAX_FOLLOWERS", default=10_000)
FEED_VIEWER_SET_TTL_S = 24 * 3600  # a viewer's blocked and liked sets, reloaded from PostgreSQL after
# A viewer with no feed in Redis gets a first page from lists shared per locale and age group, while
# their own feed is built on a worker (feeds/cold_start.py); off: that page waits for the build.
FEED_SHARED_FIRST_PAGE = env.bool("FEED_SHARED_FIRST_PAGE", default=True)
FEED_SHARED_CANDIDATES = env.int("FEED_SHARED_CANDIDATES", default=200)  # ids per shared list
FEED_SHARED_TTL_S = env.int("FEED_SHARED_TTL_S", default=300)  # beat refreshes them every minute
FEED_SHARED_LOCALES = env.list("FEED_SHARED_LOCALES", default=["en"])  # refreshed by beat; others built on miss
FEED_TEEN_DAILY_CARDS = env.int("FEED_TEEN_DAILY_CARDS", default=300)
# Ranking weights (feeds/ranking.py explains each): engagement per impression,
# freshness half-life, affinity, steering, exploration, diversity per page.
FEED_RANKING = {
    "like": env.float("FEED_W_LIKE", default=3.0),
    "completion": env.float("FEED_W_COMPLETION", default=2.0),
    "remix": env.float("FEED_W_REMIX", default=4.0),
    "half_life_hours": env.float("FEED_HALF_LIFE_HOURS", default=36.0),
    "affinity": env.float("FEED_W_AFFINITY", default=0.5),
    "steering": env.float("FEED_W_STEERING", default=0.6),
    "exploration": env.float("FEED_W_EXPLORATION", default=0.3),
    "max_per_author": env.int("FEED_MAX_PER_AUTHOR", default=2),
    "max_per_lineage": env.int("FEED_MAX_PER_LINEAGE", default=2),
    "page_size": FEED_PAGE_SIZE,
}

# --- Notifications -------------------------------------------------------------

# A grouped item ("maya and 41 others liked your video") pushes on its first actor, then at most once per this.
NOTIFICATIONS_GROUP_PUSH_INTERVAL_S = env.int("NOTIFICATIONS_GROUP_PUSH_INTERVAL_S", default=600)
# Push to phones (notifications/providers/): "log" writes each push to the log; "fcm" sends it through
# Firebase Cloud Messaging's HTTP v1 API (Android, and iOS through APNs) as the service account in the file.
PUSH_PROVIDER = env("PUSH_PROVIDER", default="log")
PUSH_PROVIDER_OPTIONS = {
    "fcm": {
        "project_id": env("FCM_PROJECT_ID", default=""),
        "credentials_file": env("FCM_CREDENTIALS_FILE", default=""),
        "base_url": env("FCM_BASE_URL", default="https://fcm.googleapis.com"),
        # The OAuth token endpoint; empty: the service-account file's token_uri (Google's).
        "token_uri": env("FCM_TOKEN_URI", default=""),
    },
}
# Transient provider errors (QUOTA_EXCEEDED, UNAVAILABLE) are retried with exponential backoff, or after the
# provider's Retry-After, this many times; then the push is recorded as a PushFailure.
PUSH_MAX_RETRIES = env.int("PUSH_MAX_RETRIES", default=6)
PUSH_RETRY_BACKOFF_S = env.int("PUSH_RETRY_BACKOFF_S", default=5)
PUSH_RETRY_BACKOFF_MAX_S = env.int("PUSH_RETRY_BACKOFF_MAX_S", default=600)

# --- Security --------------------------------------------------------------

# No SECURE_PROXY_SSL_HEADER: Django would believe an X-Forwarded-Proto any client sends. The scheme
# is gunicorn's, which honours X-Forwarded-Proto only from FORWARDED_ALLOW_IPS (README, "Behind a
# load balancer").
SECURE_PROXY_SSL_HEADER = None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe health over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"
# `manage.py check --deploy` is clean with production settings (tests/security/test_deploy_check.py);
# the only check silenced:
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is an irreversible decision left to the operator (SECURE_HSTS_PRELOAD).
    "security.W021",
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
# The languages of messages, mail and push; each has a catalogue in locale/ (README "Languages").
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("ja", "日本語"),
    ("ko", "한국어"),
    ("zh-hans", "简体中文"),
    ("zh-hant", "繁體中文"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

# JSON lines for log collectors in production, plain text to read in a terminal under DEBUG; every record
# carries the request id and goes through the redacting filter (backend/core/logs.py).
LOG_FORMAT = env("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain.")
LOGGING = logging_config(log_format=LOG_FORMAT, level=env("LOG_LEVEL", default="INFO"))

# Error reports (sentry-sdk) when SENTRY_DSN is set: no personal data, no local variables (they hold
# prompts and tokens), every event scrubbed by backend/core/redaction.py before it leaves.
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        release=env("SENTRY_RELEASE", default=None),
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="small",
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        before_send=sentry_before_send,
        before_send_transaction=sentry_before_send,
    )
