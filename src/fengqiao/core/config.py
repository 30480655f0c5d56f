"""Settings, read from FENGQIAO_* environment variables."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FENGQIAO_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="uploads, the SQLite file, models")
    database_url: str = Field(default="", description="empty: SQLite file in data_dir")
    secret_key: str = Field(
        default_factory=lambda: secrets.token_urlsafe(32),
        description="signs nothing secret-critical yet; set it in production",
    )
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
    default_language: str = "zh"
    # The text model (a folder made by `fengqiao classify train`); empty: data_dir/classifier
    # when it exists, else none (matters then wait for a dispatcher to categorise them).
    classifier_dir: Path | None = None
    # Text similarity from which a recent nearby matter is shown as a possible duplicate.
    duplicate_threshold: float = 0.6

    @property
    def effective_classifier_dir(self) -> Path | None:
        path = self.classifier_dir or self.data_dir / "classifier"
        return path if path.is_dir() else None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fengqiao.sqlite3').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
