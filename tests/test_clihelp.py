"""Help texts read cleanly at 80 columns: no type labels (`<bool>`, `<list[Path]>`, `{paths}...`), nothing cut
short, defaults visible, and `scan --help` says what the verdicts and exit codes mean and where the reliability
figures come from. Every command of the CLI is checked, extras included."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from mimica.cli import app


def commands() -> list[list[str]]:
    """Every command path of the CLI, groups included (["scan"], ["keys", "init"], ...)."""
    import click

    root = typer.main.get_command(app)
    found: list[list[str]] = [[]]

    def walk(cmd: click.Command, prefix: list[str]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            found.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(root, [])
    return found


def help_of(path: list[str]) -> str:
    res = CliRunner().invoke(app, [*path, "--help"], terminal_width=80)
    assert res.exit_code == 0, res.output
    return res.stdout


@pytest.mark.parametrize("path", commands(), ids=lambda p: " ".join(p) or "mimica")
def test_help_is_plain_and_fits_80_columns(path: list[str]) -> None:
    text = help_of(path)
    too_long = [line for line in text.splitlines() if len(line) > 80]
    assert not too_long, too_long
    assert not re.search(r"<(bool|int|float|str|path|list|int range|float range)[^>]*>", text), text
    assert "{" not in text.split("\n", 1)[0], text  # the usage line names its arguments plainly
    assert "…" not in text and "╭" not in text  # nothing cut short, no boxes
    for line in text.splitlines():  # each option with a value names it in capitals or by its choices
        m = re.match(r"^\s+(-\w, )?(--[\w-]+) (\S+)", line)
        if m and not m.group(3).startswith("/"):
            assert re.fullmatch(r"[A-Z_]+|\[[\w|-]+\]", m.group(3)), line


def test_defaults_are_shown_in_full() -> None:
    text = " ".join(help_of(["serve"]).split())
    assert "~/.local/share/mimica/web" in text and "[default: 8000;" in text
    assert "[default: 32; x>=1]" in " ".join(help_of(["scan"]).split())


def test_scan_help_explains_verdicts_exit_codes_and_reliability() -> None:
    text = " ".join(help_of(["scan"]).split())
    assert text.startswith("Usage: ") and "scan [OPTIONS] PATH..." in text
    for words in ("fake", "real", "uncertain", "no face", '"leans fake"', "under 0.8", "watermark",
                  "video AUC with its 95% interval", "model card", "Exit codes: 0", "1 nothing could be scanned",
                  "2 wrong usage", "--report OUT", "index.html"):
        assert words in text, words


def test_command_list_is_not_cut_short() -> None:
    """`mimica --help` shows each command's short help whole: click cuts a description that does not fit the
    80 columns beside the command names with "...", mid-sentence."""
    text = help_of([])
    listed = text.split("Commands:", 1)[1].strip().splitlines()
    assert len(listed) == len(commands()) - 1 - len([p for p in commands() if len(p) > 1])
    for line in listed:
        assert len(line) <= 80 and not line.rstrip().endswith("..."), line
        assert line.rstrip().endswith((".", "`")) or line.split()[-1][-1].isalnum(), line


def test_version() -> None:
    from mimica import __version__

    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout == f"mimica {__version__}\n"
    assert "--version" in help_of([])


def test_batch_help_gives_the_exit_codes() -> None:
    text = " ".join(help_of(["batch"]).split())
    for words in ("Exit codes: 0", "1 every file failed", "2 wrong usage", "130 interrupted"):
        assert words in text, words
