"""Planted secrets and look-alikes, generated from a seed: the redaction benchmark's and tests' corpora.

`planted()` gives every kind of secret in every encoding it reaches a store in: plain text, JSON strings
right after `\\n`, `\\t`, `\\"` and `\\u00a0` escapes, a Claude Code `tool_result` line, JSON inside a
tool result (escaped twice), a shell command, URL-encoded, a Markdown code fence and a Python repr.
`lookalikes()` gives text that must come out unchanged: hashes, ids, lockfile integrity, base64
images, placeholder keys, code that names secrets without holding one.

Every value is fake (random from the seed) but in its real format. Placeholders in a real key's format
(the AWS documentation's `AKIAIOSFODNN7EXAMPLE`) count as secrets; see `storage/secret_rules.py`.
"""

from __future__ import annotations

import base64
import json
import random
import shlex
import string
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
UPPER = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Plant:
    """A text holding one or more secrets (`fragments`: each must vanish) of one expected kind."""

    kind: str  # what was planted (the corpus's name for it)
    label: str  # the marker kind a right redactor reports for it
    text: str  # the carrier text, before an encoding
    fragments: tuple[str, ...]  # the secret, or its lines (a key block), as they appear in `text`


@dataclass(frozen=True)
class Item:
    kind: str
    label: str
    encoding: str
    text: str
    fragments: tuple[str, ...]  # as they appear in `text` after the encoding
    is_json: bool  # the whole text is one JSON value: redacting must keep it valid and of the same shape


