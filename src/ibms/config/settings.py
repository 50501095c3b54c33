"""Django settings: wiring only. Everything environment-specific comes from IBMS_* variables."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent  # src/ibms
PROJECT_DIR = Path(os.environ.get("IBMS_HOME", BASE_DIR.parent.parent)).resolve()
VAR_DIR = Path(os.environ.get("IBMS_VAR_DIR", PROJECT_DIR / "var"))
DATA_DIR = Path(os.environ.get("IBMS_DATA_DIR", PROJECT_DIR / "data"))

SECRET_KEY = os.environ.get("IBMS_SECRET_KEY", "dev-insecure-key-change-me-in-production")
DEBUG = os.environ.get("IBMS_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("IBMS_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "ninja",  # Swagger UI from ninja's own static files, not a CDN
    "ibms.core",
    "ibms.masterdata",
    "ibms.iam",
    "ibms.projects",
    "ibms.indicators",
    "ibms.budgeting",
    "ibms.procurement",
    "ibms.accounting",
    "ibms.monitoring",
    "ibms.banks",
    "ibms.treasury",
    "ibms.assets",
    "ibms.payroll",
    "ibms.unitfunds",
    "ibms.closing",
    "ibms.web",
    "ibms.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ibms.iam.middleware.SessionTimeoutMiddleware",
    "ibms.iam.middleware.PasswordChangeMiddleware",
    "ibms.core.middleware.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ibms.core.middleware.WriteGateMiddleware",
    "ibms.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "ibms.config.urls"
WSGI_APPLICATION = "ibms.config.wsgi.application"

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
                "ibms.web.context_processors.navigation",
            ],
        },
    }
]

# SQLite is the embedded default; PostgreSQL when IBMS_DATABASE_URL points at one.
VAR_DIR.mkdir(parents=True, exist_ok=True)
_db_url = os.environ.get("IBMS_DATABASE_URL", f"sqlite:///{VAR_DIR / 'ibms.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # No row locks in SQLite: every write transaction takes the write lock at BEGIN.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "iam.User"
AUTHENTICATION_BACKENDS = ["ibms.iam.auth.ThrottledModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# 等保 2.0 level 3 (ibms.iam.passwords): ≥ 8 characters, 3 of 4 classes, not the user name, not one of the last
# IBMS_PASSWORD_HISTORY passwords, valid IBMS_PASSWORD_MAX_AGE_DAYS days (0: no expiry); messages in Chinese.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "ibms.iam.passwords.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "ibms.iam.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "ibms.iam.passwords.UsernameNotContainedValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "ibms.iam.passwords.PasswordHistoryValidator"},
]
IBMS_PASSWORD_HISTORY = int(os.environ.get("IBMS_PASSWORD_HISTORY", 5))
IBMS_PASSWORD_MAX_AGE_DAYS = int(os.environ.get("IBMS_PASSWORD_MAX_AGE_DAYS", 90))
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# Sessions: idle timeout via cookie age refreshed on every request; absolute timeout in middleware.
SESSION_COOKIE_AGE = int(os.environ.get("IBMS_SESSION_IDLE_SECONDS", 30 * 60))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
IBMS_SESSION_ABSOLUTE_SECONDS = int(os.environ.get("IBMS_SESSION_ABSOLUTE_SECONDS", 8 * 3600))
IBMS_LOGIN_MAX_FAILURES = int(os.environ.get("IBMS_LOGIN_MAX_FAILURES", 5))
IBMS_LOGIN_LOCK_SECONDS = int(os.environ.get("IBMS_LOGIN_LOCK_SECONDS", 15 * 60))
# Per client address, beside the per-account lock: this many failed logins within the window refuse further
# attempts from the address until the window has passed (0: off). Behind a reverse proxy name the header it sets
# with the client's address (IBMS_CLIENT_IP_HEADER, e.g. X-Forwarded-For; its last address counts), or every
# client shares the proxy's.
IBMS_LOGIN_IP_MAX_FAILURES = int(os.environ.get("IBMS_LOGIN_IP_MAX_FAILURES", 30))
IBMS_LOGIN_IP_WINDOW_SECONDS = int(os.environ.get("IBMS_LOGIN_IP_WINDOW_SECONDS", 15 * 60))
IBMS_CLIENT_IP_HEADER = os.environ.get("IBMS_CLIENT_IP_HEADER", "").strip()

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]
# zh-Hans for everyone (no LocaleMiddleware): a browser asking for English must not get a mixed UI.
FILTERS_EMPTY_CHOICE_LABEL = "全部"
FILTERS_NULL_CHOICE_LABEL = "（空）"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
# Audit hash chains per (kind, region) on PostgreSQL: concurrent writers in one region take different shards.
IBMS_AUDIT_SHARDS = int(os.environ.get("IBMS_AUDIT_SHARDS", 8))
# How often the worker reads each agent bank's message feed (receipts, returns, refunds, clearing, statements).
IBMS_BANK_POLL_SECONDS = float(os.environ.get("IBMS_BANK_POLL_SECONDS", 5))
# a bank message whose handler keeps failing is quarantined (held for a person) after this many attempts
IBMS_BANK_MAX_ATTEMPTS = int(os.environ.get("IBMS_BANK_MAX_ATTEMPTS", 5))
# Excel imports (ibms.core.excel.ReadLimits), checked before parsing (zip directory) or while streaming
# carry-over (结转结余) lines executed per transaction (closing.services.carryover)
IBMS_CARRY_CHUNK = int(os.environ.get("IBMS_CARRY_CHUNK", 200))
IBMS_IMPORT_MAX_BYTES = int(os.environ.get("IBMS_IMPORT_MAX_BYTES", 10 * 1024 * 1024))
IBMS_IMPORT_MAX_ROWS = int(os.environ.get("IBMS_IMPORT_MAX_ROWS", 50_000))
IBMS_IMPORT_MAX_COLUMNS = int(os.environ.get("IBMS_IMPORT_MAX_COLUMNS", 256))
IBMS_IMPORT_MAX_CELL_CHARS = int(os.environ.get("IBMS_IMPORT_MAX_CELL_CHARS", 32_767))
IBMS_IMPORT_MAX_UNZIPPED_BYTES = int(os.environ.get("IBMS_IMPORT_MAX_UNZIPPED_BYTES", 100 * 1024 * 1024))
IBMS_IMPORT_MAX_ZIP_RATIO = int(os.environ.get("IBMS_IMPORT_MAX_ZIP_RATIO", 100))
IBMS_IMPORT_MAX_ZIP_MEMBERS = int(os.environ.get("IBMS_IMPORT_MAX_ZIP_MEMBERS", 1000))
# a page import that takes longer is rolled back and refused (well inside gunicorn's 120 s worker timeout)
IBMS_IMPORT_MAX_SECONDS = float(os.environ.get("IBMS_IMPORT_MAX_SECONDS", 60))
# a page import of more data rows runs as a background job (core.imports), this many rows per worker step
IBMS_IMPORT_SYNC_MAX_ROWS = int(os.environ.get("IBMS_IMPORT_SYNC_MAX_ROWS", 2000))
IBMS_IMPORT_JOB_CHUNK_ROWS = int(os.environ.get("IBMS_IMPORT_JOB_CHUNK_ROWS", 500))

# Transport and headers (docs/operations.md «传输安全与响应头»). The policy (django-csp): scripts, styles and
# everything else from our own static files only — no inline script or handler, no eval, nothing framed.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": [SELF], "script-src": [SELF], "style-src": [SELF], "img-src": [SELF, "data:"],
    "object-src": [NONE], "base-uri": [SELF], "form-action": [SELF], "frame-ancestors": [NONE],
}}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_FAILURE_VIEW = "ibms.core.views.csrf_failure"  # Chinese, not Django's English page
CSRF_COOKIE_HTTPONLY = True  # pages send the token from the template (hx-headers), never read the cookie
# Behind a TLS-terminating proxy (IBMS_BEHIND_TLS=1): HTTPS redirect, HSTS, Secure cookies, and the header the
# proxy sets to mark HTTPS ("Name: value"; empty when the app terminates TLS itself) — trusted only then, since a
# client can send any header.
IBMS_BEHIND_TLS = os.environ.get("IBMS_BEHIND_TLS", "0") == "1"
if IBMS_BEHIND_TLS:
    _proxy_name, _, _proxy_value = os.environ.get("IBMS_PROXY_SSL_HEADER", "X-Forwarded-Proto: https").partition(":")
    if _proxy_name.strip():
        if not _proxy_value.strip():
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured("IBMS_PROXY_SSL_HEADER must look like 'X-Forwarded-Proto: https'")
        SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_name.strip().upper().replace("-", "_"), _proxy_value.strip())
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(os.environ.get("IBMS_HSTS_SECONDS", 365 * 24 * 3600))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("IBMS_HSTS_INCLUDE_SUBDOMAINS", "0") == "1"
    SECURE_HSTS_PRELOAD = os.environ.get("IBMS_HSTS_PRELOAD", "0") == "1"
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"
DJANGO_TABLES2_PAGE_RANGE = 8

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ibms.core.context.RequestIdFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "loggers": {
        "ibms": {"handlers": ["console"], "level": os.environ.get("IBMS_LOG_LEVEL", "INFO")},
        # a page's 500 is logged with its traceback and request id (Django logs it only when DEBUG otherwise)
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
