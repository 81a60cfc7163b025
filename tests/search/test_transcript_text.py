"""What of a stored transcript is searchable: the conversation, not the JSON around it."""

from __future__ import annotations

import json

from mcp_server_checkpoints.search.transcript_text import TranscriptIndexing, conversation_text


def line(**item: object) -> str:
    return json.dumps(item)


CLAUDE_CODE = "\n".join([
    line(type="file-history-snapshot", messageId="m0", snapshot={"trackedFileBackups": {}}),
    line(type="user", isMeta=True, message={"role": "user", "content": "<command-caveat>ignore</command-caveat>"}),
    line(type="user", message={"role": "user", "content": "Why does the kafka consumer rebalance every minute?"}),
    line(type="assistant", message={"id": "a1", "role": "assistant", "content": [
        {"type": "thinking", "thinking": ""},
        {"type": "text", "text": "Let me look at the session timeout."},
    ]}),
    line(type="assistant", message={"id": "a1", "role": "assistant", "content": [
        {"type": "tool_use", "id": "t1", "name": "Bash",
         "input": {"command": "grep -rn session.timeout.ms config/", "description": "Find the consumer timeout"}},
    ]}),
    line(type="user", message={"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "config/consumer.yml:3: session.timeout.ms=6000 lockhash"},
    ]}),
    line(type="system", subtype="away_summary", content="Raised the poll interval; rebalances stopped."),
    line(type="summary", summary="Kafka rebalance storm"),
    "not json {",
])


def test_claude_code_lines_become_what_was_said() -> None:
    text = conversation_text(CLAUDE_CODE)
    assert "Why does the kafka consumer rebalance every minute?" in text
    assert "Let me look at the session timeout." in text
    assert "[Bash] Find the consumer timeout · grep -rn session.timeout.ms config/" in text
    assert "Raised the poll interval; rebalances stopped." in text and "Kafka rebalance storm" in text
    for noise in ("lockhash", "command-caveat", "trackedFileBackups", "tool_use_id", '"type"'):
        assert noise not in text  # tool output, injected meta text and JSON machinery are not indexed


def test_plain_chat_lines_and_plain_text() -> None:
    chat = "\n".join([line(role="user", content="rename the billing tables"),
                      line(role="assistant", content=[{"type": "text", "text": "Renamed three tables."}])])
    assert conversation_text(chat) == "rename the billing tables\nRenamed three tables."
    prose = "User: rename the billing tables\nAssistant: done"
    assert conversation_text(prose) == prose
    document = '{\n  "a": 1\n}'  # starts with "{" but is not JSON lines: kept as it is
    assert conversation_text(document) == document


def test_a_long_conversation_keeps_its_start_and_mostly_its_end() -> None:
    text = "\n".join(line(role="user", content=f"message {i:05d}") for i in range(20_000))
    kept = TranscriptIndexing(max_chars=10_000).text_of(text)
    assert kept is not None and len(kept) <= 10_003
    assert kept.startswith("message 00000") and kept.endswith("message 19999")
    assert "message 10000" not in kept


def test_switched_off_or_empty_indexes_nothing() -> None:
    assert TranscriptIndexing(enabled=False).text_of(CLAUDE_CODE) is None
    assert TranscriptIndexing().text_of("   ") is None
    assert TranscriptIndexing().text_of(None) is None
    assert TranscriptIndexing().text_of(line(type="file-history-snapshot", snapshot={})) is None


def test_reading_from_both_ends_gives_the_whole_text_cut() -> None:
    """Only the lines the cut keeps are decoded, yet the text is the whole conversation's, cut."""
    import random

    rng = random.Random(5)
    for _ in range(200):
        lines = []
        for i in range(rng.randint(1, 60)):
            said = "w" * rng.randint(0, 400) + f" {i}"
            lines.append(rng.choice([
                line(role="user", content=said),
                line(type="assistant", message={"role": "assistant", "content": [{"type": "text", "text": said}]}),
                line(type="user", message={"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t", "content": said}]}),
                "garbage",
            ]))
        text = "\n".join(lines)
        limit = rng.randint(10, 20_000)
        whole = conversation_text(text)
        head = limit // 4
        expected = whole if len(whole) <= limit else whole[:head] + "\n…\n" + whole[len(whole) - (limit - head):]
        assert conversation_text(text, limit) == expected
