"""Property-based: a Hypothesis state machine drives the store against a plain in-memory model.

Rules: save, update (save with parent_id: a new version of the same work, its payload stored
against the parent's), mark_status, delete, open (through the open_checkpoint tool function) and
search (exact filters: project, statuses, one-per-lineage, and a unique word per title). After
every step the counts agree; at teardown `verify()` (integrity, FTS, every payload's sha256)
passes. CI profile: 500 examples, derandomized (the same examples every run), no deadline.
The knowledge-graph tools (issue #5) get their own machine once they exist.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, multiple, rule

from mcp_server_checkpoints.errors import NotFoundError
from mcp_server_checkpoints.schemas.checkpoints import STATUSES, CheckpointFields
from mcp_server_checkpoints.storage.sqlite.checkpoints import SQLiteCheckpointStore, open_database
from mcp_server_checkpoints.tools.checkpoints import open_checkpoint

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

EXAMPLES = int(os.environ.get("CKPT_HYPOTHESIS_EXAMPLES", "500"))

text = st.text(min_size=1, max_size=40)  # any Unicode Hypothesis makes, surrogates excluded (JSON cannot carry them)
projects = st.sampled_from([None, "api", "web", "ünïcode/ρroject"])
transcripts = st.one_of(st.none(), st.text(max_size=3000), st.binary(max_size=2000).map(bytes.hex))
items = st.lists(text, max_size=4)


@dataclass
class Record:
    seq: int
    word: str
    fields: dict[str, Any]
    status: str
    history: list[str]
    parent_id: str | None
    lineage_id: str
    children: set[str] = field(default_factory=set)


class StoreMachine(RuleBasedStateMachine):
    ids = Bundle("ids")

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="ckpt-stateful-")
        self.store = SQLiteCheckpointStore(open_database(Path(self.dir) / "m.db"), max_payload_bytes=64 * 1024,
                                     diff_chain_max=3)
        self.model: dict[str, Record] = {}
        self.seq = 0
        self.deleted: set[str] = set()

    def teardown(self) -> None:
        try:
            report = self.store.verify()
            assert report.ok, report.problems
        finally:
            self.store.db.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- writes ------------------------------------------------------------------------
    def _save(self, title: str, goal: str, project: str | None, status: str, transcript: str | None,
              completed: list[str], parent: str | None) -> str:
        self.seq += 1
        word = f"uniqword{self.seq}x"
        data: dict[str, Any] = {"title": f"{title} {word}", "goal": goal, "project": project, "status": status,
                                "completed": completed, "parent_id": parent}
        if transcript is not None:
            data["payload"] = {"transcript": transcript}
        cid = self.store.save(CheckpointFields.model_validate(data)).id
        lineage = self.model[parent].lineage_id if parent else cid
        self.model[cid] = Record(self.seq, word, data, status, [status], parent, lineage)
        if parent:
            self.model[parent].children.add(cid)
        return cid

    @rule(target=ids, title=text, goal=text, project=projects, status=st.sampled_from(["in-progress", "paused"]),
          transcript=transcripts, completed=items)
    def save(self, title: str, goal: str, project: str | None, status: str, transcript: str | None,
             completed: list[str]) -> str:
        return self._save(title, goal, project, status, transcript, completed, None)

    @rule(target=ids, parent=ids, suffix=st.text(max_size=200), completed=items)
    def update(self, parent: str, suffix: str, completed: list[str]) -> Any:
        if parent not in self.model:
            return multiple()
        prev = self.model[parent]
        base = (prev.fields.get("payload") or {}).get("transcript")
        transcript = None if base is None else base + suffix  # a later transcript shares the earlier one
        return self._save(prev.fields["title"].rsplit(" ", 1)[0], prev.fields["goal"], prev.fields["project"],
                          "in-progress", transcript, [*prev.fields["completed"], *completed][:500], parent)

    @rule(cid=ids, status=st.sampled_from(STATUSES), note=st.one_of(st.none(), text))
    def mark_status(self, cid: str, status: str, note: str | None) -> None:
        if cid not in self.model:
            with pytest.raises(NotFoundError):
                self.store.set_status(cid, status, note)
            return
        res = self.store.set_status(cid, status, note)
        rec = self.model[cid]
        rec.status = status
        rec.history.append(status)
        assert [h.status for h in res.history] == rec.history

    @rule(cid=consumes(ids))
    def delete(self, cid: str) -> None:
        if cid not in self.model:
            with pytest.raises(NotFoundError):
                self.store.delete(cid)
            return
        self.store.delete(cid)
        rec = self.model.pop(cid)
        self.deleted.add(cid)
        for child in rec.children:
            if child in self.model:
                self.model[child].parent_id = None
        if rec.parent_id and rec.parent_id in self.model:
            self.model[rec.parent_id].children.discard(cid)

    # -- reads -------------------------------------------------------------------------
    @rule(cid=ids, with_payload=st.booleans())
    def open(self, cid: str, with_payload: bool) -> None:
        if cid not in self.model:
            with pytest.raises(NotFoundError):
                open_checkpoint(self.store, cid, None)
            return
        rec = self.model[cid]
        res = open_checkpoint(self.store, cid, ["goal", "completed", "payload"] if with_payload else None)
        assert res.title == rec.fields["title"] and res.goal == rec.fields["goal"]
        assert res.project == rec.fields["project"] and res.status == rec.status
        assert res.parent_id == rec.parent_id and [h.status for h in res.history] == rec.history
        assert res.integrity.verified
        if with_payload:
            assert res.completed == rec.fields["completed"]
            want = (rec.fields.get("payload") or {}).get("transcript")
            got = res.payload.transcript if res.payload else None
            assert got == want

    @rule(project=projects, statuses=st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3, unique=True),
          all_versions=st.booleans())
    def search_filters(self, project: str | None, statuses: list[str], all_versions: bool) -> None:
        hits = self.store.search("", project=project, statuses=statuses, limit=50, all_versions=all_versions)
        passing = [(cid, r) for cid, r in self.model.items()
                   if r.status in statuses and (project is None or r.fields["project"] == project)]
        if all_versions:
            want = {cid for cid, _ in passing}
        else:
            # A lineage with a passing member is shown as its newest version (whatever its project),
            # and not at all when that newest version's status is filtered out.
            newest: dict[str, tuple[int, str]] = {}
            for cid, r in self.model.items():
                if r.lineage_id not in newest or r.seq > newest[r.lineage_id][0]:
                    newest[r.lineage_id] = (r.seq, cid)
            matched = {r.lineage_id for _, r in passing}
            want = {cid for lineage, (_, cid) in newest.items()
                    if lineage in matched and self.model[cid].status in statuses}
        if len(want) <= 50:
            assert {h.id for h in hits} == want

    @rule(cid=ids)
    def search_word(self, cid: str) -> None:
        rec = self.model.get(cid)
        if rec is None:
            return
        hits = self.store.search(rec.word, statuses=["any"], all_versions=True, limit=10)
        assert [h.id for h in hits] == [cid]

    @invariant()
    def counts_agree(self) -> None:
        assert self.store.count() == len(self.model)


StoreMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=25, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
TestStoreAgainstModel = StoreMachine.TestCase