def _s(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _password(rng: random.Random) -> str:
    """A human-made password: letters, digits and a few symbols that need no quoting in a URL or .env."""
    core = _s(rng, ALNUM, rng.randint(10, 18))
    return core[:4] + rng.choice("!*-_.~^") + core[4:] + rng.choice(string.digits)


def _pem(rng: random.Random, label: str, lines: int) -> tuple[str, tuple[str, ...]]:
    body = [_s(rng, B64, 64) for _ in range(lines)] + [_s(rng, B64, rng.randint(20, 60)) + "=="]
    if label == "OPENSSH":
        body[0] = "b3BlbnNzaC1rZXktdjEAAAAA" + body[0][24:]
    head = f"-----BEGIN {label} PRIVATE KEY-----".replace("  ", " ")
    extra = ["Proc-Type: 4,ENCRYPTED", f"DEK-Info: AES-128-CBC,{_s(rng, HEX.upper(), 32)}", ""] if label == "RSA" \
        and rng.random() < 0.3 else []
    text = "\n".join([head, *extra, *body, head.replace("BEGIN", "END")])
    return text, tuple(body)


def _jwt(rng: random.Random) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")
    head = part({"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"})
    body = part({"sub": _s(rng, HEX, 12), "iat": rng.randint(1_600_000_000, 1_800_000_000),
                 "email": f"{_s(rng, string.ascii_lowercase, 6)}@example.com"})
    return f"{head}.{body}.{_s(rng, URLSAFE, 43)}"


# -- the kinds: each draws a carrier text with its secret ---------------------------------------------
def _token_kind(kind: str, label: str, make: Callable[[random.Random], str],
                carriers: tuple[str, ...]) -> Callable[[random.Random], Plant]:
    def draw(rng: random.Random) -> Plant:
        secret = make(rng)
        return Plant(kind, label, rng.choice(carriers).format(s=secret), (secret,))
    return draw


def _aws_secret(rng: random.Random) -> Plant:
    key_id = "AKIA" + _s(rng, UPPER, 16)
    secret = _s(rng, ALNUM, 20) + rng.choice("/+") + _s(rng, B64, 19)
    text = rng.choice([
        "aws_access_key_id = {i}\naws_secret_access_key = {s}",
        "Access key ID,Secret access key\n{i},{s}",
        '{{"AccessKeyId": "{i}", "SecretAccessKey": "{s}"}}',
        "export AWS_ACCESS_KEY_ID={i}\nexport AWS_SECRET_ACCESS_KEY={s}",
    ]).format(i=key_id, s=secret)
    return Plant("aws-secret-access-key", "aws-secret-access-key", text, (key_id, secret))


def _gcp_service_account(rng: random.Random) -> Plant:
    pem, body = _pem(rng, "", 6)
    doc = {"type": "service_account", "project_id": f"proj-{_s(rng, HEX, 6)}", "private_key_id": _s(rng, HEX, 40),
           "private_key": pem + "\n", "client_email": f"ci@proj-{_s(rng, HEX, 6)}.iam.gserviceaccount.com"}
    return Plant("gcp-service-account", "private-key", json.dumps(doc, indent=2), body)


def _private_key(label: str, kind: str) -> Callable[[random.Random], Plant]:
    def draw(rng: random.Random) -> Plant:
        pem, body = _pem(rng, label, rng.randint(3, 8))
        return Plant(kind, "private-key", rng.choice(["{p}", "$ cat ~/.ssh/id\n{p}", "key.pem:\n{p}\n"]).format(p=pem),
                     body)
    return draw


def _url_password(rng: random.Random) -> Plant:
    pw = _password(rng)
    user = rng.choice(["admin", "app", "svc_reader", "postgres", "root"])
    host = rng.choice(["db.internal", "10.0.3.12", "cluster0.ab1cd.mongodb.net", "cache.prod", "mq.local"])
    url = rng.choice(["postgres://{u}:{p}@{h}:5432/app", "postgresql://{u}:{p}@{h}/shop?sslmode=require",
                      "mysql://{u}:{p}@{h}:3306/orders", "mongodb+srv://{u}:{p}@{h}/test?retryWrites=true",
                      "redis://:{p}@{h}:6379/0", "amqp://{u}:{p}@{h}:5672/%2F",
                      "https://{u}:{p}@git.example.com/org/repo.git"]).format(u=user, p=pw, h=host)
    text = rng.choice(["DATABASE_URL={x}", "connecting to {x}", '"url": "{x}"', "psql {x} -c 'select 1'"]).format(x=url)
    return Plant("url-password", "url-password", text, (pw,))


def _assignment(kind: str, forms: tuple[tuple[str, str], ...]) -> Callable[[random.Random], Plant]:
    """`forms`: (template with {k} and {v}, the label) — the key names vary, the label follows the key."""
    names = {"password": ["DB_PASSWORD", "password", "POSTGRES_PASSWORD", "adminPassword", "smtp_passwd"],
             "secret": ["client_secret", "JWT_SECRET", "SECRET_KEY_BASE", "webhookSecret", "app_secret"],
             "token": ["API_TOKEN", "auth_token", "access_token", "refreshToken", "SENTRY_AUTH_TOKEN"],
             "api-key": ["api_key", "MAILGUN_API_KEY", "apiKey", "x-api-key", "OPENWEATHER_APIKEY"]}

    def draw(rng: random.Random) -> Plant:
        template, label = rng.choice(forms)
        key = rng.choice(names[label])
        value = _password(rng) if label == "password" else _s(rng, ALNUM, rng.randint(20, 40))
        return Plant(kind, label, template.format(k=key, v=value), (value,))
    return draw


def _high_entropy(rng: random.Random) -> Plant:
    key = rng.choice(["SIGNING_KEY", "encryption_key", "MASTER_KEY", "hmacKey", "license_key", "ENCRYPTION_KEY"])
    value = rng.choice([_s(rng, ALNUM, 32), base64.b64encode(rng.randbytes(32)).decode(), _s(rng, HEX, 64)])
    text = rng.choice(["{k}={v}", '{k} = "{v}"', "{k}: {v}", '"{k}": "{v}"']).format(k=key, v=value)
    return Plant("high-entropy-key", "high-entropy-key", text, (value,))


def _bearer(rng: random.Random) -> Plant:
    token = _s(rng, URLSAFE, rng.randint(24, 64)) + rng.choice(string.digits)
    text = rng.choice(["Authorization: Bearer {t}", "curl -H 'Authorization: Bearer {t}' https://api.example.com/v1/me",
                       'headers = {{"Authorization": "Bearer {t}"}}']).format(t=token)
    return Plant("bearer-header", "bearer-token", text, (token,))


def _basic(rng: random.Random) -> Plant:
    pw = _password(rng)
    creds = base64.b64encode(f"{rng.choice(['admin', 'deploy', 'ci'])}:{pw}".encode()).decode()
    text = rng.choice(["Authorization: Basic {c}", "curl -H \"Authorization: Basic {c}\" https://registry.local/v2/"])
    return Plant("basic-header", "basic-auth", text.format(c=creds), (creds,))


def _cli_password(rng: random.Random) -> Plant:
    pw = _password(rng)
    text = rng.choice(["mysql -u root -p{p} orders", "mysqldump --user=admin --password={p} shop > dump.sql",
                       "sshpass -p {p} ssh deploy@10.0.0.5", "curl -u admin:{p} https://ci.example.com/api/json",
                       "vault login --token={p}"]).format(p=pw)
    return Plant("cli-password", "cli-password", text, (pw,))


def _slack_webhook(rng: random.Random) -> Plant:
    secret = f"T{_s(rng, UPPER, 10)}/B{_s(rng, UPPER, 10)}/{_s(rng, ALNUM, 24)}"
    return Plant("slack-webhook-url", "slack-webhook-url",
                 rng.choice(["SLACK_WEBHOOK=https://hooks.slack.com/services/{s}",
                             "curl -X POST https://hooks.slack.com/services/{s} -d @msg.json"]).format(s=secret),
                 (secret.split("/")[-1],))


def _azure_storage(rng: random.Random) -> Plant:
    key = base64.b64encode(rng.randbytes(64)).decode()
    text = (f"DefaultEndpointsProtocol=https;AccountName=st{_s(rng, HEX, 8)};AccountKey={key};"
            "EndpointSuffix=core.windows.net")
    return Plant("azure-storage-key", "azure-storage-key", text, (key,))


_T = ("token {s} used", "export TOKEN_VALUE={s}", "{s}", "found {s} in the logs", "  token: '{s}'")

KINDS: dict[str, Callable[[random.Random], Plant]] = {
    "aws-access-key-id": _token_kind("aws-access-key-id", "aws-access-key-id",
                                     lambda r: r.choice(["AKIA", "ASIA"]) + _s(r, UPPER, 16),
                                     ("export AWS_ACCESS_KEY_ID={s}", '"AccessKeyId": "{s}"', "key id {s} in eu-west-1",
                                      "{s}")),
    "aws-secret-access-key": _aws_secret,
    "github-pat": _token_kind("github-pat", "github-pat", lambda r: "ghp_" + _s(r, ALNUM, 36),
                              ("GITHUB_TOKEN={s}", "git clone https://{s}@github.com/org/repo", *_T)),
    "github-fine-grained-pat": _token_kind("github-fine-grained-pat", "github-fine-grained-pat",
                                           lambda r: f"github_pat_{_s(r, ALNUM, 22)}_{_s(r, ALNUM, 59)}", _T),
    "github-oauth": _token_kind("github-oauth", "github-oauth", lambda r: "gho_" + _s(r, ALNUM, 36), _T),
    "github-app-token": _token_kind("github-app-token", "github-app-token",
                                    lambda r: r.choice(["ghs_", "ghu_"]) + _s(r, ALNUM, 36), _T),
    "gitlab-pat": _token_kind("gitlab-pat", "gitlab-pat", lambda r: "glpat-" + _s(r, URLSAFE, 20),
                              ("git remote set-url origin https://oauth2:{s}@gitlab.com/g/p.git", *_T)),
    "gitlab-runner-token": _token_kind("gitlab-runner-token", "gitlab-token",
                                       lambda r: r.choice(["glrt-", "gldt-"]) + _s(r, URLSAFE, 20), _T),
    "slack-bot-token": _token_kind("slack-bot-token", "slack-bot-token",
                                   lambda r: f"xoxb-{_s(r, string.digits, 12)}-{_s(r, string.digits, 13)}-"
                                             f"{_s(r, ALNUM, 24)}", ("SLACK_BOT_TOKEN={s}", *_T)),
    "slack-user-token": _token_kind("slack-user-token", "slack-user-token",
                                    lambda r: f"xoxp-{_s(r, string.digits, 12)}-{_s(r, string.digits, 12)}-"
                                              f"{_s(r, string.digits, 13)}-{_s(r, HEX, 32)}", _T),
    "slack-webhook-url": _slack_webhook,
    "stripe-secret-key": _token_kind("stripe-secret-key", "stripe-secret-key",
                                     lambda r: r.choice(["sk_live_", "sk_test_"]) + _s(r, ALNUM, 24),
                                     ("STRIPE_SECRET_KEY={s}", "stripe.api_key = '{s}'", *_T)),
    "stripe-restricted-key": _token_kind("stripe-restricted-key", "stripe-restricted-key",
                                         lambda r: "rk_live_" + _s(r, ALNUM, 24), _T),
    "anthropic-api-key": _token_kind("anthropic-api-key", "anthropic-api-key",
                                     lambda r: f"sk-ant-api03-{_s(r, URLSAFE, 93)}AA",
                                     ("ANTHROPIC_API_KEY={s}", "client = Anthropic(api_key=\"{s}\")", *_T)),
    "openai-api-key": _token_kind("openai-api-key", "openai-api-key",
                                  lambda r: r.choice([f"sk-proj-{_s(r, URLSAFE, 156)}",
                                                      f"sk-{_s(r, ALNUM, 20)}T3BlbkFJ{_s(r, ALNUM, 20)}"]),
                                  ("OPENAI_API_KEY={s}", "openai.api_key = \"{s}\"", *_T)),
    "google-api-key": _token_kind("google-api-key", "google-api-key", lambda r: "AIza" + _s(r, URLSAFE, 35),
                                  ("https://maps.googleapis.com/maps/api/geocode/json?key={s}", *_T)),
    "gcp-service-account": _gcp_service_account,
    "azure-storage-key": _azure_storage,
    "azure-ad-client-secret": _token_kind("azure-ad-client-secret", "azure-ad-client-secret",
                                          lambda r: f"{_s(r, ALNUM, 3)}{r.randint(0, 9)}Q~{_s(r, URLSAFE + '.~', 34)}",
                                          ("client credential value {s}", "{s}", "az login --service-principal "
                                           "-u app -p {s}")),
    "twilio-api-key": _token_kind("twilio-api-key", "twilio-api-key", lambda r: "SK" + _s(r, HEX, 32), _T),
    "sendgrid-api-key": _token_kind("sendgrid-api-key", "sendgrid-api-key",
                                    lambda r: f"SG.{_s(r, URLSAFE, 22)}.{_s(r, URLSAFE, 43)}", _T),
    "npm-token": _token_kind("npm-token", "npm-token", lambda r: "npm_" + _s(r, ALNUM, 36),
                             ("//registry.npmjs.org/:_authToken={s}", *_T)),
    "pypi-token": _token_kind("pypi-token", "pypi-token", lambda r: "pypi-AgEIcHlwaS5vcmc" + _s(r, URLSAFE, 70),
                              ("password = {s}", "twine upload -p {s} dist/*", *_T)),
    "huggingface-token": _token_kind("huggingface-token", "huggingface-token",
                                     lambda r: "hf_" + _s(r, string.ascii_letters, 34), ("HF_TOKEN={s}", *_T)),
    "jwt": _token_kind("jwt", "jwt", _jwt, ("Cookie: session={s}", "id_token: {s}", "{s}", "jwt={s}")),
    "private-key-rsa": _private_key("RSA", "private-key-rsa"),
    "private-key-ec": _private_key("EC", "private-key-ec"),
    "private-key-pkcs8": _private_key("", "private-key-pkcs8"),
    "openssh-private-key": _private_key("OPENSSH", "openssh-private-key"),
    "url-password": _url_password,
    "env-assignment": _assignment("env-assignment", (("{k}={v}", "password"), ("{k}={v}", "secret"),
                                                      ("{k}={v}", "token"), ("export {k}=\"{v}\"", "api-key"))),
    "yaml-assignment": _assignment("yaml-assignment", (("  {k}: {v}", "password"), ("{k}: '{v}'", "secret"),
                                                       ("  {k}: \"{v}\"", "token"))),
    "toml-assignment": _assignment("toml-assignment", (('{k} = "{v}"', "password"), ("{k} = '{v}'", "api-key"))),
    "json-assignment": _assignment("json-assignment", (('{{"{k}": "{v}"}}', "password"),
                                                       ('{{"user": "x", "{k}": "{v}"}}', "token"),
                                                       ('{{"{k}":"{v}"}}', "secret"))),
    "high-entropy-key": _high_entropy,
    "bearer-header": _bearer,
    "basic-header": _basic,
    "cli-password": _cli_password,
    "mailchimp-api-key": _token_kind("mailchimp-api-key", "mailchimp-api-key",
                                     lambda r: f"{_s(r, HEX, 32)}-us{r.randint(1, 21)}", ("MAILCHIMP_KEY={s}", *_T)),
    "telegram-bot-token": _token_kind("telegram-bot-token", "telegram-bot-token",
                                      lambda r: f"{r.randint(10**8, 10**10 - 1)}:AA{_s(r, URLSAFE, 33)}",
                                      ("https://api.telegram.org/bot{s}/getMe", *_T)),
    "square-token": _token_kind("square-token", "square-token", lambda r: r.choice(
        [f"sq0atp-{_s(r, URLSAFE, 22)}", f"sq0csp-{_s(r, URLSAFE, 43)}"]), _T),
    "artifactory-api-key": _token_kind("artifactory-api-key", "artifactory-api-key",
                                       lambda r: "AKCp" + _s(r, ALNUM, 69), ("X-JFrog-Art-Api: {s}", *_T)),
    "docker-hub-pat": _token_kind("docker-hub-pat", "docker-hub-pat", lambda r: "dckr_pat_" + _s(r, URLSAFE, 27), _T),
    "vault-token": _token_kind("vault-token", "vault-token", lambda r: "hvs." + _s(r, URLSAFE, 90),
                               ("VAULT_TOKEN={s}", *_T)),
}


# -- the encodings: how a carrier text reaches the store ----------------------------------------------
def _json(obj: object, ensure_ascii: bool = False) -> str:
    return json.dumps(obj, ensure_ascii=ensure_ascii, separators=(",", ":"))


def _escaped(fragment: str, times: int = 1, ensure_ascii: bool = False) -> str:
    for _ in range(times):
        fragment = json.dumps(fragment, ensure_ascii=ensure_ascii)[1:-1]
    return fragment


def _tool_result(content: str, n: int) -> str:
    return _json({"parentUuid": f"00000000-0000-4000-8000-{n:012d}", "isSidechain": False, "type": "user",
                  "message": {"role": "user", "content": [{"tool_use_id": f"toolu_01{n:020d}", "type": "tool_result",
                                                           "content": content, "is_error": False}]},
                  "uuid": f"00000000-0000-4000-9000-{n:012d}", "timestamp": "2026-11-30T09:14:03.120Z"})


Encoding = Callable[[str, int], str]
ENCODINGS: dict[str, tuple[Encoding, Callable[[str], str], bool]] = {
    # name: (carrier text, item number → text; secret fragment → as it appears; whole text is JSON)
    "plain": (lambda t, n: f"Notes from the session:\n{t}\nThat is all for now.", lambda f: f, False),
    "json-newline": (lambda t, n: _json({"type": "text", "text": "output:\n" + t + "\ndone"}), _escaped, True),
    "json-tab": (lambda t, n: _json({"type": "text", "text": "field\t" + t.replace("\n", "\n\t")}), _escaped, True),
    "json-quote": (lambda t, n: _json({"type": "text", "text": f'set it to "{t}" and restart'}), _escaped, True),
    "json-unicode": (lambda t, n: _json({"text": f"Schlüssel:\u00a0{t}\u00a0— fertig"}, ensure_ascii=True),
                     lambda f: _escaped(f, ensure_ascii=True), True),
    "tool-result": (lambda t, n: _tool_result(f"$ cat config\n{t}\n", n), _escaped, True),
    "json-in-tool-result": (lambda t, n: _tool_result(json.dumps({"stdout": t + "\n", "exit": 0}), n),
                            lambda f: _escaped(f, times=2), True),
    "shell": (lambda t, n: (f"$ cat > .secrets <<'EOF'\n{t}\nEOF\n$ chmod 600 .secrets" if "\n" in t
                            else f"$ echo {shlex.quote(t)} >> deploy.log && ./deploy.sh"), lambda f: f, False),
    "url-encoded": (lambda t, n: f"GET /oauth/callback?state=af0ifjsldkj&next={urllib.parse.quote(t, safe='')}"
                                 "&lang=en HTTP/1.1", lambda f: urllib.parse.quote(f, safe=""), False),
    "markdown-code": (lambda t, n: f"Here is the config I used:\n\n```sh\n{t}\n```\n\nIt worked.", lambda f: f, False),
    "quoted": (lambda t, n: f"value = {t!r}  # from the old settings", lambda f: repr(f)[1:-1], False),
}


def planted(seed: int = 15, per_kind: int = 1) -> list[Item]:
    """Every kind in every encoding, `per_kind` draws each (different secrets every time)."""
    rng = random.Random(seed)
    items: list[Item] = []
    for kind, draw in KINDS.items():
        for encoding, (encode, appear, is_json) in ENCODINGS.items():
            for _ in range(per_kind):
                plant = draw(rng)
                items.append(Item(kind, plant.label, encoding, encode(plant.text, len(items)),
                                  tuple(appear(f) for f in plant.fragments), is_json))
    return items


def leaked(item: Item, out: str, window: int = 12) -> bool:
    """Whether any `window` characters in a row of a planted secret survive in `out`."""
    for fragment in item.fragments:
        if len(fragment) <= window:
            if fragment in out:
                return True
            continue
        if any(fragment[i:i + window] in out for i in range(len(fragment) - window + 1)):
            return True
    return False


def same_shape(a: object, b: object) -> bool:
    """The same JSON structure (keys, list lengths, types); string contents may differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_shape(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_shape(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b)


# -- look-alikes: text in the shapes of secrets that holds none ----------------------------------------
def _lookalike_makers() -> dict[str, Callable[[random.Random], str]]:
    lower = string.ascii_lowercase
    words = ["user", "order", "payment", "session", "cache", "request", "handler", "factory", "token", "secret",
             "password", "key", "auth", "refresh", "client", "config"]

    def ident(r: random.Random) -> str:
        return "_".join(r.choice(words) for _ in range(r.randint(3, 7)))

    return {
        "git-sha": lambda r: r.choice(["commit {h}", "{s} fix: handle empty tokens", "Merge: {s} {t}",
                                       "git checkout {h}"]).format(h=_s(r, HEX, 40), s=_s(r, HEX, 7), t=_s(r, HEX, 7)),
        "uuid": lambda r: r.choice(["request id {u}", '"session_id": "{u}"', "token_id={u}", "idempotency_key: {u}"])
        .format(u=f"{_s(r, HEX, 8)}-{_s(r, HEX, 4)}-4{_s(r, HEX, 3)}-a{_s(r, HEX, 3)}-{_s(r, HEX, 12)}"),
        "hex-digest": lambda r: r.choice(["sha256:{a}", "md5 {b}", "etag: \"{b}\"", "docker pull app@sha256:{a}"])
        .format(a=_s(r, HEX, 64), b=_s(r, HEX, 32)),
        "go-sum": lambda r: f"github.com/{_s(r, lower, 6)}/{_s(r, lower, 5)} v1.{r.randint(0, 20)}.{r.randint(0, 9)} "
                            f"h1:{base64.b64encode(r.randbytes(32)).decode()}",
        "lockfile-integrity": lambda r: r.choice([
            '"integrity": "sha512-{b}"', "  integrity sha512-{b}", "--hash=sha256:{h}"]).format(
            b=base64.b64encode(r.randbytes(64)).decode(), h=_s(r, HEX, 64)),
        "base64-image": lambda r: ('<img src="data:image/png;base64,iVBORw0KGgo'
                                   f'{base64.b64encode(r.randbytes(300)).decode()}">'),
        "placeholder-key": lambda r: r.choice([
            "OPENAI_API_KEY=sk-...", "api_key: <YOUR_API_KEY>", "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}",
            "export ANTHROPIC_API_KEY=your-api-key-here", "token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "password: ********", "DB_PASSWORD=changeme", "SECRET_KEY=${SECRET_KEY}", "api_key = \"YOUR_API_KEY\"",
            "Authorization: Bearer <token>", "Authorization: Bearer $TOKEN",
            "STRIPE_KEY=sk_test_xxxxxxxxxxxxxxxxxxxxxxxx",
            "password: {{ vault_db_password }}", "token = os.environ[\"GITHUB_TOKEN\"]", "PASSWORD=", "password: null",
        ]),
        "long-identifier": lambda r: r.choice(["def {i}(self):", "{i} = {j}", "const {c} = require('./{i}')",
                                               "test_{i} PASSED"]).format(
            i=ident(r), j=ident(r), c="".join(w.capitalize() for w in ident(r).split("_"))),
        "code-naming-secrets": lambda r: r.choice([
            "password = os.environ[\"DB_PASSWORD\"]", "def check_password(self, password: str) -> bool:",
            "token: str | None = None", "api_key=api_key,", "const token = req.headers.authorization;",
            "if (!password) return res.status(401).end();", "self.secret = settings.SECRET_KEY",
            "password=getpass.getpass()", "token = await refreshAccessToken(user)", "apiKey: string;",
            "password: str = Field(min_length=12)", "access_token = response.json()[\"access_token\"]",
            "secret_key = config.get('secret_key')", "private_key = load_pem(path)", "password=user_password",
            "let pwd = process.cwd();", "token=self._token", "\"password\": \"Password\"", "pwd: /home/dev/app",
        ]),
        "usage-and-counts": lambda r: r.choice([
            '"usage":{{"input_tokens":{a},"cache_read_input_tokens":{b},"output_tokens":{c}}}',
            "max_tokens: {a}", "token count {a}", "tokens={a}", "passes: {c}/{a}", "key: {a}"]).format(
            a=r.randint(1, 200000), b=r.randint(1, 200000), c=r.randint(1, 4000)),
        "css-colour": lambda r: (f"color: #{_s(r, HEX, 6)}; background: #{_s(r, HEX, 3)}; "
                                 f"border-color: #{_s(r, HEX, 8)}"),
        "version-string": lambda r: r.choice(["version {a}.{b}.{c}", "v{a}.{b}.{c}-rc.{c}+build.{h}",
                                              "python==3.{b}.{c}", "node@{a}.{b}.{c}"]).format(
            a=r.randint(0, 30), b=r.randint(0, 30), c=r.randint(0, 99), h=_s(r, HEX, 7)),
        "url-without-password": lambda r: r.choice([
            "https://github.com/org/repo/pull/{n}", "http://localhost:{p}/api/v1/users?page=2",
            "git@github.com:org/repo.git", "https://user@example.com/path", "postgres://localhost:5432/app",
            "redis://cache:6379/0", "ssh://git@host:22/repo", "http://127.0.0.1:{p}/@vite/client"]).format(
            n=r.randint(1, 9999), p=r.randint(1024, 65535)),
        "publishable-or-public-id": lambda r: r.choice([
            "pk_live_" + _s(r, ALNUM, 24), "pk_test_" + _s(r, ALNUM, 24), "arn:aws:iam::{a}:role/deploy",
            "AWS account {a}", "client_id: {c}.apps.googleusercontent.com", "AC" + _s(r, HEX, 32)]).format(
            a=_s(r, string.digits, 12), c=_s(r, string.digits, 12)),
        "prose": lambda r: r.choice([
            "The password field is validated on submit and the token refreshed every 15 minutes.",
            "Bearer tokens are verified by the middleware before the handler runs.",
            "We rotate the secret keys monthly; see the runbook for the procedure.",
            "Basic authentication is disabled in production.", "The API key is read from the keychain at startup.",
            "Use `sk-` prefixed keys only in the backend.", "the private key never leaves the HSM",
        ]),
        "jwt-like": lambda r: r.choice(["eyJhbGciOiJIUzI1NiJ9", "eyJ is the base64 of {\"",
                                        "header eyJ0eXAi... (truncated)"]),
        "paths-and-files": lambda r: r.choice([
            "secrets/db_password.txt", "/run/secrets/api_token", "src/auth/token_refresh.py:{n}",
            "tests/test_password_reset.py::test_{i} PASSED", "~/.aws/credentials", "cat ~/.ssh/id_ed25519.pub"]).format(
            n=r.randint(1, 900), i=ident(r)),
        "base64-blob": lambda r: rng_b64_blob(r),
    }


def rng_b64_blob(r: random.Random) -> str:
    """A base64 payload in JSON (an attachment, a protobuf): long, random, but under no secret's name."""
    data = base64.b64encode(r.randbytes(180)).decode()
    return _json({"attachment": {"mime": "application/octet-stream", "data": data}})


def lookalikes(seed: int = 15, per_category: int = 20) -> list[tuple[str, str]]:
    """(category, text) pairs, each category drawn `per_category` times, plain and inside a tool result."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for category, make in _lookalike_makers().items():
        for n in range(per_category):
            text = make(rng)
            out.append((category, text if n % 2 == 0 else _tool_result(f"$ grep -rn config\n{text}\n", n)))
    return out


# -- a large transcript: the pre-compact hook's input ------------------------------------------------
_CODE_LINES = [
    "def refresh_token(self, user_id: int) -> str:", "    token = self._store.get(user_id)",
    "    if token is None or token.expired:", "        raise AuthError('token expired, sign in again')",
    "const password = await bcrypt.hash(input.password, 12);", "export async function login(req, res) {",
    "  const { email, password } = req.body;", "  const key = `session:${user.id}`;",
    "SELECT id, email, password_hash FROM users WHERE email = $1;", "import { sign, verify } from 'jsonwebtoken';",
    "  expect(res.status).toBe(401);", "  it('rejects a wrong password', async () => {",
    "    cache_key = f\"user:{user.id}:profile\"", "    headers = {'Content-Type': 'application/json'}",
    "PASS  src/auth/login.test.js (2.314 s)", "  ✓ issues an access token and a refresh token (41 ms)",
    "Tests:       38 passed, 38 total", "diff --git a/src/auth.js b/src/auth.js", "@@ -12,7 +12,9 @@ export function",
    "+  if (!secret) throw new Error('JWT_SECRET is not set');", "   basic validation of the key names",
]


_PLAIN_LINES = [
    "def parse_args(argv: list[str] | None = None) -> argparse.Namespace:", "    for item in items:",
    "        result.append(item.normalize())", "    return sorted(result, key=lambda r: r.created_at)",
    "import { useState, useEffect } from 'react';", "export default function CartSummary({ items }) {",
    "  const total = items.reduce((sum, i) => sum + i.price * i.qty, 0);",
    "  return <div className=\"cart\">{total}</div>;",
    "============================= test session starts ==============================",
    "tests/test_cart.py::test_total_with_discount PASSED                      [ 42%]",
    "collected 214 items", "FAILED tests/test_orders.py::test_refund - AssertionError: 3 != 4",
    "src/orders/service.py:88: in refund", "    assert order.status == 'refunded'",
    "On branch feature/cart-refactor", "Changes not staged for commit:", "\tmodified:   src/cart/summary.tsx",
    "npm WARN deprecated inflight@1.0.6: This module is not supported", "added 1287 packages in 14s",
    "  \"dependencies\": {", "    \"react\": \"^18.2.0\",", "    \"zod\": \"^3.22.4\"",
    "The function walks the list once and keeps the running total; the test covers the empty cart.",
    "I'll update the reducer so the discount is applied before tax, then rerun the suite.",
    "Let me check how the orders module computes refunds before changing it.",
]


def transcript(size: int, seed: int = 15, secrets: list[Item] | None = None, auth_share: float = 0.03) -> str:
    """Claude Code JSONL of about `size` bytes: prompts, assistant turns with usage counts, tool calls and
    long multi-line tool results (code, test runs, git logs, lockfiles), with `secrets`' texts spread in.
    `auth_share`: the part of the lines that are code about tokens and passwords (a session building
    login code is denser in the redactor's key words than a typical one)."""
    rng = random.Random(seed)
    makers = list(_lookalike_makers().values())
    plant = list(secrets or [])
    lines: list[str] = []
    total, n = 0, 0

    def body_line() -> str:
        roll = rng.random()
        if roll < auth_share:
            return rng.choice(_CODE_LINES)
        if roll < auth_share + 0.1:
            return rng.choice(makers)(rng)
        return rng.choice(_PLAIN_LINES)

    while total < size:
        n += 1
        roll = rng.random()
        if roll < 0.15:
            line = _json({"type": "user", "message": {"role": "user", "content": body_line() + " — can you fix it "
                                                      "and keep the tests green?"}, "uuid": f"u-{n}"})
        elif roll < 0.45:
            line = _json({"type": "assistant", "uuid": f"a-{n}", "message": {
                "role": "assistant", "model": "claude-opus-4", "content": [
                    {"type": "text", "text": " ".join(body_line() for _ in range(rng.randint(2, 8)))},
                    {"type": "tool_use", "id": f"toolu_{n:08d}", "name": "Bash",
                     "input": {"command": f"cd /home/dev/shop-api && npm test -- {rng.choice(['auth', 'cart'])}"}}],
                "usage": {"input_tokens": rng.randint(1, 9999), "cache_read_input_tokens": rng.randint(0, 99999),
                          "output_tokens": rng.randint(1, 4000)}}})
        else:
            body = [body_line() for _ in range(rng.randint(20, 120))]
            if plant and rng.random() < 0.05:
                body.insert(rng.randrange(len(body)), plant.pop().text)
            line = _tool_result("\n".join(body) + "\n", n)
        lines.append(line)
        total += len(line) + 1
    for item in plant:  # any not placed yet
        lines.insert(rng.randrange(len(lines)), _tool_result(item.text, len(lines)))
    return "\n".join(lines) + "\n"
