"""Which command lines start the stdio front end (it claims stdin and stdout before argparse runs)."""

from __future__ import annotations

import pytest

from mcp_server_checkpoints.cli import _serves_stdio


@pytest.mark.parametrize("argv", [[], ["serve"], ["--db", "x.db"], ["serve", "--project", "api"],
                                  ["--log-level", "DEBUG", "serve", "--transport", "stdio"]])
def test_serving_over_stdio_starts_it(argv: list[str]) -> None:
    assert _serves_stdio(argv)


@pytest.mark.parametrize("argv", [["serve", "--transport", "http"], ["serve", "--transport=http"],
                                  ["serve", "--trans", "http"], ["list"], ["hook", "pre-compact"], ["--help"],
                                  ["serve", "-h"], ["--version"], ["--db", "x.db", "search", "jwt"]])
def test_anything_else_leaves_the_wire_alone(argv: list[str]) -> None:
    assert not _serves_stdio(argv)
