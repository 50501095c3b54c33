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
    "ibms.accounting",
    "ibms.monitoring",
    "ibms.banks",
    "ibms.treasury",
    "ibms.web",
    "ibms.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ibms.iam.middleware.SessionTimeoutMiddleware",
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
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
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
IBMS_IMPORT_MAX_BYTES = int(os.environ.get("IBMS_IMPORT_MAX_BYTES", 10 * 1024 * 1024))

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"
DJANGO_TABLES2_PAGE_RANGE = 8

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "ibms": {"handlers": ["console"], "level": os.environ.get("IBMS_LOG_LEVEL", "INFO")},
    },
}
