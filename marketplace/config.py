"""Settings, read from the environment (and an optional ``.env``), never from code.

Owns: the names of every setting and their defaults. Imports nothing of the app.
The embedded default (``RONGTONG_ENV=development``) keeps everything under ``instance/``;
production (the default environment) refuses to start without a real ``SECRET_KEY`` and
without ``PUBLIC_URL`` (links in e-mails and the hosts the site answers to come from it).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: keys too weak or too well-known to sign production sessions with
_WEAK_KEYS = {"", "dev", "development", "secret", "changeme", "change-me", "test", "please-change-me"}


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the app refuses to start."""


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _timeout_pair(value: str) -> tuple[float, float]:
    """``"3,5"`` → (3.0, 5.0) seconds (connect, read); one number is both."""
    parts = [float(part) for part in value.replace(" ", "").split(",") if part]
    if not parts or len(parts) > 2 or min(parts) <= 0:
        raise ConfigError(f"WEBHOOK_TIMEOUT must be seconds, such as 3,5 (connect, read), not {value!r}.")
    return (parts[0], parts[-1])


def _log_format(value: str | None, env: str) -> str:
    """``LOG_FORMAT``: ``json`` (one JSON object per line; the default in production) or ``text``."""
    log_format = (value or "").strip().lower() or ("json" if env == "production" else "text")
    if log_format not in {"json", "text"}:
        raise ConfigError(f"LOG_FORMAT must be json or text, not {value!r}.")
    return log_format


def _positive_seconds(name: str, default: str) -> float:
    value = os.environ.get(name, default).strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise ConfigError(f"{name} must be a positive number of seconds, not {value!r}.")
    return seconds


def _metrics_token(value: str, production: bool) -> str:
    """``METRICS_TOKEN``: empty (``/metrics`` for loopback clients only) or, in production, 16 characters or more."""
    token = value.strip()
    if token and production and len(token) < 16:
        raise ConfigError("METRICS_TOKEN must be at least 16 random characters in production (or unset: /metrics "
                          "then answers only requests from this host).")
    return token


def _multiproc_dir() -> str:
    """``PROMETHEUS_MULTIPROC_DIR`` (read by prometheus_client itself): when set it must be an existing directory."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if path and not Path(path).is_dir():
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR={path} is not a directory: create it (empty) before starting "
                          "gunicorn and `flask index worker`, and empty it at each start.")
    return path


def _dev_secret_key(instance_dir: Path) -> str:
    """A random key kept in ``instance/`` so every worker and restart share it."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _public_url(value: str, production: bool) -> str:
    """``PUBLIC_URL`` without a trailing slash; in production it is required and must be http(s)://host."""
    url = value.strip().rstrip("/")
    if not url:
        if production:
            raise ConfigError(
                "PUBLIC_URL must be set in production to the address users reach the site at, such as "
                "https://rongtong.example.cn: links in e-mails are built on it, and requests for other hosts are "
                "refused (see ALLOWED_HOSTS)."
            )
        return ""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"PUBLIC_URL must look like https://rongtong.example.cn, not {value!r}.")
    return url


def allowed_hosts(value: str | None, public_url: str, production: bool) -> list[str] | None:
    """Host names the site answers to: ``ALLOWED_HOSTS`` (comma or space separated), else in production PUBLIC_URL's host.

    None (every host) in development and tests unless ``ALLOWED_HOSTS`` is set. A name starting with a
    dot also allows its subdomains; ports are ignored (Werkzeug's ``host_is_trusted``).
    """
    hosts = [h.strip().lower() for h in (value or "").replace(",", " ").split() if h.strip()]
    if hosts:
        return hosts
    host = urlsplit(public_url).hostname if public_url and production else None
    return [host] if host else None


