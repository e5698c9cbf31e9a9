"""The command line: its command groups and the mail outbox command."""
from __future__ import annotations


def test_flask_help_lists_the_command_groups(runner):
    result = runner.invoke(args=["--help"])
    assert result.exit_code == 0, result.output
    commands = result.output.split("Commands:", 1)[1]
    listed = {line.split()[0] for line in commands.splitlines() if line.strip()}
    assert {"companies", "demo", "translations", "mail", "db"} <= listed


def test_mail_send_on_an_empty_outbox_sends_nothing(runner):
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 0" in result.output
