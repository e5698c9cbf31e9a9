"""Spreadsheet imports of any kind: reading an uploaded table, checking its rows, problems, stored uploads, jobs.

The catalog's products (``marketplace/catalog/imports/``) and procurement requests' demand lists
(``marketplace/sourcing/imports.py``) are the kinds. A kind plugs in with a ``jobs.ImportKind``
registered by its own package:

- a ``columns.RowSpec``: its columns (headers in Chinese and English and their aliases), a
  parser per column (``cells`` has the shared ones) and ``build(context)``, which turns a row's
  values into the kind's input shape; ``columns.validate_rows(table, spec)`` checks every row;
- who may import (``check_actor``), the plan of what a file would write (``plan``) and the
  commit service (``catalog.services.import_products``, ``sourcing.imports.import_requests``),
  which writes the valid rows in one transaction.

Around them: ``table.read_table`` (bytes → ``Table``, refusing dangerous files before parsing),
``problems`` (``Problem``, the per-file cap, the downloadable report), ``uploads`` (the stored
file and the checked rows between preview and commit), ``models.ImportJob`` (one upload, its
``kind``) and ``jobs`` (the one upload → preview → commit path with progress, for pages and
commands); ``forms`` and ``templates/imports/`` serve every kind's pages. ``table``, ``cells``,
``columns``, ``problems`` and ``uploads`` touch no database; nothing here imports a feature package.
"""
