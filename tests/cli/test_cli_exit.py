"""A command that ends with click's `Exit(n)` (as `doctor` does on drift) exits n."""

from __future__ import annotations

import click

from custodian import cli as cli_package


def test_an_exit_code_from_a_command_is_the_process_exit_code(monkeypatch) -> None:
    @click.command("exit-three")
    def exit_three() -> None:
        raise click.exceptions.Exit(3)

    monkeypatch.setitem(cli_package.cli.commands, "exit-three", exit_three)
    assert cli_package.main(["exit-three"]) == 3
    assert cli_package.main(["--help"]) == 0
