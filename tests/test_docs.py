"""The README's examples are the KB's real output, and every command is documented."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from diplokb.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_console_examples_match_real_output():
    blocks = re.findall(r"```console\n\$ diplokb (.*?)\n(.*?)```", README, re.S)
    assert len(blocks) >= 3
    runner = CliRunner()
    for command, expected in blocks:
        result = runner.invoke(main, shlex.split(command))
        assert result.exit_code == 0, command
        assert result.stdout.replace("\r\n", "\n") == expected, command


def test_readme_documents_every_command_and_the_two_make_targets():
    for name in main.commands:
        assert f"diplokb {name}" in README, name
    assert "make run" in README and "make test" in README
