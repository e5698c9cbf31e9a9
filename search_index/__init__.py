"""The search engine: Whoosh and Chinese analysis. Imports nothing of Flask or ``marketplace``."""
