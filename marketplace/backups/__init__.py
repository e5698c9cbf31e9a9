"""Backups: ``flask backup create [-o DIR]`` and ``flask backup restore DIR [--yes]``.

``services`` writes and checks a backup directory (the database — SQLite through its online backup API,
PostgreSQL through ``pg_dump --format=custom`` of the app's schema — the uploads, and ``manifest.json``
with row counts and checksums) and restores one (verify everything first, replace the database and the
uploads, ``db upgrade`` when the backup is older, rebuild the search indexes and the matches, compare
the row counts). ``cli`` is the command group. An operations tool like ``demo``: no blueprint, no model.
"""
