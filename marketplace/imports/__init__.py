"""Spreadsheet imports of any kind: reading an uploaded table, checking its rows, problems, stored uploads.

The catalog's product import is the first kind; procurement requests ("demand lists") are next.
A kind plugs in with two things:

- a ``columns.RowSpec``: its columns (headers in Chinese and English and their aliases), a
  parser per column (``cells`` has the shared ones) and ``build(context)``, which turns a row's
  values into the kind's input shape; ``columns.validate_rows(table, spec)`` checks every row;
- a commit service in the kind's own package (``catalog.services.import_products``), which
  writes the valid rows in one transaction.

Around them: ``table.read_table`` (bytes → ``Table``, refusing dangerous files before parsing),
``problems`` (``Problem``, the per-file cap, the downloadable report) and ``uploads`` (the stored
file and the checked rows between preview and commit). See ``marketplace/catalog/imports/`` for
the catalog's spec, its job and pages. Nothing here imports a feature package or the database.
"""
