"""Fuzz every operation of the OpenAPI schema: no request may be answered with a 5xx.

Each request picks an operation, fills its path and query parameters and its body from the
schema, then often spoils one value (a huge or negative number, a NUL or a 10,000-character
string, a wrong type, a missing field, an extra field, random bytes), as a careless client
or an attacker would. Requests go through the real app in process (its database, its
lifespan), signed in as an admin or, for a share of them, anonymous.

    .venv/bin/python -m drills.api_fuzz --requests 10000        # the drill
    (tests/service/test_api_fuzz.py runs a short form in ``make test``)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = ["FuzzReport", "fuzz_app"]

# Streams that stay open while a job runs: not a request/response operation.
SKIP = {("GET", "/api/v1/jobs/{job_id}/events")}
NASTY_STRINGS = ["", " ", "\x00", "a\x00b", "x" * 10_000, "😀" * 50, "../../etc/passwd",
                 "<script>alert(1)</script>", "' OR 1=1 --", "%00", "\u202e", "null", "1e309"]
NASTY_NUMBERS: list[Any] = [0, -1, 2**31, 2**63, -(2**63) - 1, 10**40, 1.5, float("1e308"),
                            "12", None, True]


@dataclass
class FuzzReport:
    """What the drill saw: status counts, and every 5xx with its request."""

    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 20:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"].get(name, {})
        seen += 1
    return schema


def _value(schema: dict[str, Any], spec: dict[str, Any], rng: random.Random, depth: int = 0,
           ids: list[int] | None = None) -> Any:
    schema = _resolve(schema, spec)
    if depth > 4:
        return None
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return _value(rng.choice(schema[key]), spec, rng, depth + 1, ids)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        return rng.choice(ids or [1]) if rng.random() < 0.6 else rng.randint(-5, 50)
    if kind == "number":
        return round(rng.uniform(-10, 100), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "string":
        return rng.choice(["张伟", "001", "A", "3/4", "math.add", "2026-12-05", "x" * 8])
    if kind == "array":
        return [_value(schema.get("items", {}), spec, rng, depth + 1, ids)
                for _ in range(rng.randint(0, 3))]
    if kind == "object" or "properties" in schema:
        return {name: _value(sub, spec, rng, depth + 1, ids)
                for name, sub in schema.get("properties", {}).items()
                if name in schema.get("required", []) or rng.random() < 0.5}
    return rng.choice([1, "x", None, [], {}])


def _spoil(value: Any, rng: random.Random) -> Any:
    """One careless or hostile change somewhere in ``value``."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(list(value))
        roll = rng.random()
        if roll < 0.2:
            value.pop(key)
        elif roll < 0.3:
            value["unexpected_field"] = rng.choice(NASTY_STRINGS)
        else:
            value[key] = _spoil(value[key], rng)
        return value
    if isinstance(value, list) and value and rng.random() < 0.7:
        i = rng.randrange(len(value))
        value[i] = _spoil(value[i], rng)
        return value
    return rng.choice(NASTY_STRINGS + NASTY_NUMBERS + [[], {}, [None] * 3])


def _path_value(rng: random.Random, ids: list[int]) -> str:
    if rng.random() < 0.6:
        return str(rng.choice(ids))
    return str(rng.choice([0, -1, 2**31, 2**63, 10**30, "abc", "1e3", "%20", "1.5", "９"]))


