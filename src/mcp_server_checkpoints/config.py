"""Settings: the one place that reads the environment and the config file.

Precedence, highest first: CLI flags → environment (`CHECKPOINTS_*`) → the TOML config file
(`--config`, `CHECKPOINTS_CONFIG`, or `$XDG_CONFIG_HOME/mcp-server-checkpoints/config.toml`)
→ defaults. Every key is documented in `default.toml`, shipped beside this module (`DEFAULTS_FILE`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mcp_server_checkpoints.errors import InvalidInputError

APP_DIR = "mcp-server-checkpoints"
# Every setting with its default and a comment; shipped in the package, so the messages below can name it.
DEFAULTS_FILE = Path(__file__).with_name("default.toml")
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
# Which runtime runs the embedding model (search/backends.py): onnx and numpy need no torch.
EmbeddingBackend = Literal["auto", "onnx", "numpy", "sentence-transformers"]


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


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
EMBEDDING_BACKENDS: tuple[EmbeddingBackend, ...] = ("auto", "onnx", "numpy", "sentence-transformers")


@dataclass(frozen=True)
class Settings:
    """Every setting of the server and the CLI, validated when made.

    A plain dataclass, not a pydantic model: the hooks build one in every new process, and importing
    pydantic would be half of a session-start hook's time.
    """

    db: Path = field(default_factory=default_db_path)
    project: str | None = None
    max_payload_bytes: int = 16 * 1024 * 1024
    diff_chain_max: int = 8
    log_level: LogLevel = "WARNING"
    redact_patterns: tuple[str, ...] = ()
    semantic: bool = True
    embedding_model: str | None = None
    embedding_backend: EmbeddingBackend = "auto"
    # The query path's threads (onnxruntime intra-op, numpy's BLAS, torch); `ckpt reindex` uses every core.
    embedding_threads: int = 1
    hook_log: Path = field(default_factory=lambda: default_state_dir() / "hooks.log")
    # Encryption at rest (SQLCipher): the key file `ckpt key create` writes; None: a plain SQLite file.
    encryption_key_file: Path | None = None
    # A stored transcript's conversation text is searched too (bm25 and passages).
    index_transcripts: bool = True

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _problems(s: Settings) -> list[str]:
    """What is wrong with each setting, as `name: what to give`; and the values normalised in place."""
    problems: list[str] = []

    def put(name: str, value: object) -> None:
        object.__setattr__(s, name, value)  # frozen: normalised once, while being made

    for name in ("db", "hook_log", "encryption_key_file"):
        value = getattr(s, name)
        if isinstance(value, str) and value:
            put(name, Path(value).expanduser())
        elif value is None and name == "encryption_key_file":
            continue
        elif not isinstance(value, Path):
            problems.append(f"{name}: give a file path")
    for name, low, high in (("max_payload_bytes", 1024, None), ("diff_chain_max", 1, 64), ("embedding_threads", 1, 64)):
        value = getattr(s, name)
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            value = int(value)
            put(name, value)
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{name}: give a whole number")
        elif value < low or (high is not None and value > high):
            problems.append(f"{name}: give a number from {low}" + (f" to {high}" if high is not None else " up"))
    if s.log_level not in LOG_LEVELS:
        problems.append(f"log_level: give one of {', '.join(LOG_LEVELS)}")
    for name in ("project", "embedding_model"):
        if getattr(s, name) is not None and not isinstance(getattr(s, name), str):
            problems.append(f"{name}: give a string")
    if isinstance(s.embedding_backend, str) and s.embedding_backend.strip().lower() in EMBEDDING_BACKENDS:
        put("embedding_backend", s.embedding_backend.strip().lower())
    else:
        problems.append(f"embedding_backend: give one of {', '.join(EMBEDDING_BACKENDS)}")
    for name in ("semantic", "index_transcripts"):
        value = getattr(s, name)
        if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
            put(name, _BOOLEANS[value.strip().lower()])
        elif not isinstance(value, bool):
            problems.append(f"{name}: give true or false")
    patterns = s.redact_patterns
    if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, str) for p in patterns):
        problems.append("redact_patterns: give a list of regular expressions (strings)")
    elif len(patterns) > 200:
        problems.append("redact_patterns: give at most 200 patterns")
    else:
        put("redact_patterns", tuple(patterns))
        for i, pattern in enumerate(patterns, 1):
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"redact_patterns: pattern {i} is not a valid regular expression ({exc})")
    return problems


# What an environment variable may say for a boolean setting (pydantic's words, as before).
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "t": True, "y": True,
             "0": False, "false": False, "no": False, "off": False, "f": False, "n": False}


SETTING_NAMES = frozenset(f.name for f in dataclasses.fields(Settings))

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
    "CHECKPOINTS_KEY_FILE": "encryption_key_file",
    "CHECKPOINTS_EMBEDDING_BACKEND": "embedding_backend",
    "CHECKPOINTS_INDEX_TRANSCRIPTS": "index_transcripts",
    "CHECKPOINTS_EMBEDDING_THREADS": "embedding_threads",
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
        import tomllib  # only when there is a file: a hook process usually has none

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
    unknown = sorted(set(values) - SETTING_NAMES)
    if unknown:
        raise InvalidInputError(f"invalid setting ({', '.join(unknown)}: no such setting); every setting is listed in {DEFAULTS_FILE}")
    try:
        return Settings(**values)
    except ValueError as exc:
        raise InvalidInputError(f"invalid setting ({exc}); every setting is listed in {DEFAULTS_FILE}") from None
