"""Secrets inside escaped text — JSON strings, URL-encoding — are found, and the text stays valid."""

from __future__ import annotations

import json

import pytest

from mcp_server_checkpoints.storage.redact import Redactor

AWS = "AKIAIOSFODNN7EXAMPLE"  # the AWS documentation's key id: in a real key's format, so it counts
GHP = "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"
PEM_BODY = ["MIIEpAIBAAKCAQEA7bq98qT2XyZ0aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789ab", "cdEFGHijKLMNopQRstUVwx=="]
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(PEM_BODY) + "\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize("before", ["\n", "\t", "\r\n", '"', "\u00a0", "\\", "é"])
def test_a_secret_right_after_an_escape_in_a_json_string(before: str) -> None:
    for ensure_ascii in (False, True):
        line = json.dumps({"type": "tool_result", "content": f"$ cat .env{before}{AWS}{before}{GHP}"},
                          ensure_ascii=ensure_ascii)
        out, kinds = Redactor.build().redact_kinds(line)
        assert AWS not in out and GHP not in out, (before, ensure_ascii)
        assert kinds == {"aws-access-key-id": 1, "github-pat": 1}
        assert json.loads(out)["content"].startswith("$ cat .env")


def test_a_key_block_split_across_escaped_line_breaks_goes_whole_and_the_json_stays_valid() -> None:
    for text in (json.dumps({"private_key": PEM + "\n"}), json.dumps(json.dumps({"k": PEM}))):  # once, twice escaped
        out, kinds = Redactor.build().redact_kinds(text)
        assert kinds == {"private-key": 1}
        assert not any(line[:20] in out for line in PEM_BODY)
        json.loads(out)


def test_a_value_stops_at_an_escaped_line_break_or_quote() -> None:
    """`.env` lines in a JSON string: each value is redacted, the next line's key is kept."""
    line = json.dumps({"content": 'DB_PASSWORD=hunter2-correct-horse\nDEBUG=true\n"api_key": "k3y-Vh9x2QeZ1"'})
    out, kinds = Redactor.build().redact_kinds(line)
    assert json.loads(out)["content"] == 'DB_PASSWORD=[REDACTED:password]\nDEBUG=true\n"api_key": "[REDACTED:api-key]"'
    assert kinds == {"password": 1, "api-key": 1}


def test_url_encoded_secrets() -> None:
    out, kinds = Redactor.build().redact_kinds(
        "GET /cb?next=postgres%3A%2F%2Fadmin%3AS3cr3t%21Pa55%40db%3A5432%2Fapp&token=" + GHP + "&x=1")
    assert "S3cr3t" not in out and GHP not in out
    assert out.startswith("GET /cb?next=postgres%3A%2F%2Fadmin%3A[REDACTED:url-password]%40db")
    assert kinds == {"url-password": 1, "github-pat": 1}


def test_escaped_slashes_in_a_url() -> None:
    """Some JSON writers escape `/` (PHP, some Java libraries): `postgres:\\/\\/user:pw@host`."""
    out, _ = Redactor.build().redact_kinds('{"dsn": "postgres:\\/\\/admin:S3cr3tPa55@db\\/app"}')
    assert "S3cr3tPa55" not in out and json.loads(out)["dsn"] == "postgres://admin:[REDACTED:url-password]@db/app"


def test_a_replaced_span_never_leaves_half_an_escape() -> None:
    """A value that runs into `\\u00e9` or `\\\\` takes the whole escape, never one backslash of it."""
    for content in ("DB_PASSWORD=hunter2\u00e9x next", "DB_PASSWORD=hunter2\\\\x next", "DB_PASSWORD=hunter2\\d next"):
        for ensure_ascii in (False, True):
            line = json.dumps({"c": content}, ensure_ascii=ensure_ascii)
            out = Redactor.build().redact_kinds(line)[0]
            assert json.loads(out)["c"] == "DB_PASSWORD=[REDACTED:password] next", (content, out)
