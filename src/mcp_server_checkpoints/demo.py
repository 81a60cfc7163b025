"""`ckpt demo`: the real server, spawned over stdio, driven by the official MCP client."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters


def _say(step: str, detail: str = "") -> None:
    print(f"\n── {step}")
    if detail:
        print(detail)


async def _drive(db: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_checkpoints", "serve", "--db", str(db)])
    async with Client(params) as client:
        tools = await client.list_tools()
        _say("Connected to mcp-server-checkpoints over stdio", f"database: {db}\ntools: "
             + ", ".join(t.name for t in tools.tools))

        async def call(name: str, args: dict[str, Any]) -> dict[str, Any]:
            res = await client.call_tool(name, args)
            if res.is_error:
                raise RuntimeError(f"{name} failed: {' '.join(getattr(c, 'text', '') for c in res.content)}")
            assert res.structured_content is not None
            return dict(res.structured_content)

        saved = await call("save_checkpoint", {
            "title": "JWT refresh endpoint",
            "goal": "Add JWT authentication with refresh tokens to the Express API",
            "project": "demo-api",
            "progress": 60,
            "completed": ["Login endpoint issues access + refresh tokens", "Auth middleware verifies access tokens"],
            "files": [{"path": "src/auth.js", "change": "login and token signing"},
                      {"path": "src/middleware.js", "change": "verify Bearer tokens"}],
            "decisions": [{"decision": "RS256 keys", "reasoning": "lets other services verify without the secret"}],
            "next_step": "Implement POST /auth/refresh with refresh-token rotation",
            "remaining": ["Revoke refresh tokens on logout", "Integration tests for expiry"],
            "preferences": ["Keep tests next to the code (*.test.js)"],
            "payload": {"transcript": "user: add JWT auth …\nassistant: …\n" * 200},
        })
        _say("save_checkpoint", f"id {saved['id']}, payload {saved['raw_bytes']:,} bytes stored as "
             f"{saved['stored_bytes']:,} (zstd)")

        found = await call("search_checkpoints", {"query": "refresh token work", "project": "demo-api"})
        _say('search_checkpoints "refresh token work"',
             "\n".join(f"  {h['score']:.3f}  {h['id']}  {h['title']} ({h['progress']}%)" for h in found["results"])
             + f"\n  semantic search: {found['semantic']}")

        opened = await call("open_checkpoint", {"id": saved["id"]})
        _say("open_checkpoint → summary_markdown (what an agent sees when it resumes)", opened["summary_markdown"])
        _say("integrity", json.dumps(opened["integrity"]))

        marked = await call("mark_status", {"id": saved["id"], "status": "completed",
                                            "note": "refresh endpoint shipped with rotation"})
        _say("mark_status completed", "\n".join(f"  {h['at']}  {h['status']}" + (f"  ({h['note']})" if h["note"] else "")
                                               for h in marked["history"]))
        after = await call("search_checkpoints", {"query": "refresh token work", "project": "demo-api"})
        _say("search again (completed work is no longer offered)", f"  {len(after['results'])} open results")


def run_demo(keep: str | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="ckpt-demo-") as tmp:
        db = Path(keep) if keep else Path(tmp) / "demo.db"
        anyio.run(_drive, db)
    print("\nDone. Add the server to your client: see the README (claude mcp add checkpoints -- ckpt).")
    return 0
