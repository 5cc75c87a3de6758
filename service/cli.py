"""The ``markbook`` command line: serve, demo, database, bank, account, watched-folder and
image-retention commands."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from service.config import Settings, get_settings

__all__ = ["build_parser", "main"]


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _fail(text: str, code: int = 1) -> int:
    sys.stderr.write(f"markbook: {text}\n")
    return code


# How long an idle keep-alive connection stays open. Longer than clients keep theirs (httpx
# and requests 5 s, browsers 60 s or more behind a proxy's 60 s): when the server closes
# first, a client that sends on the connection in that instant gets a reset instead of an
# answer (uvicorn's own 5 s met httpx's 5 s in the load drill: a failed read every few
# thousand).
KEEP_ALIVE_S = 75


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import ConfigurationError, check_configured_font, create_app

    settings = get_settings()
    try:  # one clear line for an unusable configured font, not the lifespan's traceback
        check_configured_font(settings)
    except ConfigurationError as exc:
        return _fail(f"bad configuration: {exc}", 2)
    trusted = args.forwarded_allow_ips
    # Client addresses (sign-in limits, audit) come from X-Forwarded-For only when the
    # connection is from a trusted proxy; by default no one is trusted, loopback included.
    options = {"host": args.host, "port": args.port, "log_level": args.log_level,
               "proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None,
               "timeout_keep_alive": KEEP_ALIVE_S}
    if args.processes > 1:
        from service.serving import serve_processes

        try:
            serve_processes(settings, args.processes, **options)
        except OSError as exc:
            return _fail(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}")
        return 0
    uvicorn.run(create_app(settings, settle_heap=True, warm_workers=True), **options)
    return 0


def _worker(args: argparse.Namespace) -> int:
    settings = get_settings()
    if settings.jobs.backend == "celery":
        from service.jobs.celery_backend import run_worker

        _say(f"markbook worker: Celery on {_redact(settings.jobs.broker_url)}")
        run_worker(settings, ["--hostname", args.name] if args.name else None)
        return 0
    from service.jobs.standalone import run_standalone

    _say("markbook worker: the embedded runner (claims jobs from the database)")
    asyncio.run(run_standalone(settings))
    return 0


def _redact(url: str) -> str:
    """A broker URL without its password, for the log."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def _demo(args: argparse.Namespace) -> int:
    from service.accounts_cli import AccountError
    from service.demo.run import DemoError, run_demo, summary_table

    out = Path(args.out)
    try:
        summary = run_demo(out, Path(args.data_dir), _say, _progress_bar)
    except (DemoError, RuntimeError) as exc:
        return _fail(str(exc))
    _say(f"\ndone in {summary['seconds']} s; files in {out.resolve()}/ (worksheets, "
         "scans/, results.json, results*.csv, annotated-class.pdf, annotated/, summary.*)\n")
    _say(summary_table(summary["grading"]))
    try:
        password = _demo_sign_in(Path(args.data_dir), out)
    except AccountError as exc:
        return _fail(f"could not create the demo's sign-in: {exc}")
    _say(f"\nSee the graded class in a browser:\n"
         f"  MARKBOOK_DATA_DIR={args.data_dir} make serve\n"
         f"  open http://127.0.0.1:8000/ and sign in as {DEMO_USERNAME} / {password}\n"
         f"  (also in {out / DEMO_SIGN_IN_FILE}; a new password at every demo run)")
    return 0


DEMO_USERNAME = "demo"
DEMO_SIGN_IN_FILE = "sign-in.txt"


def _demo_sign_in(data_dir: Path, out: Path) -> str:
    """Create the demo's admin (who sees the demo teacher's class) with a fresh random
    password, write it to ``<out>/sign-in.txt`` (mode 0600) and return it."""
    import secrets

    from service.accounts_cli import create_admin

    password = secrets.token_urlsafe(12)
    settings = Settings(data_dir=data_dir, log={"level": "WARNING"})
    asyncio.run(create_admin(settings, DEMO_USERNAME, password, "演示老师"))
    path = out / DEMO_SIGN_IN_FILE
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"MARKBOOK_DATA_DIR={data_dir} make serve\n"
                 f"http://127.0.0.1:8000/\nusername: {DEMO_USERNAME}\npassword: {password}\n")
    return password


