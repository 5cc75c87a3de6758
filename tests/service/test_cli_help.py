"""Every ``markbook`` command and option explains itself in ``--help``."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import build_parser, main
from tests.support.samples import ROOT

COMMANDS = [
    (),
    ("serve",),
    ("worker",),
    ("demo",),
    ("db",),
    ("questions",),
    ("questions", "import"),
    ("questions", "export"),
    ("watch",),
    ("mastery",),
    ("mastery", "fit"),
    ("purge-images",),
    ("admin",),
    ("admin", "create"),
]


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _parser_for(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        sub = _subparsers(parser)
        assert sub is not None, f"{path}: no subcommands"
        parser = sub.choices[name]
    return parser


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    sub = _subparsers(parser)
    if sub is not None:
        for name, child in sub.choices.items():
            out += _walk(child, (*path, name))
    return out


def _help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_the_listed_commands_are_all_the_commands() -> None:
    assert sorted(_walk(build_parser())) == sorted(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "markbook")
def test_help_names_and_explains_every_option(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    text = " ".join(_help(path, capsys).split())
    parser = _parser_for(path)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, f"{path} {choice.dest}: no help"
                assert choice.dest in text
            continue
        name = action.option_strings[-1] if action.option_strings else (
            action.metavar or action.dest)
        assert isinstance(name, str)
        assert action.help, f"{path} {name}: no help"
        assert action.help != argparse.SUPPRESS, f"{path} {name}: help suppressed"
        # argparse shows a positional with choices as {a,b,c} instead of its name.
        shown = (["{" + ",".join(action.choices) + "}"]
                 if not action.option_strings and action.choices and not action.metavar
                 else [name])
        for word in shown:
            assert word in text, f"{path}: {word} missing from --help"
        # The help text itself is shown (first words; argparse re-wraps the rest).
        first = " ".join(action.help.split()[:3]).replace("%(default)s", "")
        assert first.split("(")[0].strip() in text


def test_markbook_help_runs_as_a_program() -> None:
    r = subprocess.run([sys.executable, "-m", "service.cli", "--help"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for command in ("serve", "demo", "db", "questions", "watch", "mastery", "admin"):
        assert command in r.stdout


def test_serve_believes_forwarded_addresses_only_from_the_named_proxy(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    monkeypatch.setenv("MARKBOOK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MARKBOOK_FORWARDED_ALLOW_IPS", raising=False)
    assert main(["serve"]) == 0
    assert calls[-1]["proxy_headers"] is False  # not even loopback by default
    assert main(["serve", "--forwarded-allow-ips", "10.0.0.5"]) == 0
    assert calls[-1]["proxy_headers"] is True
    assert calls[-1]["forwarded_allow_ips"] == "10.0.0.5"
