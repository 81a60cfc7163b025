"""`ckpt hook EVENT` reads its plain command line without argparse; anything else goes to argparse."""

from __future__ import annotations

import pytest

from mcp_server_checkpoints.cli import _hook_args


@pytest.mark.parametrize("argv", [["hook", "pre-compact"], ["--db", "/x.db", "hook", "session-start"],
                                  ["hook", "session-end", "--db=/x.db", "--log-level", "DEBUG"],
                                  ["--config", "c.toml", "hook", "post-compact", "--db", "/x.db"]])
def test_the_plain_shapes_are_read(argv: list[str]) -> None:
    args = _hook_args(argv)
    assert args is not None and args.command == "hook" and args.event == argv[argv.index("hook") + 1]
    if "/x.db" in " ".join(argv):
        assert args.db == "/x.db"


@pytest.mark.parametrize("argv", [["hook"], ["hook", "no-such-event"], ["hook", "--help"], ["hook", "pre-compact", "x"],
                                  ["hook", "pre-compact", "--db"], ["hook", "pre-compact", "--log-level", "LOUD"],
                                  ["hook", "pre-compact", "--json"]])
def test_anything_else_is_left_to_argparse(argv: list[str]) -> None:
    assert _hook_args(argv) is None
