"""What the redactor reports: the count per kind, labels that name the secret, markers that hold none of it."""

from __future__ import annotations

import re

import pytest

from mcp_server_checkpoints.storage.redact import Redactor
from mcp_server_checkpoints.storage.secret_rules import RULES

ANTHROPIC = "sk-ant-api03-" + "Zq8Xw2Ve5Rt7Yu1Io3Pa6Sd9Fg4Hj0Kl" * 3 + "AA"
OPENAI = "sk-proj-" + "Mn4Bv7Cx1Za3Sd6Fg9Hj2Kl5Qw8Er0Ty" * 4
TEXT = (f"ANTHROPIC_API_KEY={ANTHROPIC}\nOPENAI_API_KEY={OPENAI}\nexport GITHUB_TOKEN=ghp_{'aB3dE6gH9j' * 3}K2mN5p\n"
        "DB_PASSWORD=hunter2-correct-horse\nREDIS_URL=redis://:S3cr3tPa55@cache:6379/0\n"
        "password: Zx9!vQ2#mP7q\n")


def test_counts_per_kind_and_the_total() -> None:
    out, kinds = Redactor.build().redact_kinds(TEXT)
    assert kinds == {"anthropic-api-key": 1, "openai-api-key": 1, "github-pat": 1, "password": 2, "url-password": 1}
    assert Redactor.build().redact(TEXT) == (out, 6)  # redact() keeps its signature: (text, total)


def test_an_anthropic_key_is_not_labelled_openai() -> None:
    assert Redactor.build().redact(ANTHROPIC)[0] == "[REDACTED:anthropic-api-key]"
    assert Redactor.build().redact(OPENAI)[0] == "[REDACTED:openai-api-key]"


def test_the_named_kind_wins_over_the_key_it_is_assigned_to() -> None:
    """`GITHUB_TOKEN=ghp_…` is a github-pat (the token's own format), not a generic `token` assignment."""
    out, kinds = Redactor.build().redact_kinds(f"GITHUB_TOKEN=ghp_{'aB3dE6gH9j' * 3}K2mN5p")
    assert (out, kinds) == ("GITHUB_TOKEN=[REDACTED:github-pat]", {"github-pat": 1})


def test_markers_name_a_kind_and_hold_no_part_of_the_secret() -> None:
    out = Redactor.build().redact(TEXT)[0]
    known = {r.kind for r in RULES} | {"password", "secret", "token", "api-key", "aws-secret-access-key"}
    markers = re.findall(r"\[REDACTED:([^\]]*)\]", out)
    assert markers and set(markers) <= known
    for secret in (ANTHROPIC, OPENAI, "hunter2", "S3cr3tPa55", "Zx9!vQ2"):
        assert not any(secret[i:i + 6] in out for i in range(len(secret) - 5)), secret


def test_a_json_object_entry_under_a_secret_name_is_replaced_whole() -> None:
    value = {"env": {"DB_PASSWORD": "hunter2", "DEBUG": "true", "API_TOKEN": "${API_TOKEN}"},
             "history": [{"cmd": f"curl -H 'Authorization: Bearer {'x7Yb2' * 6}' https://api"}],
             "usage": {"max_tokens": 4096, "token_count": "1234"}, "signing_key": "user_profile_cache"}
    out, kinds = Redactor.build().redact_value_kinds(value)
    assert out == {"env": {"DB_PASSWORD": "[REDACTED:password]", "DEBUG": "true", "API_TOKEN": "${API_TOKEN}"},
                   "history": [{"cmd": "curl -H 'Authorization: Bearer [REDACTED:bearer-token]' https://api"}],
                   "usage": {"max_tokens": 4096, "token_count": "1234"}, "signing_key": "user_profile_cache"}
    assert kinds == {"password": 1, "bearer-token": 1}
    assert Redactor.build().redact_value(value) == (out, 2)


def test_redacted_text_is_not_redacted_again() -> None:
    out, _ = Redactor.build().redact_kinds(TEXT)
    assert Redactor.build().redact_kinds(out) == (out, {})


def test_a_bad_custom_pattern_is_named_by_its_number_not_echoed() -> None:
    """A custom pattern may be written around a secret: the error says which one and what is wrong."""
    with pytest.raises(ValueError) as err:
        Redactor.build(["ok", "ghp_MySecretPrefix("])
    assert "pattern 2" in str(err.value) and "ghp_MySecretPrefix" not in str(err.value)