def database_url_from_env(instance_dir: Path) -> str:
    """``DATABASE_URL`` with the psycopg 3 driver, or SQLite under ``instance/``."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{instance_dir / 'rongtong.db'}"
    # Heroku-style and bare postgres URLs get the psycopg 3 driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config(overrides: dict | None = None) -> dict:
    """Build the settings mapping for ``create_app``; ``overrides`` win over the environment."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    overrides = dict(overrides or {})
    testing = bool(overrides.get("TESTING"))
    env = overrides.get("ENV") or os.environ.get("RONGTONG_ENV", "production").strip().lower()
    instance_dir = Path(overrides.get("INSTANCE_DIR") or os.environ.get("INSTANCE_DIR") or PROJECT_ROOT / "instance")
    production = env == "production" and not testing

    secret_key = overrides.get("SECRET_KEY") or os.environ.get("SECRET_KEY", "")
    if production:
        if secret_key.strip().lower() in _WEAK_KEYS or len(secret_key) < 24:
            raise ConfigError(
                "SECRET_KEY must be set to a random value of at least 24 characters in production "
                "(the same in every worker). For a local demo run `make run`, which sets RONGTONG_ENV=development."
            )
    elif not secret_key:
        secret_key = _dev_secret_key(instance_dir)

    public_url = _public_url(str(overrides.get("PUBLIC_URL") or os.environ.get("PUBLIC_URL", "")), production)
    mail_server = os.environ.get("MAIL_SERVER", "").strip()
    config = {
        "ENV_NAME": env,
        "PRODUCTION": production,
        "SECRET_KEY": secret_key,
        "INSTANCE_DIR": str(instance_dir),
        "SQLALCHEMY_DATABASE_URI": database_url_from_env(instance_dir),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SQLITE_BUSY_TIMEOUT_MS": int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "15000")),
        "SEARCH_INDEX_DIR": os.environ.get("SEARCH_INDEX_DIR") or str(instance_dir / "search_index"),
        # "inline": each process applies its own changes after commit (embedded default);
        # "worker": web processes only read, `flask index worker` applies the change log
        "SEARCH_DRAIN": os.environ.get("SEARCH_DRAIN", "inline").strip().lower(),
        # seconds a drain waits for the index's write lock before leaving the changes to the next drain
        "SEARCH_WRITE_TIMEOUT": float(os.environ.get("SEARCH_WRITE_TIMEOUT", "2")),
        # periodic jobs (`flask jobs list`), run by `flask index worker` through Huey. Their queue: Redis at
        # JOBS_REDIS_URL (in production REDIS_URL unless set), else a SQLite file (JOBS_SQLITE_PATH)
        "JOBS_REDIS_URL": os.environ.get("JOBS_REDIS_URL", "").strip()
        or (os.environ.get("REDIS_URL", "").strip() if production else ""),
        "JOBS_SQLITE_PATH": os.environ.get("JOBS_SQLITE_PATH") or str(instance_dir / "jobs.db"),
        # the queue's name (its Redis keys): deployments sharing one Redis need different names
        "JOBS_QUEUE_NAME": os.environ.get("JOBS_QUEUE_NAME", "rongtong").strip() or "rongtong",
        # also run the periodic jobs in the web process when it is served by `flask run` (make run);
        # default: on in development with SEARCH_DRAIN=inline (never in tests, gunicorn or other commands)
        "JOBS_INLINE": _env_bool("JOBS_INLINE", env == "development"
                                 and os.environ.get("SEARCH_DRAIN", "inline").strip().lower() == "inline"),
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR") or str(instance_dir / "uploads"),
        # `flask backup create|restore` on PostgreSQL: the client programs (empty: found on PATH)
        "PG_DUMP": os.environ.get("PG_DUMP", "").strip(),
        "PG_RESTORE": os.environ.get("PG_RESTORE", "").strip(),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(50 * 1024 * 1024))),
        "REDIS_URL": os.environ.get("REDIS_URL", "").strip(),
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS", True),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Rongtong 融通 <no-reply@rongtong.local>"),
        # sessions and cookies
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
        # a server-side session (user_sessions row) not seen for this long has ended
        "SESSION_MAX_IDLE": int(os.environ.get("SESSION_MAX_IDLE", str(60 * 60 * 24 * 30))),
        "PASSWORD_RESET_MAX_AGE": 3600,
        # seconds the "continue your registration" link in the e-mail works
        "REGISTRATION_MAX_AGE": 60 * 60 * 24,
        "INVITATION_MAX_AGE_DAYS": 14,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # the address users reach the site at (https://rongtong.example.cn); links in e-mails use it
        "PUBLIC_URL": public_url,
        # Flask refuses (400) a request whose Host is not in this list; None accepts any (development)
        "TRUSTED_HOSTS": allowed_hosts(os.environ.get("ALLOWED_HOSTS"), public_url, production),
        # i18n
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
        "LANGUAGES": ["zh_CN", "en"],
        # forms
        "WTF_CSRF_TIME_LIMIT": None,
        # rate limits: memory is per worker, so production uses Redis
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI")
        or (os.environ.get("REDIS_URL", "").strip() or "memory://"),
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "rongtong"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "RESET_RATE_LIMIT": os.environ.get("RESET_RATE_LIMIT", "5 per minute"),
        # both registration steps (the e-mail address, then the company form), per client address
        "REGISTER_RATE_LIMIT": os.environ.get("REGISTER_RATE_LIMIT", "5 per minute"),
        # the open API (/api/v1): requests per minute per token (and per client address, for bad tokens);
        # the largest JSON body it reads; how long a POST's Idempotency-Key replays its first answer
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "300 per minute"),
        "API_ADDRESS_RATE_LIMIT": os.environ.get("API_ADDRESS_RATE_LIMIT", "1200 per minute"),
        "API_MAX_JSON_BYTES": int(os.environ.get("API_MAX_JSON_BYTES", str(4 * 1024 * 1024))),
        "API_IDEMPOTENCY_HOURS": int(os.environ.get("API_IDEMPOTENCY_HOURS", "24")),
        "BOOTSTRAP_SERVE_LOCAL": True,
        # company webhooks: may an endpoint be on a private, loopback or link-local network (SSRF guard off)?
        # on in development and tests (a receiver on http://127.0.0.1), never by default in production
        "WEBHOOK_ALLOW_PRIVATE": _env_bool("WEBHOOK_ALLOW_PRIVATE", not production),
        # seconds to connect and to read the answer: "3,5" (connect, read) or one number for both
        "WEBHOOK_TIMEOUT": _timeout_pair(os.environ.get("WEBHOOK_TIMEOUT", "3,5")),
        # consecutive failed attempts after which an endpoint is disabled (its admins are told)
        "WEBHOOK_DISABLE_AFTER": int(os.environ.get("WEBHOOK_DISABLE_AFTER", "20")),
        # reverse proxies in front of the app whose X-Forwarded-* headers are trusted (0: none)
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        # operations (marketplace/ops): log lines as JSON objects (production) or text (development)
        "LOG_FORMAT": _log_format(os.environ.get("LOG_FORMAT"), env),
        # /metrics: with a token, `Authorization: Bearer <token>`; without, requests from this host only
        "METRICS_TOKEN": _metrics_token(os.environ.get("METRICS_TOKEN", ""), production),
        # where every process of this host adds up its metrics (gunicorn's workers, the index worker); empty:
        # each process reports its own
        "PROMETHEUS_MULTIPROC_DIR": _multiproc_dir(),
        # the index worker's heartbeat (per host, like the index); with SEARCH_DRAIN=worker /readyz answers 503
        # when it is missing or older than READY_WORKER_STALE_SECONDS
        "WORKER_HEARTBEAT_PATH": os.environ.get("WORKER_HEARTBEAT_PATH") or str(instance_dir / "worker.heartbeat"),
        "READY_WORKER_STALE_SECONDS": _positive_seconds("READY_WORKER_STALE_SECONDS", "300"),
        # seconds /readyz (and a /metrics scrape) waits for the database before calling it unreachable
        "READY_DB_TIMEOUT_SECONDS": _positive_seconds("READY_DB_TIMEOUT_SECONDS", "3"),
    }
    if production and config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        # Not fatal (a single worker is fine) but worth saying: limits are per worker.
        config["RATELIMIT_WARN_MEMORY"] = True
    config.update(overrides)
    return config
