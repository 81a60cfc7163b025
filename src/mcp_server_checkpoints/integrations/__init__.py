"""The clients' side: Claude Code hooks, transcript capture, client configuration."""
