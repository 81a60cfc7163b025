"""The names the command line offers for setup (no imports: `ckpt` builds its parser on every start)."""

CLIENTS: tuple[str, ...] = ("claude-code", "claude-desktop", "cursor", "codex")
DEFAULT_NAME = "checkpoints"
AGENT_FILES = ("CLAUDE.md", "AGENTS.md")  # the project files `ckpt init` adds its section to
