"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi``."""
from marketplace import create_app, freeze_startup_objects

app = create_app()
freeze_startup_objects()  # each worker imports this module: its start-up objects leave the GC's full walks
