"""The service's settings, in one typed place (README, "Configuration"): read once from the
environment and, if `CODI_CONFIG_FILE` names one, a file (`.toml` with the fields' names, e.g.
`workers = 4`; any other name is read as `.env` lines, `CODI_WORKERS=4`). The environment wins
over the file; a value that cannot be understood stops start-up with a message that names the
setting (`SettingsError`) rather than being guessed at.

Every field is read from the environment as `CODI_` and its name in capitals (`CODI_WORKERS`),
but for `DATABASE_URL`; in a TOML file or in code, under its own name (`workers`).
"""

import ipaddress
import os
import re
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

ENV_PREFIX = "CODI_"
CONFIG_FILE = ENV_PREFIX + "CONFIG_FILE"
SWITCH = {"on": True, "off": False}


class SettingsError(ValueError):
    """A setting that cannot be understood; the message names it as the environment does."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid", populate_by_name=True)

    database_url: str = Field("sqlite:///codi-ledger.db", validation_alias="DATABASE_URL")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    # uvicorn's `forwarded_allow_ips`: unset, no X-Forwarded-For is believed, so a client cannot
    # choose the address its failed sign-ins count against.
    trusted_proxies: str = ""
    # None: Secure when the page came over https; set it behind a proxy that ends TLS.
    cookie_secure: bool | None = None
    session_idle_minutes: float = Field(30, gt=0, le=24 * 60)
    session_hours: float = Field(12, gt=0, le=24 * 31)
    public_url: str = "http://127.0.0.1:8000"
    body_timeout_s: int = Field(10, ge=1, le=600)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # auto: JSON lines, or readable text when standard error is a terminal.
    log_format: Literal["auto", "json", "text"] = "auto"
    api_docs: bool = True
    # Addresses or networks that may read /metrics without a token (comma-separated).
    metrics_allow: str = ""
    # The daily schedule (docs/operations.md): close of business at this time in Bangkok, by the
    # server itself (api.scheduler; unset, the service manager's timer runs `codi-ledger cob
    # --today`), the audit digest written to `digest_dir` and a dump to `backup_dir`, the newest
    # `backups_kept` of them kept. Unset folders: the commands are told where with --to / --to-dir.
    cob_time: time | None = None
    digest_dir: Path | None = None
    backup_dir: Path | None = None
    backups_kept: int = Field(14, ge=1, le=10_000)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must be sqlite:///FILE or postgresql+psycopg://USER@HOST:PORT/DB")
        return url

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, url: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
            raise ValueError("must be an http:// or https:// address")
        return url.rstrip("/")

    @field_validator("api_docs", mode="before")
    @classmethod
    def _on_or_off(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip().lower() not in SWITCH:
                raise ValueError("must be on or off")
            return SWITCH[value.strip().lower()]
        return value

    @field_validator("cookie_secure", mode="before")
    @classmethod
    def _one_zero_or_unset(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip() not in ("", "0", "1"):
                raise ValueError("must be 1, 0 or unset")
            return None if not value.strip() else value.strip() == "1"
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("cob_time", mode="before")
    @classmethod
    def _hours_minutes(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
            raise ValueError("must be HH:MM (Asia/Bangkok), e.g. 23:00")
        return value

    @field_validator("metrics_allow", "trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for part in _parts(value):
            if part != "*":
                try:
                    ipaddress.ip_network(part, strict=False)
                except ValueError:
                    raise ValueError(f"{part!r} is not an address or network") from None
        return value.strip()

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:  # fmt: skip
        path = os.environ.get(CONFIG_FILE, "").strip()
        if not path:
            return init_settings, env_settings
        if not Path(path).is_file():
            raise SettingsError(f"setting {CONFIG_FILE}: no file {path}")
        if path.endswith(".toml"):
            return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=path)
        return init_settings, env_settings, DotEnvSettingsSource(settings_cls, env_file=path)

    @classmethod
    def load(cls) -> "Settings":
        """The settings in force: the environment, then the file it names."""
        try:
            return cls()
        except ValidationError as error:
            raise SettingsError(_explained(error)) from None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """The settings of `environ` alone (tests), or those in force when none is given."""
        if environ is None:
            return cls.load()
        given = {name: environ[_env_name(name)] for name in cls.model_fields if _env_name(name) in environ}
        try:
            return cls.model_validate(given)
        except ValidationError as error:
            raise SettingsError(_explained(error)) from None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    def metrics_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(part, strict=False) for part in _parts(self.metrics_allow) if part != "*"]

    def forwarding(self) -> dict[str, Any]:
        """uvicorn's options for forwarded headers: believed from the trusted proxies only."""
        if not self.trusted_proxies:
            return {"proxy_headers": False}
        return {"proxy_headers": True, "forwarded_allow_ips": self.trusted_proxies}

    def shown(self) -> dict[str, str]:
        """Each setting under its environment name, as `codi-ledger config` prints it: secrets masked."""
        values = self.model_dump()
        values["database_url"] = make_url(self.database_url).render_as_string(hide_password=True)
        return {_env_name(name): _text(value) for name, value in values.items()}


def _env_name(field: str) -> str:
    return Settings.model_fields[field].validation_alias or ENV_PREFIX + field.upper()


def _parts(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _text(value: Any) -> str:
    if value is None or value == "":
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value)


def _explained(error: ValidationError) -> str:
    """One line per bad setting, named as the environment names it."""
    lines = []
    for problem in error.errors():
        where = str(problem["loc"][0]) if problem["loc"] else "?"
        name = _env_name(where) if where in Settings.model_fields else where
        if problem["type"] == "extra_forbidden":
            lines.append(f"setting {name}: not a setting of codi-ledger")
            continue
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"setting {name}: {message} (given {problem.get('input')!r})")
    return "; ".join(lines)