def _progress_bar(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stdout.write(f"\r  grading [{'#' * filled}{'.' * (width - filled)}] {done}/{total} pages")
    if done >= total:
        sys.stdout.write("\n")
    sys.stdout.flush()


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


def _mastery_fit(args: argparse.Namespace) -> int:
    from service.inprocess import inprocess_client

    async def run() -> int:
        async with inprocess_client(get_settings()) as api:
            resp = await api.post("/api/v1/mastery:fit")
        if resp.status_code >= 400:
            return _fail(resp.json().get("detail", resp.text))
        body = resp.json()
        kps = body["knowledge_points"]
        fitted = [c for c, r in kps.items() if r["fitted"]]
        _say(f"fitted {len(fitted)} of {len(kps)} knowledge points from {body['answers']} "
             f"answers in {body['seconds']:.2f} s; replayed {body['states_replayed']} states")
        for code, r in kps.items():
            if args.verbose or r["fitted"]:
                params = (f"prior {r['prior']:.2f} learn {r['learn']:.2f} "
                          f"guess {r['guess']:.2f} slip {r['slip']:.2f}")
                _say(f"  {code}: {params if r['fitted'] else 'kept'} ({r['reason']})")
        return 0

    return asyncio.run(run())


def _purge_images(args: argparse.Namespace) -> int:
    from service.db.engine import create_engine, make_session_factory
    from service.db.migrate import upgrade
    from service.privacy.retention import purge_images

    settings = get_settings()
    retention = settings.retention.model_copy(update={
        k: v for k, v in (("page_images_days", args.page_images_days),
                          ("crops_days", args.crops_days)) if v is not None})
    if retention.page_images_days == 0 and retention.crops_days == 0:
        _say("retention is off (MARKBOOK_RETENTION__PAGE_IMAGES_DAYS and __CROPS_DAYS are 0): "
             "only file deletions left queued are retried")
    if settings.db.auto_migrate:
        upgrade(settings.database_url)

    async def run() -> int:
        engine = create_engine(settings.database_url)
        try:
            report = await purge_images(make_session_factory(engine), retention,
                                        settings.data_dir)
        finally:
            await engine.dispose()
        _say(f"removed the scans of {report.scans} uploads and the crops of "
             f"{report.crop_pages} pages; deleted {report.files_deleted} files")
        if report.files_failed:
            return _fail(f"{report.files_failed} files could not be deleted; they stay queued "
                         "(see the log)")
        return 0

    return asyncio.run(run())


def _watch(args: argparse.Namespace) -> int:
    import logging
    import os

    import httpx

    from service.watch.folder import WatchOptions, watch_command

    folder = Path(args.dir)
    if not folder.is_dir():
        return _fail(f"no such folder: {folder}", 2)
    if args.url is not None and not args.url.startswith(("http://", "https://")):
        return _fail(f"--url must start with http:// or https:// (got {args.url!r})", 2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    # One line per file: the HTTP client's and the migrations' chatter stays out.
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.url is None:
        # Embedded: one process; with --once, queued jobs are left to `markbook serve`.
        settings = get_settings(jobs={"run_in_app": False}) if args.once else get_settings()
    else:
        settings = get_settings()
    ws = settings.watch
    options = WatchOptions(settle_s=ws.settle_seconds if args.settle is None else args.settle,
                           retry_max_s=ws.retry_max_seconds)
    poll_s = ws.poll_seconds if args.interval is None else args.interval
    key = args.device_key or os.environ.get("MARKBOOK_DEVICE_KEY")

    async def run() -> int:
        if args.url is None:
            from service.inprocess import inprocess_client  # the whole app: only if embedded

            async with inprocess_client(settings) as client:
                return await watch_command(folder, client, options, once=args.once,
                                           poll_s=poll_s)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx.AsyncClient(base_url=args.url, headers=headers,
                                     timeout=ws.upload_timeout_seconds) as client:
            return await watch_command(folder, client, options, once=args.once,
                                       poll_s=poll_s)

    return asyncio.run(run())


def _read_password_stdin() -> str:
    line = sys.stdin.readline()
    # Only the line ending is dropped: leading or trailing spaces may be part of a password.
    return line[:-1].removesuffix("\r") if line.endswith("\n") else line


def _admin_create(args: argparse.Namespace) -> int:
    from service.accounts_cli import AccountError, create_admin

    if not args.password_stdin:
        return _fail("pass the password on standard input with --password-stdin "
                     "(e.g. `printf '%s' \"$PW\" | markbook admin create --username U "
                     "--password-stdin`)", 2)
    password = _read_password_stdin()
    try:
        teacher_id = asyncio.run(create_admin(get_settings(), args.username, password,
                                              args.display_name))
    except AccountError as exc:
        return _fail(str(exc), exc.exit_code)
    _say(f"created admin '{args.username.strip().lower()}' (id {teacher_id})")
    return 0


_EPILOG = """\
Settings come from MARKBOOK_* environment variables (e.g. MARKBOOK_DATA_DIR, default ./var,
holds the embedded database and stored files; MARKBOOK_DB__URL selects PostgreSQL).
Run `markbook COMMAND --help` for a command's options."""

# uvicorn's log levels.
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the HTTP service (API, web pages and, unless "
                           "configured otherwise, the grading worker)",
                           description="Run the HTTP service on the configured database and "
                           "data folder (MARKBOOK_DATA_DIR, default ./var).")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 "
                       "for every interface (default: %(default)s, this machine only)")
    serve.add_argument("--port", type=int, default=8000,
                       help="TCP port to listen on (default: %(default)s)")
    serve.add_argument("--log-level", default="info", choices=_LOG_LEVELS,
                       help="the web server's log level (default: %(default)s)")
    serve.add_argument("--forwarded-allow-ips",
                       default=os.environ.get("MARKBOOK_FORWARDED_ALLOW_IPS", ""),
                       help="the reverse proxy's address(es), comma-separated: only their "
                       "X-Forwarded-For is believed (default: none, or "
                       "MARKBOOK_FORWARDED_ALLOW_IPS)")
    serve.add_argument("--processes", type=_processes,
                       default=os.environ.get("MARKBOOK_WEB_PROCESSES", "1"),
                       help="web processes answering requests (default: %(default)s, or "
                       "MARKBOOK_WEB_PROCESSES); with more than 1 the job runner runs in a "
                       "process of its own beside them")
    serve.set_defaults(func=_serve)


def _processes(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from 1 to 64")
    return n


def _add_worker(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser(
        "worker", help="read and grade uploaded scans, without serving HTTP",
        description="Run a grading worker on the configured database and data folder. With "
        "MARKBOOK_JOBS__BACKEND=celery it is a Celery worker on MARKBOOK_JOBS__BROKER_URL "
        "(one job at a time, its pages in MARKBOOK_JOBS__WORKERS processes); otherwise it "
        "claims jobs from the database like the one inside `markbook serve` (set "
        "MARKBOOK_JOBS__RUN_IN_APP=false there to leave the work to workers). Stops on "
        "SIGTERM or Ctrl-C; a job cut off is resumed by the next worker.")
    worker.add_argument("--name", help="Celery: this worker's name (default: celery@host)")
    worker.set_defaults(func=_worker)


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="run the demo on a fresh embedded database",
                          description="Print worksheets, fill them in for a simulated class, "
                          "scan and grade them, and write the results and annotated pages.")
    demo.add_argument("--out", default="demo-output", help="folder for the worksheets, scans, "
                      "results and annotated pages (default: %(default)s)")
    demo.add_argument("--data-dir", default="var/demo", help="the demo's own database and "
                      "files; deleted and re-created on each run, so never point it at the "
                      "service's MARKBOOK_DATA_DIR (default: %(default)s)")
    demo.set_defaults(func=_demo)


def _add_db(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database migrations",
                        description="Migrate the configured database (MARKBOOK_DB__URL, or "
                        "the embedded SQLite file in MARKBOOK_DATA_DIR).")
    db.add_argument("action", choices=["upgrade", "downgrade", "head"],
                    help="upgrade: migrate forward to REVISION (default: the newest); "
                    "downgrade: migrate back to REVISION; head: only print the newest "
                    "revision")
    db.add_argument("revision", nargs="?", help="an Alembic revision id, 'head' or 'base' "
                    "(required by downgrade)")
    db.set_defaults(func=_db)


def _add_questions(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    questions = sub.add_parser("questions", help="question bank: import and export",
                               description="Import or export the question bank as "
                               "markbook-questions/1 JSON.")
    qsub = questions.add_subparsers(dest="qcommand", required=True, metavar="COMMAND")
    qimport = qsub.add_parser("import", help="import a markbook-questions/1 JSON file",
                              description="Create or update the questions of a "
                              "markbook-questions/1 JSON file; nothing is stored if any "
                              "question is invalid.")
    qimport.add_argument("file", help="the JSON file (UTF-8)")
    qimport.set_defaults(func=_questions_import)
    qexport = qsub.add_parser("export", help="export the bank as markbook-questions/1 JSON",
                              description="Write the bank (or part of it) as "
                              "markbook-questions/1 JSON, which `questions import` reads back.")
    qexport.add_argument("--out", default="-", help="file to write (default: standard output)")
    qexport.add_argument("--kp", help="only this knowledge point and below")
    qexport.add_argument("--subject", help="only this subject (e.g. math)")
    qexport.set_defaults(func=_questions_export)


def _add_watch(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    watch = sub.add_parser("watch", help="upload scans dropped into a folder (copier "
                           "scan-to-folder, SMB, FTP)",
                           description="Upload every scan that appears in a folder once it "
                           "is completely written; uploaded files move to processed/, rejected "
                           "ones to failed/ with the reason.")
    watch.add_argument("dir", help="the folder copiers write to")
    watch.add_argument("--url", help="a markbook server, e.g. http://host:8000 (default: the "
                       "embedded service in this process)")
    watch.add_argument("--device-key", help="device key sent as a Bearer token (or set "
                       "MARKBOOK_DEVICE_KEY, which keeps it out of the process list)")
    watch.add_argument("--once", action="store_true", help="process what is there and exit: "
                       "0 ok, 1 some files rejected, 75 server unavailable (retry later)")
    watch.add_argument("--interval", type=float, help="seconds between polls (default: "
                       "MARKBOOK_WATCH__POLL_SECONDS, 2)")
    watch.add_argument("--settle", type=float, help="seconds a file must stay unchanged "
                       "(default: MARKBOOK_WATCH__SETTLE_SECONDS, 5)")
    watch.set_defaults(func=_watch)


def _add_mastery(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mastery = sub.add_parser("mastery", help="knowledge-point mastery",
                             description="Maintain the knowledge-point mastery model.")
    msub = mastery.add_subparsers(dest="mcommand", required=True, metavar="COMMAND")
    mfit = msub.add_parser("fit", help="re-estimate each knowledge point's BKT parameters "
                           "from all stored answers (EM) and replay every student's mastery",
                           description="Re-estimate each knowledge point's BKT parameters "
                           "from all stored answers (EM) and replay every student's mastery.")
    mfit.add_argument("--verbose", action="store_true", help="also list points kept as they "
                      "were (too little data)")
    mfit.set_defaults(func=_mastery_fit)


def _days(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("days must be 0 or more")
    return value


def _add_purge(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    purge = sub.add_parser("purge-images", help="delete page images and answer crops past "
                           "their retention (grades and readings stay)",
                           description="Delete the scan files and answer crops of pages graded "
                           "longer ago than the retention settings "
                           "(MARKBOOK_RETENTION__PAGE_IMAGES_DAYS, __CROPS_DAYS; 0 keeps them "
                           "forever), and retry file deletions left queued. Grades, readings "
                           "and page rows stay; the pages then show the image as no longer "
                           "kept. The server does this by itself every hour.")
    purge.add_argument("--page-images-days", type=_days, metavar="DAYS",
                       help="this time only, instead of the setting")
    purge.add_argument("--crops-days", type=_days, metavar="DAYS",
                       help="this time only, instead of the setting")
    purge.set_defaults(func=_purge_images)


def _add_admin(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin = sub.add_parser("admin", help="accounts", description="Manage accounts without "
                           "the web interface.")
    asub = admin.add_subparsers(dest="acommand", required=True, metavar="COMMAND")
    acreate = asub.add_parser("create", help="create a school admin (e.g. the first account)",
                              description="Create a school admin (e.g. the first account). "
                              "The password is read from standard input, never from the "
                              "command line.")
    acreate.add_argument("--username", required=True, help="the login name (stored in lower "
                         "case)")
    acreate.add_argument("--display-name", help="shown in the UI (default: the username)")
    acreate.add_argument("--password-stdin", action="store_true",
                         help="read the password from the first line of standard input")
    acreate.set_defaults(func=_admin_create)


def build_parser() -> argparse.ArgumentParser:
    """The ``markbook`` argument parser, every command and option with its help text."""
    parser = argparse.ArgumentParser(prog="markbook", description=__doc__, epilog=_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_serve, _add_worker, _add_demo, _add_db, _add_questions, _add_watch, _add_mastery,
                _add_purge, _add_admin):
        add(sub)
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
