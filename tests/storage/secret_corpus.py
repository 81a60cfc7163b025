"""Planted secrets (fake, in the real formats) and look-alikes that must survive redaction."""

from __future__ import annotations

# (what it is, the text, the secret part that must disappear)
SECRETS: list[tuple[str, str, str]] = [
    ("aws access key", "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLQ", "AKIAIOSFODNN7EXAMPLQ"),
    ("aws secret", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYZ", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYZ"),
    ("github classic", "token ghp_1234567890abcdefghijklmnopqrstuvwxYZ used", "ghp_1234567890abcdefghijklmnopqrstuvwxYZ"),
    ("github fine-grained", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP",
     "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"),
    ("gitlab", "remote uses glpat-AbCdEfGhIjKlMnOpQrSt12", "glpat-AbCdEfGhIjKlMnOpQrSt12"),
    ("anthropic", "ANTHROPIC_API_KEY is sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdef",
     "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdef"),
    ("openai", "key sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd in .env", "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"),
    ("jwt", "cookie=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    ("private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq98fakekeymaterialQWERTY\nabcdEFGH1234\n-----END RSA PRIVATE KEY-----",
     "MIIEpAIBAAKCAQEA7bq98fakekeymaterialQWERTY"),
    ("openssh key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAfakefakefake\n-----END OPENSSH PRIVATE KEY-----",
     "b3BlbnNzaC1rZXktdjEAAAAfakefakefake"),
    ("bearer header", "curl -H 'Authorization: Bearer 9f8e7d6c5b4a39281706abcdefXYZ' https://api", "9f8e7d6c5b4a39281706abcdefXYZ"),
    ("env password", "DB_PASSWORD=hunter2-correct-horse", "hunter2-correct-horse"),
    ("yaml secret", "client_secret: 'Zx9!vQ2#mP7'", "Zx9!vQ2#mP7"),
    ("json token", '{"api_key": "live_51HqLyjWDarjtT1zdp7dc"}', "live_51HqLyjWDarjtT1zdp7dc"),
    ("toml token", 'auth_token = "tok-8812-abcd-9921"', "tok-8812-abcd-9921"),
    ("postgres url", "DATABASE_URL=postgres://admin:S3cr3tPa55@db.internal:5432/app", "S3cr3tPa55"),
    ("mongodb url", "mongodb+srv://svc:pa55w0rdXY@cluster0.mongodb.net/test", "pa55w0rdXY"),
    ("stripe", "stripe key sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("slack", "SLACK=xoxb-123456789012-abcdefghijkl", "xoxb-123456789012-abcdefghijkl"),
    ("cli password", "mysql --password=Tr0ub4dor3 -u root", "Tr0ub4dor3"),
]

# Text that must come out unchanged.
HARMLESS: list[str] = [
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed it",  # git SHA
    "id 123e4567-e89b-12d3-a456-426614174000",  # UUID
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # hex digest
    "md5 d41d8cd98f00b204e9800998ecf8427e",
    "max_tokens: 4096 and token count 1234",
    "password: ${DB_PASSWORD}",
    "the password field is validated on submit",
    "API_KEY=<your key here>",
    "see https://example.com/path?q=1 and git@github.com:org/repo.git",
    "Bearer tokens are verified by the middleware",
]
