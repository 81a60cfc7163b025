from __future__ import annotations

import pytest

from mcp_server_checkpoints.recovery.detect import detect


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Continue work on: JWT authentication\n\nProgress: 60% complete\nNext: Implement token refresh endpoint\n"
         "Files: auth.js, middleware.js", "formatted"),
        ("Resume: payment webhooks", "formatted"),
        ("Progress: 40%\nNext steps: wire the retry queue", "formatted"),
        ("**Files modified:** api.py\n**Next steps:** add tests", "formatted"),
        ("This session is being continued from a previous conversation that ran out of context. Summary: ...",
         "formatted"),
        ("Let's continue the API authentication we were building", "natural"),
        ("Where were we on the billing project?", "natural"),
        ("Resume the search indexing work", "natural"),
        ("what was I working on?", "natural"),
        ("Load previous context", "natural"),
        ("can we pick up the migration from last time", "natural"),
        ("Hello", "none"),
        ("", "none"),
        ("write a haiku about autumn", "none"),
        ("Explain how progress bars work in tqdm", "none"),
        ("open checkpoint-2026-11-20-jwt-auth-7f3a9c please", "id"),
    ],
)
def test_patterns(message: str, kind: str) -> None:
    assert detect(message).kind == kind


def test_formatted_fields_and_topic() -> None:
    det = detect("Continue work on: JWT authentication\nProgress: 60% complete\nNext: Implement token refresh endpoint")
    assert det.fields["topic"] == "JWT authentication" and det.fields["progress"] == "60% complete"
    assert "JWT authentication" in det.topic and "refresh" in det.topic


def test_explicit_id_extracted() -> None:
    assert detect("resume checkpoint-2026-11-20-jwt-auth-7f3a9c").checkpoint_id == "checkpoint-2026-11-20-jwt-auth-7f3a9c"


def test_topicless_natural_request() -> None:
    det = detect("continue where we left off")
    assert det.kind == "natural" and not det.has_topic
    assert detect("let's continue the billing work").has_topic
