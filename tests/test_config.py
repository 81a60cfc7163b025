from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from mcp_server_checkpoints.config import DEFAULTS_FILE, ENV_KEYS, Settings, default_db_path, load_settings
from mcp_server_checkpoints.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_follow_xdg(tmp_path: Path) -> None:
    s = load_settings(env={"XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert s.db == tmp_path / "mcp-server-checkpoints" / "checkpoints.db"
    assert default_db_path({"HOME": "/h"}).name == "checkpoints.db"


def test_precedence_cli_env_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('db = "/from/file.db"\nlog_level = "INFO"\nmax_payload_bytes = 2048\n')
    env = {"CHECKPOINTS_CONFIG": str(cfg), "CHECKPOINTS_DB": "/from/env.db"}
    s = load_settings(env=env)
    assert (s.db, s.log_level, s.max_payload_bytes) == (Path("/from/env.db"), "INFO", 2048)
    assert load_settings({"db": "/from/cli.db"}, env=env).db == Path("/from/cli.db")


def test_claude_project_dir_is_default_project() -> None:
    assert load_settings(env={"CLAUDE_PROJECT_DIR": "/repo", "XDG_CONFIG_HOME": "/nonexistent"}).project == "/repo"


def test_bad_settings_are_clear(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="max_payload_bytes"):
        load_settings(env={"CHECKPOINTS_MAX_PAYLOAD_BYTES": "lots", "XDG_CONFIG_HOME": str(tmp_path)})
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_settings(config_file=tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("db = [unclosed")
    with pytest.raises(InvalidInputError, match="cannot be read"):
        load_settings(config_file=bad, env={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("colour = 'blue'")
    with pytest.raises(InvalidInputError, match="colour"):
        load_settings(config_file=unknown, env={})


def test_default_toml_documents_every_setting_and_loads() -> None:
    text = DEFAULTS_FILE.read_text()
    for name in (f.name for f in dataclasses.fields(Settings)):
        assert f"# {name} =" in text or f"\n{name} =" in text, f"{name} is not documented in {DEFAULTS_FILE}"
    for var in ENV_KEYS:
        assert var in text, f"{var} is not documented in {DEFAULTS_FILE}"
    Settings(**tomllib.loads(text))  # the documented defaults are valid


def test_semantic_settings_from_env(tmp_path: Path) -> None:
    base = {"XDG_CONFIG_HOME": str(tmp_path)}
    s = load_settings(env=base)
    assert (s.semantic, s.embedding_model) == (True, None)
    s = load_settings(env={**base, "CHECKPOINTS_SEMANTIC": "false", "CHECKPOINTS_EMBEDDING_MODEL": "/models/mini"})
    assert (s.semantic, s.embedding_model) == (False, "/models/mini")
    with pytest.raises(InvalidInputError, match="semantic"):
        load_settings(env={**base, "CHECKPOINTS_SEMANTIC": "maybe"})


@pytest.mark.parametrize(("toml", "says"), [
    ("diff_chain_max = 99", "diff_chain_max: give a number from 1 to 64"),
    ("embedding_threads = 0", "embedding_threads: give a number from 1 to 64"),
    ('embedding_threads = "two"', "embedding_threads: give a whole number"),
    ("max_payload_bytes = 10", "max_payload_bytes: give a number from 1024 up"),
    ("max_payload_bytes = true", "max_payload_bytes: give a whole number"),
    ('log_level = "LOUD"', "log_level: give one of DEBUG, INFO, WARNING, ERROR"),
    ('redact_patterns = ["ok", "("]', "redact_patterns: pattern 2 is not a valid regular expression"),
    ('redact_patterns = "x"', "redact_patterns: give a list"),
    ("semantic = 3", "semantic: give true or false"),
    ("project = 7", "project: give a string"),
])
def test_each_bad_setting_says_what_to_give(tmp_path: Path, toml: str, says: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml + "\n")
    with pytest.raises(InvalidInputError, match=re.escape(says)):
        load_settings(config_file=cfg, env={})


def test_settings_are_normalised_and_frozen(tmp_path: Path) -> None:
    s = Settings(db=str(tmp_path / "x.db"), redact_patterns=["a+"], semantic="off", max_payload_bytes="4096")  # type: ignore[arg-type]
    assert (s.db, s.redact_patterns, s.semantic, s.max_payload_bytes) == (tmp_path / "x.db", ("a+",), False, 4096)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.db = tmp_path  # type: ignore[misc]
    assert s.replace(db=tmp_path / "y.db").db == tmp_path / "y.db" and s.db == tmp_path / "x.db"


def test_setting_errors_name_the_installed_defaults_file(tmp_path: Path) -> None:
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("colour = 'blue'")
    with pytest.raises(InvalidInputError) as err:
        load_settings(config_file=unknown, env={})
    assert str(DEFAULTS_FILE) in str(err.value) and DEFAULTS_FILE.is_file()
    assert "configs/" not in str(err.value)  # a repository path means nothing to an installed user


@pytest.mark.slow
def test_wheel_ships_the_defaults_file(tmp_path: Path) -> None:
    """The file the messages point to is in the built distribution, not only in the source tree."""
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("mcp_server_checkpoints-*.whl"))
    assert "mcp_server_checkpoints/default.toml" in zipfile.ZipFile(wheel).namelist()
