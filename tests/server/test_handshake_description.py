"""handshake.json is the SDK's answers recorded from the server as it is now (it goes stale when tools change)."""

from __future__ import annotations

import json
from pathlib import Path

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

from mcp_server_checkpoints.config import Settings
from mcp_server_checkpoints.server.describe import REGENERATE, describe_default, main
from mcp_server_checkpoints.server.handshake import DESCRIPTION_FILE, Description


def test_shipped_description_is_the_servers_own() -> None:
    shipped = Path(DESCRIPTION_FILE).read_text(encoding="utf-8")
    assert describe_default().to_json() == shipped, (
        f"{Path(DESCRIPTION_FILE).name} is stale (the tools, instructions, capabilities or the SDK changed): "
        f"run `{REGENERATE}` and commit the file")


def test_settings_do_not_change_the_description(tmp_path: Path) -> None:
    other = Settings(db=tmp_path / "o.db", semantic=False, project="api", log_level="DEBUG", max_payload_bytes=1024)
    assert describe_default(other) == Description.load()


def test_description_covers_every_handshake_version() -> None:
    desc = Description.load()
    assert set(desc.answers) == set(HANDSHAKE_PROTOCOL_VERSIONS) and desc.latest == LATEST_HANDSHAKE_VERSION
    for version, answers in desc.answers.items():
        init = json.loads(desc.line(version, "initialize", 7))
        assert init["id"] == 7 and init["result"]["protocolVersion"] == version
        assert init["result"]["capabilities"]["completions"] == {}
        tools = json.loads(desc.line(version, "tools/list", "a"))["result"]["tools"]
        assert {"recover", "save_checkpoint", "read_graph"} <= {t["name"] for t in tools}


def test_check_mode_reports_a_stale_file(tmp_path: Path, capsys: object) -> None:
    stale = tmp_path / "handshake.json"
    stale.write_text("{}", encoding="utf-8")
    assert main(["--check", "--out", str(stale)]) == 1
    assert main(["--out", str(stale)]) == 0 and main(["--check", "--out", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == Path(DESCRIPTION_FILE).read_text(encoding="utf-8")
