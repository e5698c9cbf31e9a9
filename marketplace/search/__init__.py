"""Search: the change log and drain that feed ``search_index``, the search pages and commands.

Owns: ``models`` (index_changes, index_replicas), ``sync`` (the database ↔ index bridge),
``services`` (the one search path of pages and CLI), ``views`` and ``cli``.
"""
