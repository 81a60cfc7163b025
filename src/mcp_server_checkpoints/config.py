"""Settings: the one place that reads the environment and the config file.

Precedence, highest first: CLI flags → environment (`CHECKPOINTS_*`) → the TOML config file
(`--config`, `CHECKPOINTS_CONFIG`, or `$XDG_CONFIG_HOME/mcp-server-checkpoints/config.toml`)
→ defaults. Every key is documented in `configs/default.toml`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mcp_server_checkpoints.errors import InvalidInputError

APP_DIR = "mcp-server-checkpoints"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR / "checkpoints.db"


def default_state_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP_DIR


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP_DIR / "config.toml"


# The variables that locate the MCP clients' own configuration files (`ckpt setup`).
CLIENT_ENV_KEYS = ("HOME", "USERPROFILE", "XDG_CONFIG_HOME", "APPDATA", "LOCALAPPDATA", "CLAUDE_CONFIG_DIR",
                   "CODEX_HOME")


def client_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables `integrations.clients.Home` needs, read here like every other."""
    env = os.environ if env is None else env
    return {key: env[key] for key in CLIENT_ENV_KEYS if env.get(key)}


class Settings(BaseModel):
    """Every setting of the server and the CLI."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    db: Path = Field(default_factory=default_db_path)
    project: str | None = None
    max_payload_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    diff_chain_max: int = Field(default=8, ge=1, le=64)
    log_level: LogLevel = "WARNING"
    redact_patterns: list[str] = Field(default_factory=list, max_length=200)
    semantic: bool = True
    embedding_model: str | None = None
    hook_log: Path = Field(default_factory=lambda: default_state_dir() / "hooks.log")

    @field_validator("redact_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for i, pattern in enumerate(value, 1):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {i} is not a valid regular expression ({exc})") from None
        return value


# Environment variable → setting name.
ENV_KEYS: dict[str, str] = {
    "CHECKPOINTS_DB": "db",
    "CHECKPOINTS_PROJECT": "project",
    "CHECKPOINTS_MAX_PAYLOAD_BYTES": "max_payload_bytes",
    "CHECKPOINTS_DIFF_CHAIN_MAX": "diff_chain_max",
    "CHECKPOINTS_LOG_LEVEL": "log_level",
    "CHECKPOINTS_HOOK_LOG": "hook_log",
    "CHECKPOINTS_SEMANTIC": "semantic",
    "CHECKPOINTS_EMBEDDING_MODEL": "embedding_model",
}


def load_settings(
    overrides: dict[str, Any] | None = None,
    *,
    config_file: str | Path | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    """Build Settings from defaults, the config file, the environment and `overrides` (CLI flags)."""
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}

    explicit = config_file or env.get("CHECKPOINTS_CONFIG")
    path = Path(explicit).expanduser() if explicit else default_config_path(env)
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInputError(f"config file {path} cannot be read: {exc}") from None
        values.update(data)
    elif explicit:
        raise InvalidInputError(f"config file {path} does not exist")

    for var, key in ENV_KEYS.items():
        if env.get(var):
            values[key] = env[var]
    if "project" not in values and env.get("CLAUDE_PROJECT_DIR"):
        # Claude Code gives stdio servers the project root: checkpoints default to that project.
        values["project"] = env["CLAUDE_PROJECT_DIR"]

    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    values["db"] = Path(str(values["db"])).expanduser() if "db" in values else default_db_path(env)
    values["hook_log"] = (Path(str(values["hook_log"])).expanduser() if "hook_log" in values
                          else default_state_dir(env) / "hooks.log")
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInputError(f"invalid setting ({problems}); see configs/default.toml") from None
