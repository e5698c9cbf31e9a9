"""``flask reports session ID …`` and ``flask reports summary …``: the organizer's reports from the command line."""
import click


@click.group()
def reports():
    """Session reports (XLSX, PDF) and the monthly summary (上报)."""
