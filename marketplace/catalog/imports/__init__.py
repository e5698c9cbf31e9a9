"""The catalog's spreadsheet import and export: product columns, template and export files, jobs, pages.

``columns`` gives the feature-neutral machinery of ``marketplace.imports`` (reading a table,
checking rows, problems) the catalog's row spec; ``jobs`` runs the upload → preview → commit
path (``services.import_products`` writes); ``files`` writes the template and exports;
``views`` are the pages (blueprint ``catalog_import``).
"""
