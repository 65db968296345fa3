"""Schemathesis hooks for scripts/schema-fuzz, and its account set-up.

    python schema-fuzz-hooks.py setup URL TOKENS_FILE SPARES

registers a throw-away account on the relay at URL and logs it in 1 + SPARES
times, writing one bearer token per line to TOKENS_FILE (the first is the
main one). Loaded by schemathesis (SCHEMATHESIS_HOOKS=this file,
SCHEMA_FUZZ_TOKENS=TOKENS_FILE), it:

- authenticates every request with the main token, except
  `DELETE /v1/sessions/current` (log out), which gets a spare token each time
  so that logging out never revokes the token the rest of the run relies on
  (once the spares are used up, a token the relay never issued: 401);
- turns a valid long-poll `wait` of `GET /v1/messages` above 1 second into
  0: the fuzz account's mailbox is empty, so each `wait=N` holds a worker
  for N seconds (`wait=1` is kept, so a real long-poll timing out is still
  fuzzed now and then). Out-of-range and malformed values are sent
  unchanged, so their rejection is still tested. (Long-polling itself is
  covered by relay-server/tests/api/longpoll.rs.)
"""

from __future__ import annotations

import base64
import inspect
import json
import os
import secrets
import sys
import threading
import urllib.request

LOGOUT = ("DELETE", "/v1/sessions/current")
MAX_FUZZ_WAIT = 1  # seconds; in-range waits above it are sent as 0


def _post(url: str, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def setup(url: str, tokens_file: str, spares: int) -> None:
    """Registers `fuzz` and writes 1 + `spares` session tokens."""
    user = "fuzz"
    password = "schema-fuzz " + secrets.token_hex(16)
    # The relay checks the card's shape only: two base64 blobs of an RSA
    # SPKI's size (it never parses the keys).
    card = {
        "v": 1,
        "user": user,
        "enc": base64.b64encode(secrets.token_bytes(294)).decode(),
        "sig": base64.b64encode(secrets.token_bytes(294)).decode(),
    }
    status, body = _post(f"{url}/v1/accounts", {"username": user, "password": password, "card": card})
    if status != 201:
        sys.exit(f"schema-fuzz: registering failed: {status} {body[:200]!r}")
    tokens = []
    for _ in range(1 + spares):
        status, body = _post(f"{url}/v1/sessions", {"username": user, "password": password})
        if status != 201:
            sys.exit(f"schema-fuzz: logging in failed: {status} {body[:200]!r}")
        tokens.append(json.loads(body)["token"])
    fd = os.open(tokens_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(tokens) + "\n")


def _guard_lambda_descriptions() -> None:
    """Keeps a CPython bug from failing the run.

    Hypothesis describes the lambdas in schemathesis's strategies by parsing
    their source with `ast.parse`. On CPython 3.11 before 3.11.8 (Debian 12
    ships 3.11.2), that parse can raise `SystemError: AST constructor
    recursion depth mismatch`, depending on how deep the stack is when it
    runs: an interpreter bug, not a finding about the relay, yet schemathesis
    reports it as a "Runtime Error" of the operation it was generating data
    for. Hypothesis already answers "<unknown>" for a lambda it cannot read;
    this gives the same answer for that error too. Any other error still
    surfaces.
    """
    from hypothesis.internal import lambda_sources

    describe = lambda_sources._lambda_description

    def guarded(f, *args, **kwargs):
        try:
            return describe(f, *args, **kwargs)
        except SystemError as err:
            if "recursion depth mismatch" not in str(err):
                raise
            try:
                params = str(inspect.signature(f))[1:-1]
            except (TypeError, ValueError):
                params = ""
            return f"lambda {params}: <unknown>" if params else "lambda: <unknown>"

    lambda_sources._lambda_description = guarded


def selftest() -> None:
    """Shows the guard above doing its job: with `ast.parse` raising the
    CPython bug's error, describing a lambda fails without the guard and
    answers "<unknown>" with it."""
    import ast
    from unittest import mock

    from hypothesis.internal.lambda_sources import lambda_description

    bug = SystemError("AST constructor recursion depth mismatch (before=69, after=66)")
    with mock.patch.object(ast, "parse", side_effect=bug):
        try:
            lambda_description(lambda x: x + 1)
        except SystemError:
            pass
        else:
            sys.exit("schema-fuzz: selftest: the simulated bug did not reach hypothesis")
        _guard_lambda_descriptions()
        described = lambda_description(lambda y: y + 2)
    if described != "lambda y: <unknown>":
        sys.exit(f"schema-fuzz: selftest: guarded description is {described!r}")


if __name__ == "__main__":
    if sys.argv[1:] == ["selftest"]:
        selftest()
        sys.exit(0)
    if len(sys.argv) != 5 or sys.argv[1] != "setup":
        sys.exit("usage: schema-fuzz-hooks.py setup URL TOKENS_FILE SPARES | selftest")
    setup(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    sys.exit(0)

import schemathesis  # noqa: E402  (only needed when loaded as hooks)

_guard_lambda_descriptions()

with open(os.environ["SCHEMA_FUZZ_TOKENS"]) as _f:
    _MAIN, *_SPARES = _f.read().split()
_lock = threading.Lock()


def _key(case: schemathesis.Case) -> tuple[str, str]:
    return case.operation.method.upper(), case.operation.path


@schemathesis.auth(refresh_interval=None)
class RelayBearer:
    """The main token everywhere; a fresh spare for each log-out."""

    def get(self, case, ctx):
        if _key(case) != LOGOUT:
            return _MAIN
        with _lock:
            return _SPARES.pop() if _SPARES else "never-issued-" + secrets.token_hex(8)

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if _key(case) != ("GET", "/v1/messages") or not case.query:
        return
    wait = case.query.get("wait")
    if isinstance(wait, str) and wait.isascii() and wait.isdigit():
        wait = int(wait)
    if isinstance(wait, int) and not isinstance(wait, bool) and MAX_FUZZ_WAIT < wait <= 60:
        case.query["wait"] = 0