def _request(method: str, path: str, op: dict[str, Any], spec: dict[str, Any],
             rng: random.Random, ids: list[int]) -> tuple[str, dict[str, Any]]:
    url = path
    params: dict[str, Any] = {}
    for p in op.get("parameters", []):
        p = _resolve(p, spec)
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", _path_value(rng, ids))
        elif p["in"] == "query" and (p.get("required") or rng.random() < 0.5):
            v = _value(p.get("schema", {}), spec, rng, ids=ids)
            if rng.random() < 0.3:
                v = _spoil(v, rng)
            params[p["name"]] = json.dumps(v) if isinstance(v, dict | list) else v
    kwargs: dict[str, Any] = {"params": {k: v for k, v in params.items() if v is not None}}
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = _value(content["application/json"].get("schema", {}), spec, rng, ids=ids)
        if rng.random() < 0.7:
            body = _spoil(body, rng)
        if rng.random() < 0.05:
            kwargs["content"] = rng.choice([b"{", b"\xff\xfe", b"[" * 5000, b"null"])
            kwargs["headers"] = {"content-type": "application/json"}
        else:
            kwargs["content"] = json.dumps(body, allow_nan=True).encode()
            kwargs["headers"] = {"content-type": "application/json"}
    elif "application/x-www-form-urlencoded" in content:
        fields = _value(content["application/x-www-form-urlencoded"].get("schema", {}),
                        spec, rng, ids=ids)
        if isinstance(fields, dict):
            kwargs["data"] = {k: str(_spoil(v, rng) if rng.random() < 0.4 else v)
                              for k, v in fields.items()}
    elif content or method in ("POST", "PUT"):
        kinds = ["application/pdf", "image/png", "image/tiff", "text/csv",
                 "multipart/form-data; boundary=x", "application/octet-stream"]
        kwargs["content"] = rng.randbytes(rng.randint(0, 2048))
        kwargs["headers"] = {"content-type": rng.choice(kinds)}
    return url, kwargs


async def fuzz_app(app: Any, client_for: Callable[[dict[str, str]], Any],
                   auth: dict[str, str], requests: int, seed: int,
                   ids: list[int] | None = None) -> FuzzReport:
    """Send ``requests`` fuzzed requests to ``app`` (a started FastAPI app).

    Args:
        app: the app.
        client_for: makes an httpx client for the app with these headers.
        auth: an admin's headers.
        requests: how many.
        seed: the randomness.
        ids: ids that exist (a class, a worksheet...), used for most path ids.
    """
    spec = app.openapi()
    ops = [(m.upper(), p, o) for p, item in spec["paths"].items() for m, o in item.items()
           if m in ("get", "post", "put", "patch", "delete") and (m.upper(), p) not in SKIP]
    rng = random.Random(seed)
    report = FuzzReport()
    known = ids or [1, 2, 3]
    async with client_for(auth) as signed, client_for({}) as anonymous:
        for _ in range(requests):
            method, path, op = rng.choice(ops)
            url, kwargs = _request(method, path, op, spec, rng, known)
            client = anonymous if rng.random() < 0.1 else signed
            try:
                r = await client.request(method, url, **kwargs)
                status = r.status_code
                text = r.text[:200] if status >= 500 else ""
            except Exception as exc:  # the app raised through the transport
                status, text = 599, f"{type(exc).__name__}: {exc}"[:200]
            report.statuses[status] += 1
            if status >= 500:
                shown = {k: (v if k != "content" else f"<{len(v)} bytes>")
                         for k, v in kwargs.items()}
                report.errors.append(f"{method} {url} {shown} -> {status} {text}")
    return report


async def _main(requests: int, seed: int, db_url: str | None) -> int:
    from service.app import create_app
    from service.config import Settings
    from service.inprocess import local_token

    with tempfile.TemporaryDirectory() as tmp:
        extra: dict[str, Any] = {"db": {"url": db_url}} if db_url else {}
        settings = Settings(data_dir=Path(tmp), jobs={"executor": "thread", "workers": 1},
                            **extra)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            token = await local_token(app)

            def client_for(headers: dict[str, str]) -> httpx.AsyncClient:
                transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
                return httpx.AsyncClient(transport=transport,
                                         base_url="http://fuzz", headers=headers,
                                         timeout=60)

            report = await fuzz_app(app, client_for, {"Authorization": f"Bearer {token}"},
                                    requests, seed)
    sys.stdout.write(f"{report.requests} requests: "
                     f"{dict(sorted(report.statuses.items()))}\n")
    for line in report.errors[:50]:
        sys.stdout.write(f"  5xx: {line}\n")
    return 1 if report.errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db-url", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    args = parser.parse_args(argv)
    return asyncio.run(_main(args.requests, args.seed, args.db_url))


if __name__ == "__main__":
    sys.exit(main())
