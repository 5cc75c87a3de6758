"""The ``markbook`` command line: serve, demo, database and bank commands."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from service.config import get_settings

__all__ = ["main"]


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _fail(text: str, code: int = 1) -> int:
    sys.stderr.write(f"markbook: {text}\n")
    return code


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app

    uvicorn.run(create_app(get_settings()), host=args.host, port=args.port,
                log_level=args.log_level)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from service.demo import DemoError, run_demo

    out = Path(args.out)
    try:
        summary = run_demo(out, Path(args.data_dir), _say)
    except DemoError as exc:
        return _fail(str(exc))
    _say(f"\ndone in {summary['seconds']} s; files in {out.resolve()}/:")
    for name in summary["files"]:
        _say(f"  {name}")
    return 0


def _db(args: argparse.Namespace) -> int:
    from service.db import migrate

    url = get_settings().database_url
    if args.action == "upgrade":
        migrate.upgrade(url, args.revision or "head")
    elif args.action == "downgrade":
        if not args.revision:
            return _fail("downgrade needs a revision (e.g. 'base')", 2)
        migrate.downgrade(url, args.revision)
    _say(f"database at {url}: head revision is {migrate.head_revision()}")
    return 0


def _questions_import(args: argparse.Namespace) -> int:
    from service.inprocess import inprocess_client

    path = Path(args.file)
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return _fail(f"no such file: {path}", 2)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _fail(f"{path} is not UTF-8 JSON: {exc}", 2)

    async def run() -> int:
        async with inprocess_client(get_settings()) as api:
            resp = await api.post("/api/v1/questions:import", json=document)
        body = resp.json()
        if resp.status_code >= 400:
            for problem in body.get("errors", [])[:50]:
                sys.stderr.write(f"  {problem}\n")
            return _fail(body.get("detail", resp.text))
        _say(f"created {body['created']}, updated {body['updated']}, "
             f"unchanged {body['unchanged']} questions")
        return 0

    return asyncio.run(run())


def _questions_export(args: argparse.Namespace) -> int:
    from service.inprocess import inprocess_client

    async def run() -> bytes:
        async with inprocess_client(get_settings()) as api:
            params = {k: v for k, v in (("kp", args.kp), ("subject", args.subject)) if v}
            resp = await api.get("/api/v1/questions:export", params=params)
            resp.raise_for_status()
            return resp.content

    document = json.loads(asyncio.run(run()))
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        _say(f"wrote {len(document['questions'])} questions to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="markbook", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=_serve)
    demo = sub.add_parser("demo", help="run the demo on a fresh embedded database")
    demo.add_argument("--out", default="demo-output")
    demo.add_argument("--data-dir", default="var/demo")
    demo.set_defaults(func=_demo)
    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "head"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(func=_db)
    questions = sub.add_parser("questions", help="question bank")
    qsub = questions.add_subparsers(dest="qcommand", required=True)
    qimport = qsub.add_parser("import", help="import a markbook-questions/1 JSON file")
    qimport.add_argument("file")
    qimport.set_defaults(func=_questions_import)
    qexport = qsub.add_parser("export", help="export the bank as markbook-questions/1 JSON")
    qexport.add_argument("--out", default="-", help="file to write (default: standard output)")
    qexport.add_argument("--kp", help="only this knowledge point and below")
    qexport.add_argument("--subject")
    qexport.set_defaults(func=_questions_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``markbook`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the CLI reports, never dumps a traceback on bad input
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            return _fail(f"bad configuration: {exc}", 2)
        raise


if __name__ == "__main__":
    raise SystemExit(main())
