"""README.md stays true to the CLI: every `tfedge ...` line in its code blocks parses with the real
argument parser, and the walkthrough shows the command lines scripts/walkthrough.py measured."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from tfedge.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# `tfedge` as a command: at the start of a line, after a venv's bin/, or after sudo
COMMAND = re.compile(r"^(?:sudo\s+)?(?:\S*/)?tfedge\s+(.*)$")


def code_block_commands(text: str) -> list[str]:
    """The argument strings of `tfedge` command lines in ```sh code blocks (the others show
    output), continuations joined."""
    commands, in_block, in_shell, pending = [], False, False, ""
    for line in text.splitlines():
        if line.startswith("```"):
            in_block, pending = not in_block, ""
            in_shell = in_block and line.strip() in ("```sh", "```bash", "```shell")
            continue
        if not in_shell:
            continue
        line = pending + line.strip()
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        line = re.sub(r"\s+#.*$", "", line)  # a shell comment after the command
        for part in re.split(r"\s+(?:&&|\|\|?|;)\s+", line):
            match = COMMAND.match(part.strip())
            if match:
                commands.append(match.group(1))
    return commands


def inline_commands(text: str) -> list[str]:
    """The argument strings of `tfedge ...` code spans outside code blocks that are whole command
    lines (a subcommand, options and a value), not mentions (`tfedge run`) or synopses (`[--x]`)."""
    text = " ".join(re.sub(r"^```.*?^```", "", text, flags=re.M | re.S).split())
    commands = []
    for span in re.findall(r"`([^`]+)`", text):
        match = COMMAND.match(span)
        if not match or re.search(r"[|\[…]|\.\.\.", span):
            continue
        tokens = shlex.split(match.group(1))[1:]
        if any(t.startswith("--") for t in tokens) and any(not t.startswith("--") for t in tokens):
            commands.append(match.group(1))
    return commands


README_COMMANDS = code_block_commands(README.read_text())


def test_readme_has_commands_to_check():
    assert len(README_COMMANDS) >= 8, README_COMMANDS  # the walkthrough alone has more


@pytest.mark.parametrize("arguments", README_COMMANDS + inline_commands(README.read_text()))
def test_readme_command_parses(arguments, capsys):
    try:
        build_parser().parse_args(shlex.split(arguments))
    except SystemExit as exit_:
        pytest.fail(f"`tfedge {arguments}` does not parse (exit {exit_.code}): "
                    f"{capsys.readouterr().err.strip().splitlines()[-1]}")


def test_walkthrough_commands_are_the_ones_measured():
    spec = importlib.util.spec_from_file_location("walkthrough", ROOT / "scripts" / "walkthrough.py")
    walkthrough = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(walkthrough)
    shown = {"tfedge " + arguments for arguments in README_COMMANDS}
    for command in (walkthrough.TRAIN, walkthrough.CONVERT, walkthrough.TRAIN_MOBILENET_AS_DOCUMENTED):
        assert command in shown, f"README.md's walkthrough does not show `{command}`"
    # the camera's stand-in is named in the text, where the figures' sources are told
    assert walkthrough.RUN in " ".join(README.read_text().split())


def test_wheel_named_in_readme_is_the_one_pip_builds():
    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    named = set(re.findall(r"tfedge-([\w.]+)-py3-none-any\.whl", README.read_text()))
    assert named == {version}, f"README names wheels {named}; pyproject.toml's version is {version}"


def test_readme_links_within_the_page_resolve():
    text = README.read_text()
    headings = re.findall(r"^#{2,3} (.+)$", re.sub(r"^```.*?^```", "", text, flags=re.M | re.S), re.M)
    anchors = {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}
    for link in re.findall(r"\]\(#([^)]+)\)", text):
        assert link in anchors, f"README.md links to #{link}, which no heading makes"


def test_the_checker_catches_a_wrong_option():
    page = "```\ntfedge run: output\n```\n```sh\n~/venv/bin/tfedge run m.tflite \\\n    --no-such-flag\n```\n"
    (arguments,) = code_block_commands(page)
    assert arguments == "run m.tflite --no-such-flag"
    with pytest.raises(SystemExit):
        build_parser().parse_args(shlex.split(arguments))
