"""Settings: one object, read from the environment (and ``.env``), validated at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Every setting sophia-iac reads. ``.env.example`` lists them all.

    Secrets are never settings values: adapters resolve credentials by reference through
    :mod:`adapters.credentials`.
    """

    model_config = SettingsConfigDict(env_prefix="SOPHIA_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".sophia-iac")
    database_url: str | None = None
    #: A file holding the state store's URL (a mounted secret: the URL carries the password).
    database_url_file: str | None = None
    env: str = "dev"
    actor: str | None = None
    default_environment: str = "prod"
    lock_ttl_seconds: int = 900
    #: How often the webhook worker scans every platform in the inventory for drift (0 = never).
    drift_scan_seconds: int = Field(default=900, ge=0)
    #: How often the webhook worker settles pending / needs_reconcile changes by read-back (0 = never).
    reconcile_seconds: int = Field(default=300, ge=0)
    #: How long a webhook worker holds a claimed event; a worker that dies mid-event leaves it to another after this.
    webhook_lease_seconds: float = Field(default=300, gt=0)
    #: How often an idle webhook worker looks for new events.
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    pgvector_url: str | None = None
    #: A file holding the pgvector platform's URL (a mounted secret).
    pgvector_url_file: str | None = None
    #: The embedded PostgreSQL stops after this long without clients (0 = runs until `sophia-iac pg stop`).
    pg_idle_seconds: float = Field(default=900, ge=0)
    #: As root, run a new embedded PostgreSQL in a user namespace (false: as `nobody`); see state/pgserver.py.
    pg_userns: bool = True
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    policy_path: str | None = None
    #: ``platform.resource`` entries managed as code (``snowflake.warehouse,github.repo``).
    iac_managed: str = ""
    #: Pulumi backend URL; default ``file://$SOPHIA_HOME/pulumi/state``.
    iac_backend_url: str | None = None
    #: Bounded retries while another update holds a stack, and the base delay between them.
    iac_retries: int = 3
    iac_retry_seconds: float = 2.0
    #: How long to wait for our own concurrent update on the same stack to finish.
    iac_lock_timeout_seconds: float = 120.0

    @field_validator("home", mode="before")
    @classmethod
    def _expand_home(cls, value: object) -> object:
        return Path(str(value)).expanduser() if value else value

    @model_validator(mode="after")
    def _urls_from_files(self) -> Settings:
        """``SOPHIA_DATABASE_URL_FILE`` / ``SOPHIA_PGVECTOR_URL_FILE``: read when the URL itself is unset.

        A URL with a password is a secret, so it can come from a file (a container secret),
        read by :func:`adapters.credentials.resolve_secret` like every credential: the value is
        registered with the scrubber, and an unreadable or empty file is a ``ConfigError``
        naming the variable. The URL set directly wins, as ``SOPHIA_<NAME>`` wins over
        ``SOPHIA_<NAME>_FILE`` for credentials.
        """
        for field, platform in (("database_url", "database"), ("pgvector_url", "pgvector")):
            path = getattr(self, f"{field}_file")
            if getattr(self, field) or not (path or "").strip():
                continue
            from adapters.credentials import SecretRef, resolve_secret

            ref = SecretRef(platform, "URL")
            setattr(self, field, resolve_secret(ref, environ={ref.file_var: path}).reveal())
        return self

    @property
    def state_url(self) -> str:
        """The state store URL: ``SOPHIA_DATABASE_URL`` or SQLite under ``$SOPHIA_HOME``."""
        return self.database_url or f"sqlite:///{self.home / 'state.db'}"

    @property
    def is_postgres(self) -> bool:
        """Whether the state store is PostgreSQL."""
        return self.state_url.startswith("postgresql")

    def default_actor(self) -> str:
        """The CLI actor: ``SOPHIA_ACTOR`` or ``cli:<login of the process's uid>`` (not ``$USER``)."""
        if self.actor:
            return self.actor
        from orchestrator.principal import os_actor

        return os_actor()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call ``get_settings.cache_clear()``)."""
    return Settings()
