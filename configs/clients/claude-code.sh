#!/usr/bin/env sh
# Register the server for every project of the current user in Claude Code.
# (`ckpt setup` does this and also adds the PreCompact / SessionStart hooks.)
claude mcp add --scope user checkpoints -- ckpt
