"""Claude Code: its hooks (`ckpt hook EVENT`) and the transcript they read."""

# store-summary: what post-compact starts in the background to do the saving, so the hook returns at once.
HOOK_EVENTS = ("pre-compact", "post-compact", "session-start", "session-end", "store-summary")
