"""Settings, read from FENGQIAO_* environment variables."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# scheme://host[:port], host possibly starting with "*." (one CSP source expression each).
_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FENGQIAO_", extra="forbid")

    data_dir: Path = Field(default=Path("var"), description="uploads, the SQLite file, models")
    database_url: str = Field(default="", description="empty: SQLite file in data_dir")
    host: str = "127.0.0.1"
    port: int = 8000
    access_log: bool = True  # uvicorn's line per request
    access_token_minutes: int = 30
    refresh_token_days: int = 7
    # Login throttling: after `login_slow_after` failures each further attempt waits
    # 2^(n - slow_after) seconds; after `login_lock_after` the account locks.
    login_slow_after: int = 3
    login_lock_after: int = 10
    login_lock_minutes: int = 15
    max_body_bytes: int = 12 * 1024 * 1024
    # Worker threads for database work in each server process; the connection pool holds
    # as many (and a few more for the intake writer and background work), so that a busy
    # server neither waits for connections nor opens new ones.
    threads: int = 16
    # The built web console (default: the one built into the package by scripts/setup).
    web_dir: Path | None = None
    max_upload_bytes: int = 10 * 1024 * 1024
    # Grid code = parent region code + this many digits of sequence.
    grid_code_digits: int = 2
    # The zone of days, working hours and matter numbers (an IANA name; `clock.zone()`).
    timezone: str = "Asia/Shanghai"
    # Background work: "inprocess" (a thread in the server; the embedded default) or
    # "off" (run `fengqiao worker` processes on the job queue instead).
    background: str = "inprocess"
    background_interval: float = 30.0
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Where notifications go: log (default), webhook or sms.
    notify_channel: str = "log"
    webhook_url: str = ""
    webhook_secret: str = ""
    sms_url: str = ""
    sms_token: str = ""
    # A message is tried again (with growing pauses) until it has failed for this long;
    # then it is marked failed for an administrator to send again.
    notify_give_up_hours: float = 24.0
    notify_concurrency: int = 8  # sends in flight at once per channel and worker
    notify_timeout: float = 5.0  # seconds one send may take
    # The job queue's Redis stream, and the prefix of its other keys: installations that
    # share one Redis need their own.
    jobs_stream: str = "fengqiao:jobs"
    # The text model (a folder made by `fengqiao classify train`); empty: data_dir/classifier
    # when it exists, else none (matters then wait for a dispatcher to categorise them).
    classifier_dir: Path | None = None
    # Text similarity from which a recent nearby matter is shown as a possible duplicate.
    duplicate_threshold: float = 0.6
    # The API documentation (/api/docs) and its OpenAPI document; switch off in production.
    api_docs: bool = True
    # Origins (space-separated) the console may load map tile images from; the
    # Content-Security-Policy allows images from this server only otherwise.
    map_tile_origins: str = ""

    @field_validator("map_tile_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        # Each goes into the Content-Security-Policy header: nothing but an origin may.
        for origin in value.replace(",", " ").split():
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"not an origin (https://host[:port]): {origin!r}")
        return value

    @property
    def tile_origins(self) -> list[str]:
        return self.map_tile_origins.replace(",", " ").split()

    @property
    def effective_classifier_dir(self) -> Path | None:
        path = self.classifier_dir or self.data_dir / "classifier"
        return path if path.is_dir() else None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fengqiao.sqlite3').resolve()}"


NOTIFY_CHANNELS = ("log", "webhook", "sms")
BACKGROUND_MODES = ("inprocess", "off")


class SettingsError(ValueError):
    """Settings the server or a worker cannot run with; the message says what to set."""


def _url_problem(name: str, value: str, schemes: tuple[str, ...]) -> str | None:
    parts = urlsplit(value)
    if parts.scheme in schemes and (parts.hostname or parts.scheme == "unix"):
        return None
    return (
        f"{name} 不是有效地址（应以 {' 或 '.join(s + '://' for s in schemes)} 开头）："
        f"{value!r} / {name} is not a valid URL ({' or '.join(s + '://' for s in schemes)})"
    )


def settings_problems(settings: Settings) -> list[str]:
    """What is wrong with these settings, one line each (Chinese / English); none: fine.
    A notification channel without its target would mark messages delivered while nothing
    is sent, so it is refused rather than replaced by the log."""
    problems: list[str] = []
    channel = settings.notify_channel
    if channel not in NOTIFY_CHANNELS:
        problems.append(
            f"FENGQIAO_NOTIFY_CHANNEL 只能是 log、webhook 或 sms，现为 {channel!r} / "
            f"FENGQIAO_NOTIFY_CHANNEL must be log, webhook or sms, not {channel!r}"
        )
    needs: dict[str, list[tuple[str, str, str, str]]] = {
        "webhook": [
            ("FENGQIAO_WEBHOOK_URL", settings.webhook_url, "接收地址", "the receiver's URL"),
            ("FENGQIAO_WEBHOOK_SECRET", settings.webhook_secret, "签名密钥", "its signing key"),
        ],
        "sms": [
            ("FENGQIAO_SMS_URL", settings.sms_url, "短信网关地址", "the gateway's URL"),
            ("FENGQIAO_SMS_TOKEN", settings.sms_token, "网关令牌", "the gateway's token"),
        ],
    }
    for name, value, zh, en in needs.get(channel, ()):
        if not value.strip():
            problems.append(
                f"FENGQIAO_NOTIFY_CHANNEL={channel} 需要设置 {name}（{zh}） / "
                f"FENGQIAO_NOTIFY_CHANNEL={channel} needs {name} ({en})"
            )
        elif name.endswith("_URL") and (bad := _url_problem(name, value, ("http", "https"))):
            problems.append(bad)
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"FENGQIAO_TIMEZONE 不是已知的时区（例如 Asia/Shanghai）：{settings.timezone!r} / "
            f"FENGQIAO_TIMEZONE is not a known time zone (e.g. Asia/Shanghai): "
            f"{settings.timezone!r}"
        )
    if settings.background not in BACKGROUND_MODES:
        problems.append(
            f"FENGQIAO_BACKGROUND 只能是 inprocess 或 off，现为 {settings.background!r} / "
            f"FENGQIAO_BACKGROUND must be inprocess or off, not {settings.background!r}"
        )
    bad_redis = _url_problem("FENGQIAO_REDIS_URL", settings.redis_url, ("redis", "rediss", "unix"))
    if bad_redis:
        problems.append(bad_redis)
    if not settings.jobs_stream.strip():
        problems.append("FENGQIAO_JOBS_STREAM 不能为空 / FENGQIAO_JOBS_STREAM must not be empty")
    for variable, number, low, high in (
        ("FENGQIAO_BACKGROUND_INTERVAL", settings.background_interval, 0.1, 86_400),
        ("FENGQIAO_NOTIFY_GIVE_UP_HOURS", settings.notify_give_up_hours, 0.01, 24 * 365),
        ("FENGQIAO_NOTIFY_CONCURRENCY", settings.notify_concurrency, 1, 256),
        ("FENGQIAO_NOTIFY_TIMEOUT", settings.notify_timeout, 0.1, 300),
    ):
        if not low <= number <= high:
            problems.append(
                f"{variable} 应在 {low} 到 {high} 之间，现为 {number} / "
                f"{variable} must lie between {low} and {high}, not {number}"
            )
    return problems


def check_settings(settings: Settings) -> None:
    """Raises SettingsError naming every problem of `settings_problems`."""
    problems = settings_problems(settings)
    if problems:
        raise SettingsError("\n".join(problems))


@lru_cache
def get_settings() -> Settings:
    return Settings()
