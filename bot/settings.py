"""All configuration, from environment variables and an optional ``.env`` file.

Every setting is documented in the README. Names are unprefixed to match what operators
expect from a Telegram bot (``TELEGRAM_BOT_TOKEN``, ``DATABASE_URL``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """CalfCoach settings; see the README's Configuration table."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    embedding_model: str = Field(
        default="all-MiniLM-L6-v2",
        description="sentence-transformers model: the packaged name or a local directory.",
    )
    embedding_backend: Literal["onnx-int8", "onnx", "torch"] = Field(
        default="onnx-int8",
        description="onnx-int8: the model exported to ONNX and quantised to int8, run by "
        "onnxruntime (fastest; no torch at run time); onnx: the same export in float32; "
        "torch: sentence-transformers. The index is embedded by the same encoder.",
    )
    encoder_threads: int = Field(
        default=0,
        ge=0,
        description="onnx-int8: texts embedded in parallel, one thread each; onnx: onnxruntime "
        "intra-op threads; 0 = one per core.",
    )
    answer_cache_size: int = Field(default=2048, ge=0, description="Cached answers (0 = off).")
    data_dir: Path = Field(
        default=PROJECT_ROOT / "var", description="Where the index and the database live."
    )
    index_dir: Path | None = Field(
        default=None, description="FAISS index directory (default: DATA_DIR/index)."
    )
    answer_max_chars: int = Field(default=700, ge=200, le=4000)
    log_level: str = Field(default="WARNING")
    eval_dirs: list[Path] = Field(
        default_factory=lambda: [
            PROJECT_ROOT / "tests" / "eval",
            PROJECT_ROOT / "tests" / "eval" / "blind-r1",
            PROJECT_ROOT / "tests" / "eval" / "blind-r2",
            PROJECT_ROOT / "tests" / "eval" / "blind-r3",
            PROJECT_ROOT / "tests" / "eval" / "blind-r4",
            PROJECT_ROOT.parent / "shared" / "eval",
        ],
        description="Folders of eval JSONL files for `calfcoach eval`.",
    )

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default SQLite in DATA_DIR; postgresql://... for replicas.",
    )
    reminder_poll_seconds: float = Field(default=60.0, gt=0)
    user_rate_burst: int = Field(
        default=20,
        ge=0,
        description="Messages one user may send at once before being refused; 0 = no limit.",
    )
    user_rate_period_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Time in which a full burst drains: 20 per 30 s lets 2 messages per 3 s "
        "through once the burst is spent (a user ticking a list of buttons stays under it).",
    )
    telegram_bot_token: SecretStr | None = Field(
        default=None, description="The bot's token from @BotFather; unset runs the terminal chat."
    )
    telegram_api_url: str | None = Field(
        default=None,
        description="Bot API base URL (a self-hosted Bot API server or a test emulator).",
    )
    telegram_max_rate: float = Field(
        default=30.0,
        gt=0,
        description="Messages per second across all chats (Telegram allows about 30).",
    )
    typing_after_seconds: float = Field(
        default=0.5,
        ge=0,
        description=(
            "Show 'typing...' only when an answer takes longer than this (most take a few ms;"
            " an extra Bot API call for each would halve the updates a second)."
        ),
    )
    webhook_url: str | None = Field(
        default=None, description="Public HTTPS URL Telegram posts updates to; unset = polling."
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token."
    )
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_listen: str = Field(
        default="127.0.0.1",
        description="Interface the webhook binds: loopback behind a reverse proxy on the same "
        "host; 0.0.0.0 in a container (its network is the boundary).",
    )
    webhook_path: str | None = Field(
        default=None, description="URL path of the webhook (default: the path of WEBHOOK_URL)."
    )
    bot_api_retry_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long start-up keeps retrying an unreachable Bot API (with backoff).",
    )
    database_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Longest wait for the database (connect, statement, lock) before a step "
        "fails with StoreUnavailable, so a hung database answers users 'try again' quickly.",
    )
    processed_updates_retention_hours: float = Field(
        default=72.0,
        gt=0,
        description="How long processed update ids are kept to recognise redeliveries "
        "(Telegram gives up redelivering after 24 h).",
    )

    @field_validator("webhook_secret")
    @classmethod
    def _secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            import re

            if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
                raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ or -")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir or self.data_dir / "index"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
