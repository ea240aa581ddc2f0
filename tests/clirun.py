"""The CLI run in-process as a user runs it: exit code, stdout and stderr, a crash raised as itself."""

from __future__ import annotations

from typer.testing import CliRunner

from sensorium.cli import app

runner = CliRunner()


def cli(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
