"""``flask companies …`` (placeholder group; the companies work fills it)."""
import click


@click.group()
def companies():
    """Companies on the platform."""
