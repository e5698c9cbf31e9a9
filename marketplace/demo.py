"""``flask demo …`` (placeholder group; the demo-data work fills it)."""
import click


@click.group()
def demo():
    """Deterministic demo data."""
