"""The forms every kind of import page shares: the upload and the cancellation of a previewed file.

Shape only (a file was chosen; the CSRF token): the content is checked by ``jobs``. Each kind
keeps its own confirmation form, whose "publish" box names what it publishes.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from marketplace.i18n import _l


class ImportUploadForm(FlaskForm):
    """The spreadsheet to import (its content is checked by the service, not its name alone)."""

    file = FileField(_l("Spreadsheet (.xlsx or .csv)"),
                     validators=[FileRequired(_l("Choose a spreadsheet to upload."))])


class ImportCancelForm(FlaskForm):
    """Drop the previewed import."""
