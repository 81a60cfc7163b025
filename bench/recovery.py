"""Scenario benchmark for the ``recover`` tool: does it pick the action the recovery specification asks for?

What is measured
----------------
Each scenario is a small world of checkpoints (title, goal, progress, next step, remaining tasks,
status, age, project) and a user's first message in a new conversation. The expected outcome was
written by hand from ``seeds/context-recovery-agent.md`` (detection patterns, "Confidence-Based
Recovery", "What NOT to Do", the three integration examples) and the "Recovery" section of
``DESIGN.md`` -- not copied from the implementation's output. Every scenario carries the line of the
specification its expectation rests on (``why``), printed with the failures.

Expected actions:

* ``apply``   -- high confidence: exact id, or a formatted continuation / pasted summary of one clear
  match saved < 6 h ago;
* ``confirm`` -- medium: topic match 6-24 h old, a natural-language resume request, or the proactive
  offer of the one recent (< 24 h, in-progress or paused) unfinished checkpoint;
* ``choose``  -- low: ambiguous topic, > 24 h old, or several potential matches;
* ``none``    -- nothing to resume (no match, only completed / abandoned / trivial work, nothing recent).

The mix covers six message styles (formatted continuation, pasted compaction summary, natural-language
request, explicit checkpoint id, greeting or empty message, unrelated first message), ages from
minutes to weeks, every status (in-progress, paused, on-hold, resumed, completed, abandoned), trivial
work (progress 100 or nothing pending), 0-6 distractor checkpoints on other topics, near-duplicate
topics, the same topic completed vs open, and the ``project`` filter.

How a scenario runs: a fresh SQLite database in a temporary directory; the checkpoints are written
with ``SQLiteCheckpointStore.save(fields, now=utcnow() - age)`` (back-dated) and, for statuses a save cannot
set, ``set_status`` at the same moment; then the real server (``build_server``) is driven by the real
in-memory MCP client (``mcp.Client``): one ``call_tool("recover", {"message": ..., "project": ...})``.
Settings come from ``load_settings`` with an environment that points ``XDG_CONFIG_HOME`` into the
temporary directory and has no ``CHECKPOINTS_*`` / ``CLAUDE_PROJECT_DIR``, so a personal config does
not change the result.

Scoring: the action is correct when it equals the expected one; "action + checkpoint" also requires,
for ``apply`` and ``confirm``, that the first candidate is the expected checkpoint. The report
(Markdown) gives the overall shares, a breakdown by message style x expected action, a confusion
matrix (expected x actual action) and every failing scenario with its confidence and reasons.
Nothing is asserted: the exit status is always 0.

How to run
----------
From the repository root, with the project's environment::

    .venv/bin/python bench/recovery.py                 # summary + failures
    .venv/bin/python bench/recovery.py --verbose       # also one row per scenario
    .venv/bin/python bench/recovery.py --out recovery-result.md
    .venv/bin/python bench/recovery.py --corpus ../shared/corpus/summaries.jsonl   # (the default path)

A second section pastes each real Claude Code compaction summary of ``../shared/corpus`` (read at run
time, never copied here) as the first message, with all of them stored as checkpoints, and counts how
often ``recover`` applies the checkpoint made from that same summary.

It takes a few seconds (one small database per scenario).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import traceback
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any, Literal

import anyio
from mcp import Client

from mcp_server_checkpoints.config import load_settings
from mcp_server_checkpoints.domain.time import utcnow
from mcp_server_checkpoints.recovery.service import recover as recover_work
from mcp_server_checkpoints.schemas.checkpoints import CheckpointFields
from mcp_server_checkpoints.server import build_server, open_state

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402  (bench/corpus.py, beside this file)

Action = Literal["apply", "confirm", "choose", "none"]
Style = Literal["formatted", "compaction", "natural", "explicit-id", "greeting", "unrelated"]
ACTIONS: tuple[Action, ...] = ("apply", "confirm", "choose", "none")
STYLES: tuple[Style, ...] = ("formatted", "compaction", "natural", "explicit-id", "greeting", "unrelated")


@dataclass(frozen=True)
class Ckpt:
    """One checkpoint of a scenario; `key` is the name the scenario uses for it."""

    key: str
    title: str
    goal: str
    age_h: float
    status: str = "in-progress"
    progress: int | None = None
    next_step: str | None = None
    remaining: tuple[str, ...] = ()
    completed: tuple[str, ...] = ()
    project: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    style: Style
    message: str  # "{id:KEY}" is replaced by the stored id of checkpoint KEY
    expect: Action
    checkpoints: tuple[Ckpt, ...]
    expect_key: str | None = None  # for apply / confirm: the checkpoint expected first
    project: str | None = None  # the `project` argument of recover
    why: str = ""  # the specification's line behind the expectation


@dataclass
class Outcome:
    scenario: Scenario
    action: str
    confidence: float | None
    reasons: list[str]
    top_key: str | None
    candidates: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def action_ok(self) -> bool:
        return self.action == self.scenario.expect

    @property
    def full_ok(self) -> bool:
        if not self.action_ok:
            return False
        if self.scenario.expect in ("apply", "confirm"):
            return self.top_key == self.scenario.expect_key
        return True


# --------------------------------------------------------------------------------------------------
# The work the scenarios are made of
# --------------------------------------------------------------------------------------------------

JWT = Ckpt(
    "jwt", "JWT authentication",
    "Add JWT-based authentication to the REST API: login, token refresh, protected routes",
    age_h=2, progress=60, next_step="Implement token refresh endpoint",
    remaining=("Add refresh-token rotation", "Protect the /admin routes"),
    completed=("Login endpoint issuing access tokens", "Auth middleware verifying signatures"), project="api",
)
DBMIG = Ckpt(
    "dbmig", "Database migration implementation",
    "Migrate the orders schema to the new multi-tenant layout with reversible migrations",
    age_h=2, progress=75, next_step="Test rollback procedure",
    remaining=("Run the migration on a staging copy", "Write the runbook"),
    completed=("Forward migration for orders and order_items",), project="shop",
)
CSV = Ckpt(
    "csv", "CSV export for monthly reports", "Add a CSV export button to the monthly reports page",
    age_h=1, progress=40, next_step="Stream rows instead of building the whole file in memory",
    remaining=("Add column selection", "Write tests for large reports"),
    completed=("Export endpoint returning a small report",), project="reports",
)
RATE = Ckpt(
    "rate", "API rate limiter", "Add per-user rate limiting to the public API with a Redis token bucket",
    age_h=3, progress=50, next_step="Return Retry-After headers on 429 responses",
    remaining=("Make limits configurable per plan",), completed=("Token bucket in Redis with Lua script",),
    project="api",
)
PAGIN = Ckpt(
    "pagin", "Search results pagination", "Add cursor-based pagination to the search results endpoint",
    age_h=1, progress=40, next_step="Add pagination to search results endpoint using an opaque cursor",
    remaining=("Encode the cursor as base64", "Update the API docs"), project="api",
)
HELM = Ckpt(
    "helm", "Kubernetes Helm chart", "Package the worker service as a Helm chart with configurable replicas",
    age_h=5, progress=55, next_step="Template the resource limits in values.yaml",
    remaining=("Add a liveness probe", "Publish the chart to the registry"), project="infra",
)
BILLING = Ckpt(
    "billing", "Billing service refactor", "Split subscription renewals out of the billing service monolith",
    age_h=5, progress=30, next_step="Move the renewal scheduler into its own module",
    remaining=("Extract the proration logic", "Delete the old cron job"), project="billing",
)
SEARCHIDX = Ckpt(
    "searchidx", "Search indexing with Meilisearch", "Index products in Meilisearch and keep the index in sync",
    age_h=14, progress=45, next_step="Write the sync job for product updates",
    remaining=("Reindex command for the CLI",), project="shop",
)
DARK = Ckpt(
    "dark", "Dark mode theme", "Add a dark mode toggle to the settings page and remember the choice",
    age_h=0.5, progress=55, next_step="Persist the toggle in localStorage",
    remaining=("Audit the contrast of charts",), project="web",
)
INVOICE = Ckpt(
    "invoice", "Invoice PDF generator", "Generate customer invoices as PDF files from the billing data",
    age_h=50, progress=30, next_step="Lay out the line-item table with WeasyPrint",
    remaining=("Add the company logo", "Attach PDFs to the invoice email"), project="billing",
)
TERRAFORM = Ckpt(
    "terraform", "Terraform migration", "Move the staging infrastructure from CloudFormation to Terraform",
    age_h=20, progress=35, next_step="Import the existing RDS instance into Terraform state",
    remaining=("Port the VPC module", "Switch CI to terraform plan"), project="infra",
)
THUMBS = Ckpt(
    "thumbs", "Image thumbnail service",
    "Resize uploaded images into three thumbnail sizes in a background worker",
    age_h=1, progress=65, next_step="Handle EXIF orientation before resizing",
    remaining=("Add a WebP variant",), project="media",
)
STRIPE_HOOK = Ckpt(
    "stripe_hook", "Stripe webhook handler",
    "Handle Stripe webhook events for payment success and failure, verifying signatures",
    age_h=2, progress=45, next_step="Make the invoice.paid handler idempotent",
    remaining=("Replay failed events from the dashboard",), project="payments",
)
STRIPE_CHECKOUT = Ckpt(
    "stripe_checkout", "Stripe checkout page", "Build the hosted Stripe Checkout flow for the pricing page",
    age_h=1, progress=70, next_step="Redirect to the success page with the session id",
    remaining=("Handle cancelled checkouts",), project="payments",
)
REFACTOR_PAY = Ckpt(
    "refactor_pay", "Refactor payment module", "Refactor the payment module into provider adapters",
    age_h=4, progress=40, next_step="Extract the PayPal adapter", remaining=("Remove the old switch statement",),
    project="payments",
)
REFACTOR_LOG = Ckpt(
    "refactor_log", "Refactor logging setup", "Refactor the logging setup to structured JSON logs",
    age_h=3, progress=50, next_step="Replace print calls in the worker", remaining=("Add request ids",),
    project="platform",
)


def other(key: str, age_h: float, status: str = "in-progress") -> Ckpt:
    """A distractor: unrelated work in another project."""
    base = DISTRACTORS[key]
    return replace(base, age_h=age_h, status=status)


DISTRACTORS: dict[str, Ckpt] = {
    "ci": Ckpt("ci", "CI pipeline caching", "Cut GitHub Actions build time by caching pip and node_modules",
               age_h=1, progress=40, next_step="Add a cache key on the lock files",
               remaining=("Measure the cold-cache build",), project="infra"),
    "onboarding": Ckpt("onboarding", "Onboarding email sequence",
                       "Write and schedule the five-email onboarding drip for new users",
                       age_h=1, progress=20, next_step="Draft email 3 (feature tour)",
                       remaining=("Set up the send schedule",), project="marketing"),
    "flaky": Ckpt("flaky", "Flaky test triage",
                  "Find and fix the intermittently failing integration tests in the checkout suite",
                  age_h=1, progress=45, next_step="Reproduce test_refund_partial with --count=50",
                  remaining=("Quarantine tests that still flake",), project="qa"),
    "i18n": Ckpt("i18n", "French translation of the UI", "Translate the web app's interface strings into French",
                  age_h=1, progress=50, next_step="Translate the signup flow strings",
                  remaining=("Review plural forms",), project="web"),
    "charts": Ckpt("charts", "Sales dashboard charts", "Add weekly sales charts to the admin dashboard",
                   age_h=1, progress=25, next_step="Pick a charting library", remaining=("Wire the weekly query",),
                   project="analytics"),
    "backup": Ckpt("backup", "Nightly backup script", "Back up the Postgres database to S3 every night",
                   age_h=1, progress=80, next_step="Test restoring from the latest dump",
                   remaining=("Alert on failed backups",), project="ops"),
    "dark": DARK,
    "thumbs": THUMBS,
    "helm": HELM,
}


def at(c: Ckpt, age_h: float, status: str | None = None, **changes: Any) -> Ckpt:
    """`c` saved `age_h` hours ago (optionally with another status or fields)."""
    return replace(c, age_h=age_h, status=status or c.status, **changes)


COMPACTION_HEAD = (
    "This session is being continued from a previous conversation that ran out of context. "
    "The conversation is summarized below:\n"
)

SEED_JWT_MESSAGE = (
    "Continue work on: JWT authentication\n\n"
    "Progress: 60% complete\n"
    "Next: Implement token refresh endpoint\n"
    "Files: auth.js, middleware.js"
)

HIGH = "spec: High Confidence (0.9-1.0): Formatted continuation summary; < 6 hours old -> Apply ALL context automatically"
MEDIUM_AGE = "spec: Medium Confidence (0.7-0.9): Topic match found; 6-24 hours old -> Present context, confirm before applying"
MEDIUM_NL = "spec: Medium Confidence (0.7-0.9): Natural language resume request -> Present context, confirm before applying"
LOW_AGE = "spec: Low Confidence (< 0.7): > 24 hours old -> Present options, ask user to choose"
LOW_MULTI = "spec: Low Confidence (< 0.7): Multiple potential matches -> Present options, ask user to choose"
LOW_AMBIG = "spec: Low Confidence (< 0.7): Ambiguous topic -> Present options, ask user to choose"
WEEK = "spec: What NOT to Do: Apply outdated context (> 7 days old) without confirmation"
TRIVIAL = "spec: What NOT to Do: Present recovery for trivial/completed work"
DONE = "spec Pattern 3: status != \"completed\" AND status != \"abandoned\"; What NOT to Do: present recovery for completed work"
NOT_FOUND = "spec: When checkpoint not found -> \"Searched memory but no recent checkpoint found for [topic]\""
EXACT = "spec: High Confidence (0.9-1.0): Exact checkpoint ID provided -> Apply ALL context automatically"
PROACTIVE = ("spec Default Behavior: search session-snapshots from last 24 hours; if found with status in-progress "
             "or paused: present recovery option (\"Found incomplete work from X hours ago ... Continue? (yes/no)\")")
PROACTIVE_NONE = "spec Default Behavior / Step 2.3: proactive search filters timestamp < 24 hours and status in-progress or paused"
ALWAYS = "spec: Use PROACTIVELY on EVERY new conversation (first 1-2 messages) - ALWAYS check for recent checkpoints"


def scenarios() -> list[Scenario]:
    S = Scenario
    d = other
    return [
        # ---------------------------------------------------------------- formatted continuations
        S("F01 seed example 1: JWT formatted continuation", "formatted", SEED_JWT_MESSAGE, "apply",
          (JWT, d("onboarding", 4), d("backup", 30)), "jwt",
          why="spec Example 1 (detects checkpoint format ... loads full context, starts implementing) + " + HIGH),
        S("F02 formatted, saved 15 minutes ago", "formatted",
          "Continue work on: CSV export for monthly reports\nProgress: 40%\nNext: stream rows instead of building the file in memory",
          "apply", (at(CSV, 0.25),), "csv", why=HIGH),
        S("F03 formatted, 8 h old", "formatted",
          "Continue work on: API rate limiter\nProgress: 50%\nNext steps: Retry-After headers on 429",
          "confirm", (at(RATE, 8), d("ci", 2)), "rate", why=MEDIUM_AGE),
        S("F04 formatted, 20 h old", "formatted",
          "Continue work on: Terraform migration\nProgress: 35%\nNext: import the RDS instance",
          "confirm", (at(TERRAFORM, 20), d("flaky", 20)), "terraform", why=MEDIUM_AGE),
        S("F05 formatted, 2 days old", "formatted",
          "Continue work on: Search indexing with Meilisearch\nProgress: 45%\nNext: sync job for product updates",
          "choose", (at(SEARCHIDX, 48),), None, why=LOW_AGE),
        S("F06 formatted, 10 days old", "formatted",
          "Continue work on: Billing service refactor\nProgress: 30%\nNext: move the renewal scheduler",
          "choose", (at(BILLING, 240),), None, why=LOW_AGE + "; " + WEEK),
        S("F07 formatted, paused 4 h ago", "formatted",
          "Continue work on: Kubernetes Helm chart\nProgress: 55%\nNext: resource limits in values.yaml",
          "apply", (at(HELM, 4, "paused"), d("charts", 3)), "helm", why=HIGH),
        S("F08 formatted, on-hold 3 h ago (user now asks explicitly)", "formatted",
          "Continue work on: Image thumbnail service\nProgress: 65%\nNext: EXIF orientation",
          "apply", (at(THUMBS, 3, "on-hold"),), "thumbs",
          why=HIGH + " (on-hold only stops the proactive offer; the user pasted the continuation)"),
        S("F09 formatted, resumed 1 h ago", "formatted",
          "Continue work on: Dark mode theme\nProgress: 55%\nNext: persist the toggle",
          "apply", (at(DARK, 1, "resumed"), d("i18n", 2)), "dark", why=HIGH),
        S("F10 same topic completed (1 h) vs open (3 h)", "formatted", SEED_JWT_MESSAGE, "apply",
          (at(JWT, 1, "completed", key="jwt_done", progress=100, next_step=None, remaining=()), at(JWT, 3)), "jwt",
          why=HIGH + "; " + DONE),
        S("F11 formatted, the only match is completed", "formatted", SEED_JWT_MESSAGE, "none",
          (at(JWT, 2, "completed", progress=100), d("ci", 1)), None, why=DONE + "; " + NOT_FOUND),
        S("F12 formatted, the only match is abandoned", "formatted",
          "Continue work on: API rate limiter\nProgress: 50%\nNext: Retry-After headers",
          "none", (at(RATE, 2, "abandoned"),), None, why=DONE + "; " + NOT_FOUND),
        S("F13 near-duplicate topics: two open JWT checkpoints", "formatted",
          "Continue work on: JWT authentication\nProgress: 60%", "choose",
          (at(JWT, 2, title="JWT authentication for the public API", key="jwt_api"),
           at(JWT, 3, key="jwt_admin", title="JWT authentication for the admin panel",
              goal="Add JWT-based authentication to the admin panel: login, token refresh, role checks",
              project="admin")),
          None, why=LOW_MULTI),
        S("F14 'Progress:' + 'Next steps:' without a topic line", "formatted",
          "Progress: 40%\nNext steps: add pagination to the search results endpoint", "apply",
          (PAGIN, d("dark", 2), d("onboarding", 1)), "pagin",
          why="spec Pattern 1: \"Progress:\" or \"Next steps:\" -> HIGH CONFIDENCE; " + HIGH),
        S("F15 'Resume:' + 'Files:'", "formatted",
          "Resume: Kubernetes Helm chart\nFiles: chart/values.yaml, chart/templates/deployment.yaml", "apply",
          (HELM, d("backup", 2)), "helm", why="spec Pattern 1: \"Continue work on:\" or \"Resume:\" -> HIGH; " + HIGH),
        S("F16 formatted, match is at 100 % (trivial)", "formatted",
          "Continue work on: CSV export for monthly reports\nProgress: 100%", "none",
          (at(CSV, 2, progress=100),), None, why=TRIVIAL),
        S("F17 formatted, no checkpoint on that topic", "formatted",
          "Continue work on: GraphQL subscriptions\nProgress: 20%\nNext: websocket transport", "none",
          (d("ci", 1), d("dark", 2), d("thumbs", 3)), None, why=NOT_FOUND),
        S("F18 formatted with six distractors", "formatted",
          "Continue work on: Stripe webhook handler\nProgress: 45%\nNext: idempotent invoice.paid handler",
          "apply",
          (STRIPE_HOOK, d("ci", 1), d("onboarding", 2), d("flaky", 3), d("i18n", 4), d("charts", 5), d("backup", 6)),
          "stripe_hook", why=HIGH),
        S("F19 formatted, partial overlap with a sibling topic", "formatted",
          "Continue work on: Stripe webhook handler\nNext: make invoice.paid idempotent", "apply",
          (STRIPE_HOOK, STRIPE_CHECKOUT), "stripe_hook",
          why=HIGH + " (the sibling shares only 'Stripe': not a potential match)"),
        S("F20 formatted with project filter, same title in another project", "formatted",
          "Continue work on: API rate limiter\nProgress: 50%\nNext: Retry-After headers", "apply",
          (RATE, at(RATE, 1, key="rate_web", project="web")), "rate", project="api",
          why=HIGH + "; DESIGN recover contract: `project` restricts to that project"),
        S("F21 markdown-bold formatted continuation", "formatted",
          "**Continue work on:** Image thumbnail service\n**Progress:** 65%\n**Next steps:** handle EXIF orientation",
          "apply", (THUMBS, d("i18n", 2)), "thumbs", why=HIGH),
        # ---------------------------------------------------------------- pasted compaction summaries
        S("C01 compaction summary, 1 h old", "compaction",
          COMPACTION_HEAD + "Analysis:\nThe user wants CSV export on the monthly reports page.\n\nSummary:\n"
          "1. Primary Request and Intent:\n   Add a CSV export button to the monthly reports page.\n"
          "2. Pending Tasks:\n   - Stream rows instead of building the whole file in memory\n"
          "3. Current Work:\n   The export endpoint works for small monthly reports.",
          "apply", (CSV, d("charts", 2)), "csv",
          why="spec: User pastes formatted continuation summary (trigger 2) + " + HIGH),
        S("C02 compaction summary, 14 h old", "compaction",
          COMPACTION_HEAD + "Summary:\n1. Primary Request and Intent:\n   Index products in Meilisearch and keep"
          " the search index in sync.\n2. Pending Tasks:\n   - Sync job for product updates",
          "confirm", (SEARCHIDX, d("thumbs", 1)), "searchidx", why=MEDIUM_AGE),
        S("C03 compaction summary, 3 days old", "compaction",
          COMPACTION_HEAD + "Summary:\n1. Primary Request and Intent:\n   Package the worker service as a Helm"
          " chart.\n2. Pending Tasks:\n   - Resource limits in values.yaml",
          "choose", (at(HELM, 72),), None, why=LOW_AGE),
        S("C04 compaction summary, 30 min old, four distractors", "compaction",
          COMPACTION_HEAD + "Summary:\n1. Primary Request and Intent:\n   Build a Stripe webhook handler for"
          " payment success and failure events.\n2. Current Work:\n   Signature verification is done; the"
          " invoice.paid handler is next and must be idempotent.",
          "apply", (at(STRIPE_HOOK, 0.5), d("ci", 1), d("flaky", 2), d("onboarding", 3), d("backup", 5)),
          "stripe_hook", why=HIGH),
        S("C05 compaction summary matching two close checkpoints", "compaction",
          COMPACTION_HEAD + "Summary:\n1. Primary Request and Intent:\n   Add CSV export to the admin dashboard.\n"
          "2. Pending Tasks:\n   - Finish the CSV export",
          "choose",
          (at(CSV, 2, key="csv_reports", title="CSV export for the admin dashboard reports",
              goal="Add CSV export of the monthly reports in the admin dashboard"),
           at(CSV, 3, key="csv_audit", title="CSV export for the admin dashboard audit log",
              goal="Add CSV export of the audit log in the admin dashboard", next_step="Paginate the audit query")),
          None, why=LOW_MULTI),
        # ---------------------------------------------------------------- natural-language requests
        S("N01 seed example 2: 'Let's continue the API authentication we were building'", "natural",
          "Let's continue the API authentication we were building", "confirm",
          (at(JWT, 3), d("onboarding", 1), d("charts", 6)), "jwt",
          why="spec Example 2 (finds 3 h old checkpoint, presents it, user confirms) + " + MEDIUM_NL),
        S("N02 'where were we on the billing service?'", "natural", "where were we on the billing service?",
          "confirm", (BILLING, d("ci", 2)), "billing", why="spec Pattern 2 -> MEDIUM; " + MEDIUM_NL),
        S("N03 'resume the search indexing work', 14 h", "natural", "resume the search indexing work", "confirm",
          (SEARCHIDX, d("backup", 3)), "searchidx", why=MEDIUM_NL),
        S("N04 'let's get back to the dark mode theme', 30 min", "natural", "let's get back to the dark mode theme",
          "confirm", (DARK, d("i18n", 1)), "dark", why=MEDIUM_NL),
        S("N05 natural request, 2 days old", "natural", "let's continue the invoice PDF generator", "choose",
          (INVOICE, d("flaky", 1)), None, why=LOW_AGE),
        S("N06 natural request, 9 days old", "natural", "where were we on the Terraform migration?", "choose",
          (at(TERRAFORM, 216),), None, why=LOW_AGE + "; " + WEEK),
        S("N07 'what was I working on?' one recent", "natural", "what was I working on?", "confirm",
          (at(DBMIG, 3), d("ci", 40), d("flaky", 5, "completed")), "dbmig",
          why="spec trigger 4 (\"What was I working on?\") with one recent open checkpoint -> present, confirm"),
        S("N08 'what was I working on?' two recent", "natural", "What was I working on?", "choose",
          (at(DBMIG, 3), at(RATE, 5)), None, why=LOW_MULTI),
        S("N09 'what was I working on?' nothing saved", "natural", "what was I working on?", "none",
          (), None, why=NOT_FOUND),
        S("N10 'what was I working on?' only a 3-day-old checkpoint", "natural", "what was I working on?", "choose",
          (at(HELM, 72),), None, why=LOW_AGE),
        S("N11 natural request, no checkpoint on that topic", "natural",
          "let's continue the mobile push notifications", "none",
          (d("ci", 1), d("dark", 2), d("onboarding", 4)), None, why=NOT_FOUND),
        S("N12 natural, same topic completed vs open", "natural",
          "let's continue the API rate limiter from before", "confirm",
          (at(RATE, 1, "completed", key="rate_done", progress=100), at(RATE, 6)), "rate",
          why=MEDIUM_NL + "; " + DONE),
        S("N13 'let's continue the refactor': two refactors open", "natural", "let's continue the refactor",
          "choose", (REFACTOR_PAY, REFACTOR_LOG, d("ci", 2)), None, why=LOW_AMBIG + "; " + LOW_MULTI),
        S("N14 natural with five distractors", "natural", "resume the Helm chart work", "confirm",
          (HELM, d("ci", 1), d("onboarding", 2), d("flaky", 3), d("charts", 4), d("backup", 8)), "helm",
          why=MEDIUM_NL),
        S("N15 natural, paused 10 h ago", "natural", "can we pick up the image thumbnail service?", "confirm",
          (at(THUMBS, 10, "paused"), d("i18n", 2)), "thumbs", why=MEDIUM_NL),
        S("N16 'we were working on' + yesterday, 20 h", "natural",
          "Yesterday we were working on the Terraform migration, can you pick it up?", "confirm",
          (TERRAFORM, d("backup", 22)), "terraform",
          why="spec trigger 2: \"we were working on\" + " + MEDIUM_NL),
        S("N17 natural near-duplicates: two JWT checkpoints", "natural", "let's get back to the JWT auth", "choose",
          (at(JWT, 2, key="jwt_api", title="JWT authentication for the public API"),
           at(JWT, 4, key="jwt_admin", title="JWT authentication for the admin panel",
              goal="Add JWT-based authentication to the admin panel: login, token refresh, role checks",
              project="admin")),
          None, why=LOW_MULTI),
        S("N18 'from our previous conversation'", "natural",
          "From our previous conversation: the Stripe webhook handler. Let's keep going.", "confirm",
          (STRIPE_HOOK, d("charts", 1)), "stripe_hook",
          why="spec trigger 2: \"from previous conversation\" + " + MEDIUM_NL),
        S("N19 natural, the only match is completed", "natural", "let's continue the dark mode theme", "none",
          (at(DARK, 2, "completed", progress=100), d("backup", 1)), None, why=DONE + "; " + NOT_FOUND),
        # ---------------------------------------------------------------- explicit checkpoint ids
        S("I01 explicit id, 3 h old", "explicit-id", "Continue from checkpoint {id:rate}", "apply",
          (RATE, d("ci", 1), d("flaky", 3)), "rate", why=EXACT),
        S("I02 explicit id, 2 days old", "explicit-id", "Please resume {id:invoice}", "apply",
          (INVOICE,), "invoice", why=EXACT + " (<= 7 days)"),
        S("I03 explicit id, 8 days old", "explicit-id", "Load {id:billing} and keep going", "confirm",
          (at(BILLING, 192),), "billing", why=WEEK),
        S("I04 explicit id of a completed checkpoint", "explicit-id", "Open {id:csv} again", "confirm",
          (at(CSV, 3, "completed", progress=100),), "csv",
          why="judgement: " + EXACT + " vs " + TRIVIAL + " -> confirm"),
        S("I05 explicit id that does not exist", "explicit-id",
          "Continue from checkpoint-2025-10-07-jwt-auth-7f3a9c", "none", (JWT,), None, why=NOT_FOUND),
        S("I06 explicit id of an older sibling (5 days) while a newer one exists", "explicit-id",
          "Continue from {id:rate_old} please", "apply",
          (at(RATE, 120, key="rate_old", title="API rate limiter (first attempt)"), RATE), "rate_old", why=EXACT),
        # ---------------------------------------------------------------- greetings, empty
        S("G01 seed example 3: 'Hello' + 2 h in-progress migration at 75 %", "greeting", "Hello", "confirm",
          (DBMIG, d("ci", 30), d("onboarding", 50)), "dbmig",
          why="spec Example 3 (\"Found incomplete work from 2 hours ago ... Continue where we left off?\") + " + PROACTIVE),
        S("G02 'hi' with nothing saved", "greeting", "hi", "none", (), None, why=PROACTIVE_NONE),
        S("G03 empty message, paused 5 h ago", "greeting", "", "confirm", (at(HELM, 5, "paused"),), "helm",
          why=PROACTIVE),
        S("G04 'Hello', only a 30 h old checkpoint", "greeting", "Hello", "none", (at(DBMIG, 30),), None,
          why=PROACTIVE_NONE),
        S("G05 'Hello', two recent in-progress", "greeting", "Hello", "choose", (DBMIG, at(RATE, 4)), None,
          why=LOW_MULTI),
        S("G06 'Hello', only completed work", "greeting", "Hello", "none",
          (at(DBMIG, 1, "completed", progress=100),), None, why=DONE),
        S("G07 'Good morning!', on-hold 2 h ago", "greeting", "Good morning!", "none", (at(DBMIG, 2, "on-hold"),),
          None, why=PROACTIVE_NONE + "; declined -> \"Marking that session as on-hold\""),
        S("G08 'Hello', resumed 2 h ago", "greeting", "Hello", "none", (at(DBMIG, 2, "resumed"),), None,
          why="judgement: " + PROACTIVE_NONE + " (Pattern 3 would allow any status but completed/abandoned)"),
        S("G09 'Hello', in-progress but at 100 %", "greeting", "Hello", "none", (at(DBMIG, 2, progress=100),),
          None, why=TRIVIAL),
        S("G10 'hey there', in-progress with nothing pending", "greeting", "hey there 👋", "none",
          (at(DBMIG, 2, next_step=None, remaining=(), completed=()),), None, why=TRIVIAL),
        S("G11 'hi', saved 5 minutes ago", "greeting", "hi", "confirm", (at(DARK, 5 / 60),), "dark",
          why=PROACTIVE),
        S("G12 'Hello' with project filter, recent work only in another project", "greeting", "Hello", "none",
          (DBMIG,), None, project="web", why=PROACTIVE_NONE + "; DESIGN: `project` restricts to that project"),
        S("G13 'Hello': one recent + three stale + one recent completed", "greeting", "Hello", "confirm",
          (at(RATE, 3), d("ci", 40), d("flaky", 72), d("backup", 200), d("onboarding", 1, "completed")), "rate",
          why=PROACTIVE),
        S("G14 'hi', 23 h old in-progress", "greeting", "hi", "confirm", (at(TERRAFORM, 23),), "terraform",
          why=PROACTIVE + " (< 24 h)"),
        # ---------------------------------------------------------------- unrelated first messages
        S("U01 'write a haiku about autumn' + 2 h in-progress", "unrelated", "write a haiku about autumn",
          "confirm", (DBMIG,), "dbmig", why=ALWAYS + "; " + PROACTIVE),
        S("U02 'explain Rust lifetimes', only stale work", "unrelated", "explain Rust lifetimes", "none",
          (at(DBMIG, 50), d("ci", 100)), None, why=PROACTIVE_NONE),
        S("U03 'write a haiku about autumn', nothing saved", "unrelated", "write a haiku about autumn", "none",
          (), None, why=PROACTIVE_NONE),
        S("U04 'explain Rust lifetimes', two recent", "unrelated", "explain Rust lifetimes", "choose",
          (DBMIG, at(THUMBS, 6, "paused")), None, why=ALWAYS + "; " + LOW_MULTI),
        S("U05 'difference between TCP and UDP?', recent abandoned + stale", "unrelated",
          "What's the difference between TCP and UDP?", "none",
          (at(RATE, 2, "abandoned"), d("flaky", 48)), None, why=DONE + "; " + PROACTIVE_NONE),
    ]


# --------------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------------

_ID_REF = re.compile(r"\{id:([\w-]+)\}")


async def run_scenario(s: Scenario) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="recovery-bench-") as tmp:
        settings = load_settings({"db": str(Path(tmp) / "checkpoints.db")}, env={"XDG_CONFIG_HOME": tmp})
        state = open_state(settings)
        try:
            ids: dict[str, str] = {}
            real_now = utcnow()
            for c in s.checkpoints:
                when: datetime = real_now - timedelta(hours=c.age_h)
                fields = CheckpointFields(
                    title=c.title, goal=c.goal, project=c.project,
                    status="paused" if c.status == "paused" else "in-progress",
                    progress=c.progress, next_step=c.next_step,
                    remaining=list(c.remaining), completed=list(c.completed),
                )
                saved = state.store.save(fields, now=when)
                if c.status not in ("in-progress", "paused"):
                    state.store.set_status(saved.id, c.status, None, now=when)
                ids[c.key] = saved.id
            key_of = {v: k for k, v in ids.items()}
            message = _ID_REF.sub(lambda m: ids[m.group(1)], s.message)
            args: dict[str, Any] = {"message": message}
            if s.project is not None:
                args["project"] = s.project
            async with Client(build_server(state.settings, state)) as client:
                res = await client.call_tool("recover", args)
            if res.is_error:
                text = getattr(res.content[0], "text", "") if res.content else ""
                return Outcome(s, "error", None, [], None, error=text)
            out = res.structured_content or {}
            cands = [key_of.get(c["id"], c["id"]) for c in out.get("candidates", [])]
            return Outcome(s, str(out.get("action")), out.get("confidence"), list(out.get("reasons", [])),
                           cands[0] if cands else None, cands)
        except Exception as exc:  # a measurement: report, keep going
            return Outcome(s, "error", None, [], None, error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        finally:
            state.close()


async def run_all(items: list[Scenario]) -> list[Outcome]:
    return [await run_scenario(s) for s in items]


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------

def _pct(n: int, total: int) -> str:
    return f"{n}/{total} ({100 * n / total:.1f} %)" if total else "–"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ⏎ ")


def _expected(s: Scenario) -> str:
    return f"{s.expect} `{s.expect_key}`" if s.expect_key else s.expect


def _actual(o: Outcome) -> str:
    if o.action in ("apply", "confirm", "choose") and o.top_key:
        return f"{o.action} `{o.top_key}`" if o.action != "choose" else f"choose [{', '.join(o.candidates)}]"
    return o.action


def report(outcomes: list[Outcome], verbose: bool) -> str:
    n = len(outcomes)
    lines: list[str] = [
        "# Recovery scenario benchmark (`recover`)",
        "",
        f"mcp-server-checkpoints {dist_version('mcp-server-checkpoints')}, Python {sys.version.split()[0]},"
        f" {n} scenarios, real server through the in-memory MCP client, one fresh SQLite database each.",
        "",
        "## Overall",
        "",
        "| measure | correct |",
        "|---|---|",
        f"| action | {_pct(sum(o.action_ok for o in outcomes), n)} |",
        f"| action + checkpoint (apply/confirm: first candidate is the expected one) |"
        f" {_pct(sum(o.full_ok for o in outcomes), n)} |",
        "",
        "## By message style × expected action",
        "",
        "Cells: scenarios fully correct (action + checkpoint) / scenarios.",
        "",
        "| message style | " + " | ".join(ACTIONS) + " | all |",
        "|---|" + "---:|" * (len(ACTIONS) + 1),
    ]
    for style in STYLES:
        row = [o for o in outcomes if o.scenario.style == style]
        if not row:
            continue
        cells = []
        for a in ACTIONS:
            sub = [o for o in row if o.scenario.expect == a]
            cells.append(f"{sum(o.full_ok for o in sub)}/{len(sub)}" if sub else "·")
        cells.append(f"{sum(o.full_ok for o in row)}/{len(row)}")
        lines.append(f"| {style} | " + " | ".join(cells) + " |")
    cells = []
    for a in ACTIONS:
        sub = [o for o in outcomes if o.scenario.expect == a]
        cells.append(f"{sum(o.full_ok for o in sub)}/{len(sub)}" if sub else "·")
    lines.append("| **all** | " + " | ".join(cells) + f" | {sum(o.full_ok for o in outcomes)}/{n} |")

    actual_cols: list[str] = list(ACTIONS) + (["error"] if any(o.action not in ACTIONS for o in outcomes) else [])
    counts: Counter[tuple[str, str]] = Counter(
        (o.scenario.expect, o.action if o.action in ACTIONS else "error") for o in outcomes)
    lines += [
        "",
        "## Confusion matrix (rows: expected action, columns: actual action)",
        "",
        "| expected ╲ actual | " + " | ".join(actual_cols) + " | total |",
        "|---|" + "---:|" * (len(actual_cols) + 1),
    ]
    for a in ACTIONS:
        row_counts = [counts[(a, b)] for b in actual_cols]
        lines.append(f"| **{a}** | " + " | ".join(f"**{c}**" if b == a else str(c)
                                                   for b, c in zip(actual_cols, row_counts)) + f" | {sum(row_counts)} |")

    failing = [o for o in outcomes if not o.full_ok]
    lines += ["", f"## Failing scenarios ({len(failing)})", ""]
    if failing:
        lines += ["| scenario | style | expected | actual | confidence | reasons | expectation rests on |",
                  "|---|---|---|---|---:|---|---|"]
        for o in failing:
            conf = f"{o.confidence:.2f}" if o.confidence is not None else "–"
            reasons = "; ".join(o.reasons) if o.reasons else (o.error or "").splitlines()[0] if o.error else ""
            lines.append(f"| {_cell(o.scenario.name)} | {o.scenario.style} | {_expected(o.scenario)} |"
                         f" {_cell(_actual(o))} | {conf} | {_cell(reasons)} | {_cell(o.scenario.why)} |")
    else:
        lines.append("None.")

    if verbose:
        lines += ["", "## Every scenario", "",
                  "| ok | scenario | style | #ckpts | project | expected | actual | confidence | reasons |",
                  "|---|---|---|---:|---|---|---|---:|---|"]
        for o in outcomes:
            s = o.scenario
            conf = f"{o.confidence:.2f}" if o.confidence is not None else "–"
            mark = "✔" if o.full_ok else ("½" if o.action_ok else "✘")
            lines.append(f"| {mark} | {_cell(s.name)} | {s.style} | {len(s.checkpoints)} | {s.project or ''} |"
                         f" {_expected(s)} | {_cell(_actual(o))} | {conf} | {_cell('; '.join(o.reasons))} |")
        errors = [o for o in outcomes if o.error]
        for o in errors:
            lines += ["", f"### Error in {o.scenario.name}", "", "```", o.error or "", "```"]
    return "\n".join(lines) + "\n"


def corpus_report(path: Path) -> str:
    """Each real compaction summary pasted as the first message, with all of them stored (0.5–5 h old).

    Expected: `apply` on the checkpoint made from that same summary.
    """
    rows = corpus.load(path)
    rnd = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="bench-recovery-corpus-") as tmp:
        state = open_state(load_settings({"db": str(Path(tmp) / "corpus.db")},
                                         env={"XDG_CONFIG_HOME": str(Path(tmp) / "cfg")}))
        now = utcnow()
        ids = {r["id"]: state.store.save(corpus.to_fields(r), now=now - timedelta(hours=rnd.uniform(0.5, 5))).id
               for r in rows}
        tally: dict[str, int] = {}
        misses: list[str] = []
        for r in rows:
            res = recover_work(state.store, corpus.COMPACTION_INTRO + r["summary"], now=now)
            right = bool(res.candidates) and res.candidates[0].id == ids[r["id"]]
            key = f"{res.action} ({'right' if right else 'wrong'} checkpoint first)"
            tally[key] = tally.get(key, 0) + 1
            if not (res.action == "apply" and right):
                misses.append(f"| {r['id']} | {res.action} | {res.confidence} | {_cell('; '.join(res.reasons))} |")
            state.store.set_status(ids[r["id"]], "in-progress")  # applying marked it resumed: undo for the next
        state.close()
    ok = tally.get("apply (right checkpoint first)", 0)
    lines = ["", "## Real compaction summaries pasted as the first message", "",
             f"{len(rows)} summaries from `{path.name}`, all stored as checkpoints (0.5–5 h old); each pasted in turn.",
             "", "| outcome | count |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(tally.items())]
    lines += ["", f"**apply on the right checkpoint: {_pct(ok, len(rows))}**", ""]
    if misses:
        lines += ["| summary | action | confidence | reasons |", "|---|---|---:|---|", *misses, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--verbose", action="store_true", help="also list every scenario")
    parser.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    parser.add_argument("--corpus", type=Path, default=corpus.DEFAULT_CORPUS,
                        help="real compaction summaries (summaries.jsonl) for the pasted-summary section")
    parser.add_argument("--no-corpus", action="store_true", help="skip the pasted-summary section")
    args = parser.parse_args(argv)
    items = scenarios()
    keys = [s.name for s in items]
    if len(set(keys)) != len(keys):
        print("warning: duplicate scenario names", file=sys.stderr)
    outcomes = anyio.run(run_all, items)
    text = report(outcomes, args.verbose)
    if not args.no_corpus:
        text += corpus_report(args.corpus)
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    try:
        main()
    except SystemExit:  # argparse usage errors / --help: already reported
        pass
    except BaseException:  # a measurement, not a test: always exit 0
        traceback.print_exc()
    sys.exit(0)
