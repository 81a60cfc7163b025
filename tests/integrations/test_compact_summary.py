"""Claude Code's compaction summary split into sections and mapped onto checkpoint fields."""

from __future__ import annotations

import pytest

from mcp_server_checkpoints.integrations.claude_code import compact_summary as cs
from tests.integrations.transcript_fixtures import compact_summary_text

ALL = ["request", "concepts", "files", "errors", "problems", "messages", "pending", "current", "next"]


@pytest.mark.parametrize("analysis", [True, False])
def test_every_section_with_and_without_the_analysis_preamble(analysis: bool) -> None:
    s = cs.parse(compact_summary_text(analysis))
    assert list(s.sections) == ALL and s.analysis is analysis
    assert s.sections["request"].startswith("The user asked to fix the rounding")
    assert "chronologically" not in " ".join(s.sections.values())  # the analysis is not a section's text
    assert "read the full transcript" not in s.sections["next"]  # nor is the pointer to the transcript
    assert s.items("pending") == ["Switch billing/tax.py to banker's rounding", "Update the changelog"]


@pytest.mark.parametrize("heading", [
    "1. Primary Request and Intent:", "## 1. Primary Request and Intent", "### Primary Request and Intent",
    "1. **Primary Request and Intent**:", "**1. Primary Request and Intent:**", "Primary Request and Intent:",
    "1) Primary request and intent:", "1. Solicitação Principal e Intenção:", "1. 主な要求と意図:",
])
def test_heading_variants(heading: str) -> None:
    s = cs.parse(f"{heading}\n   Ship the release.\n\n2. Pending Tasks:\n   - tag it\n")
    assert s.sections == {"request": "Ship the release.", "pending": "- tag it"}


def test_text_on_the_heading_line_and_headings_inside_code_are_not_sections() -> None:
    s = cs.parse("Current Work: fixing the parser\nOptional Next Step:\n```\n7. Pending Tasks:\n```\nrun it")
    assert s.sections["current"] == "fixing the parser" and "pending" not in s.sections
    assert "run it" in s.sections["next"]
    assert cs.parse("The current work is fine.\n   Pending tasks: none").sections == {}


def test_files_in_bullet_bold_and_heading_forms() -> None:
    section = """   - `src/app.py`
      - Added the retry loop
      ```python
      - not/a/file.py inside code
      ```
   - **docs/guide.md** (Created)
**c) config/settings.toml** (Modified - timeouts)
### lib/util.rs
Key change: new helper
   - Some prose naming nothing
"""
    assert cs.files(section) == [("src/app.py", "Added the retry loop"), ("docs/guide.md", "Created"),
                                 ("config/settings.toml", "Modified - timeouts"),
                                 ("lib/util.rs", "Key change: new helper; Some prose naming nothing")]


def test_errors_preferences_and_feedback() -> None:
    text = compact_summary_text()
    s = cs.parse(text)
    assert cs.errors(s.sections["errors"]) == [("use Decimal with ROUND_HALF_EVEN",
                                                "Float representation error: 0.125 rounded to 0.13")]
    assert cs.user_feedback(s.sections["errors"]) == ["don't use floats for money"]
    assert cs.preferences(s.sections["messages"]) == ["Also keep the public API unchanged",
                                                      "Never use floats for money, always Decimal"]


def test_to_fields_without_a_parent() -> None:
    f = cs.to_fields(cs.parse(compact_summary_text()), None, session_id="s1", project="/p", trigger="auto")
    assert f["goal"].startswith("The user asked to fix the rounding") and f["title"].endswith("…")
    assert [x["path"] for x in f["files"]] == ["billing/totals.py", "tests/test_totals.py"]
    assert f["files"][0]["change"] == "Switched round( to bankers_round("
    assert f["approaches"] == [{"approach": "use Decimal with ROUND_HALF_EVEN", "outcome": "worked",
                                "note": "error: Float representation error: 0.125 rounded to 0.13"}]
    assert f["decisions"] == [{"decision": "Found two more call sites through a sub-agent: billing/tax.py and billing/fx.py"}]
    assert f["discoveries"][0].startswith("Banker's rounding")
    assert "don't use floats for money" in f["preferences"]
    assert f["remaining"] == ["Switch billing/tax.py to banker's rounding", "Update the changelog"]
    assert f["current_work"] == "Replacing round( with bankers_round( in billing/tax.py."
    assert f["next_step"] == "Update billing/tax.py line 41 to use bankers_round, then run the tests."
    assert f["summary"] == compact_summary_text() and f["tags"] == ["auto", "compact-summary"]
    assert f["parent_id"] is None and f["session_id"] == "s1" and f["project"] == "/p"


def test_an_empty_pending_section_keeps_the_parents_tasks() -> None:
    from mcp_server_checkpoints.domain.records import Checkpoint, FileRecord

    parent = Checkpoint(id="ckpt_1", title="Rounding", goal="fix rounding", status="in-progress",
                        created_at="2026-11-22T10:00:00Z", updated_at="2026-11-22T10:00:00Z", progress=40,
                        completed=["repro"], remaining=["switch", "changelog"], next_step="switch",
                        files=[FileRecord("/home/dev/billing/billing/totals.py", "edited"), FileRecord("CHANGES.md", "")])
    text = "1. Primary Request and Intent:\n   Fix rounding\n3. Files and Code Sections:\n   - billing/totals.py\n" \
           "7. Pending Tasks:\n   - None explicitly pending\n"
    f = cs.to_fields(cs.parse(text), parent, session_id="s1", project=None, trigger="manual")
    assert f["remaining"] == ["switch", "changelog"] and f["next_step"] == "switch"  # from the parent
    assert f["title"] == "Rounding" and f["progress"] == 40 and f["completed"] == ["repro"]
    assert [x["path"] for x in f["files"]] == ["billing/totals.py", "CHANGES.md"]  # the same file once
    assert f["parent_id"] == "ckpt_1" and "manual" in f["tags"]
