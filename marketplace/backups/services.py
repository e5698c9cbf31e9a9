"""Creating, checking and restoring backups.

Owns: the layout of a backup directory and its manifest.

```
<backup>/
  manifest.json        format, created_at (UTC), app version, alembic revision, database kind,
                       rows of every table, sha256 and size of the dump and of every upload, totals
  database.sqlite3     SQLite: a copy made with the online backup API (journal mode DELETE), or
  database.pgdump      PostgreSQL: ``pg_dump --format=custom`` of the app's schema
  uploads/             UPLOAD_DIR as it was, file for file
```

A backup is written into a hidden sibling directory and renamed into place only once the manifest is
written, so a directory with a manifest is a whole backup; anything that fails removes the partial one.
The database is read first (SQLite: one backup step, a consistent snapshot; PostgreSQL: the counts and
``pg_dump`` share one exported snapshot), then the uploads: every file the dumped rows name is there
unless it was deleted meanwhile.

A restore checks the manifest and every checksum before it changes anything, refuses a backup made by
newer code (an alembic revision this code does not know), then replaces the database and the uploads,
runs ``db upgrade`` when the backup is older, compares the row counts with the manifest, and rebuilds
what is derived from the database (the search indexes, then the matches) as ``flask index rebuild`` does.
Run it with the web workers and the index worker stopped.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from flask import current_app

from marketplace.database import reading_only
from marketplace.extensions import db

FORMAT = "rongtong-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
UPLOADS = "uploads"
_CHUNK = 1024 * 1024
#: pg_restore --list lines of the schema itself (and its comment): the schema is kept, not re-created
_SCHEMA_ENTRY = re.compile(r"^\s*\d+;\s+\d+\s+\d+\s+(SCHEMA|COMMENT - SCHEMA|ACL - SCHEMA)\s")

Echo = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore refused or failed; the message says why (and what, if anything, changed)."""


def _quiet(_message: str) -> None:
    pass


# ----------------------------------------------------------------------------- small helpers


def utc_stamp(moment: datetime | None = None) -> str:
    """``20250601T083000Z``: the default backup directory name."""
    return (moment or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def default_output_dir(app=None) -> Path:
    """``<INSTANCE_DIR>/backups/<UTC timestamp>``."""
    app = app or current_app
    return Path(app.config["INSTANCE_DIR"]) / "backups" / utc_stamp()


def app_version() -> str:
    """The installed distribution's version (``setup.py``), or ``unknown``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rongtong")
    except PackageNotFoundError:
        return "unknown"


def database_kind() -> str:
    """``sqlite`` or ``postgresql`` (refusing anything else)."""
    name = db.engine.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def _sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _copy_hashing(source: Path, target: Path) -> tuple[str, int]:
    """Copy a file (contents and times), hashing what is written; the copy is flushed to disk."""
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as reader, open(target, "xb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    shutil.copystat(source, target, follow_symlinks=False)
    return digest.hexdigest(), size


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _walk_files(root: Path) -> list[PurePosixPath]:
    """Every regular file under ``root`` (relative, sorted); symbolic links are not followed."""
    found = []
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in files:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                found.append(PurePosixPath(path.relative_to(root).as_posix()))
    return sorted(found)


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _os_error(action: str, error: OSError) -> BackupError:
    where = f" ({error.filename})" if error.filename else ""
    return BackupError(f"{action} failed: {error.strerror or error}{where}")


# ----------------------------------------------------------------------------- the database: SQLite


def sqlite_path() -> Path:
    """The app's SQLite database file (refusing an in-memory database)."""
    name = db.engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError("the SQLite database must be a file to back it up or restore it")
    return Path(name)


def _sqlite_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [row[0] for row in rows]


def _sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    # table names from sqlite_master, quoted as identifiers
    return {name: connection.execute(f'SELECT count(*) FROM "{name.replace(chr(34), chr(34) * 2)}"')  # noqa: S608
            .fetchone()[0] for name in _sqlite_tables(connection)}


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    if "alembic_version" not in _sqlite_tables(connection):
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def _dump_sqlite(target: Path) -> tuple[dict[str, int], str | None]:
    """Copy the live database into ``target`` in one backup step (a consistent snapshot, writers keep going)."""
    source_path = sqlite_path()
    if not source_path.is_file():
        raise BackupError(f"the database file {source_path} does not exist")
    timeout = current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", 15000) / 1000
    try:
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=timeout)
        try:
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                copy.commit()
            finally:
                copy.close()
        finally:
            source.close()
        check = sqlite3.connect(f"file:{target}?mode=ro&immutable=1", uri=True)
        try:
            counts = _sqlite_counts(check)
            revision = _sqlite_revision(check)
        finally:
            check.close()
    except sqlite3.Error as error:
        if isinstance(error, sqlite3.OperationalError) and "disk" in str(error).lower():
            raise BackupError(f"writing {target} failed: {error}") from error
        raise BackupError(f"copying the SQLite database failed: {error}") from error
    return counts, revision


def _restore_sqlite(dump: Path) -> None:
    """Write the backup's pages over the app's database file through the backup API (one transaction)."""
    target = sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    timeout = current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", 15000) / 1000
    try:
        source = sqlite3.connect(f"file:{dump}?mode=ro&immutable=1", uri=True)
        try:
            destination = sqlite3.connect(target, timeout=timeout)
            try:
                source.backup(destination)
            finally:
                destination.close()
        finally:
            source.close()
    except sqlite3.Error as error:
        raise BackupError(f"writing the database {target} failed: {error} (is the app still running? stop it "
                          "first); the database was not changed") from error


# ----------------------------------------------------------------------------- the database: PostgreSQL


def find_binary(setting: str, default: str) -> str:
    """The pg_dump / pg_restore to run: the setting (a path or a name on PATH), else ``default`` on PATH."""
    configured = (current_app.config.get(setting) or "").strip()
    name = configured or default
    if os.sep in name:
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return name
        raise BackupError(f"{default} not found at {name} (the {setting} setting): install the PostgreSQL client "
                          f"programs (postgresql-client) or set {setting} to the {default} binary")
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found on PATH: install the PostgreSQL client programs (postgresql-client, the "
                          f"same major version as the server or newer) or set {setting} to the {default} binary")
    return found


def _libpq(url: sa.engine.URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for the app's database (no password in it) and the environment to run with."""
    plain = sa.engine.URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                                 database=url.database, query=url.query)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return plain.render_as_string(hide_password=False), env


def _quote_pattern(schema: str) -> str:
    """A pg_dump ``--schema`` pattern naming exactly ``schema`` (no wildcards)."""
    return '"' + schema.replace('"', '""') + '"'


def _run(command: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except OSError as error:
        raise BackupError(f"cannot run {command[0]}: {error.strerror or error}") from error
    if result.returncode != 0:
        lines = [line for line in (result.stderr or "").strip().splitlines() if line.strip()]
        detail = "\n".join(lines[-8:]) or f"exit status {result.returncode}"
        raise BackupError(f"{what} failed:\n{detail}")
    return result


def _pg_schema(connection) -> str:
    return connection.scalar(sa.text("SELECT current_schema()"))


def _pg_tables(connection, schema: str) -> list[str]:
    return list(connection.scalars(sa.text(
        "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = :schema ORDER BY tablename"),
        {"schema": schema}))


def _pg_counts(connection, schema: str) -> dict[str, int]:
    quote = connection.dialect.identifier_preparer.quote_identifier
    # names from the catalog, quoted as identifiers
    return {name: connection.scalar(sa.text(f"SELECT count(*) FROM {quote(schema)}.{quote(name)}"))  # noqa: S608
            for name in _pg_tables(connection, schema)}


def _pg_revision(connection, schema: str) -> str | None:
    if "alembic_version" not in _pg_tables(connection, schema):
        return None
    quote = connection.dialect.identifier_preparer.quote_identifier
    return connection.scalar(sa.text(f"SELECT version_num FROM {quote(schema)}.alembic_version LIMIT 1"))  # noqa: S608


def _dump_postgresql(target: Path, echo: Echo) -> tuple[dict[str, int], str | None, str]:
    """``pg_dump --format=custom`` of the app's schema; the counts come from the very snapshot pg_dump reads."""
    pg_dump = find_binary("PG_DUMP", "pg_dump")
    conninfo, env = _libpq(db.engine.url)
    try:
        with db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                connection.execute(sa.text("SET TRANSACTION READ ONLY"))
                snapshot = connection.scalar(sa.text("SELECT pg_export_snapshot()"))
                schema = _pg_schema(connection)
                counts = _pg_counts(connection, schema)
                revision = _pg_revision(connection, schema)
                echo(f"  schema {schema}: {len(counts)} tables, {sum(counts.values())} rows; running {pg_dump}")
                _run([pg_dump, "--format=custom", "--no-owner", f"--schema={_quote_pattern(schema)}",
                      f"--snapshot={snapshot}", f"--file={target}", f"--dbname={conninfo}"], env, "pg_dump")
    except sa.exc.SQLAlchemyError as error:
        raise BackupError(f"reading the database failed: {error.__class__.__name__}: {error.orig or error}") from error
    return counts, revision, schema


_RELATIONS = sa.text(
    "SELECT c.relname, c.relkind FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = :schema AND c.relkind IN ('v', 'm', 'r', 'p', 'f', 'S') AND NOT EXISTS "
    "(SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')")
_ROUTINES = sa.text(
    "SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p "
    "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = :schema AND NOT EXISTS "
    "(SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')")
_TYPES = sa.text(
    "SELECT t.typname, t.typtype FROM pg_catalog.pg_type t "
    "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
    "WHERE n.nspname = :schema AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND "
    "(SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')) AND NOT EXISTS "
    "(SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')")
_DROP_NOUNS = {"v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE", "r": "TABLE", "p": "TABLE",
               "S": "SEQUENCE"}


def _drop_schema_objects(connection, schema: str) -> None:
    """Drop everything of the app's schema (views, tables, sequences, routines, types); the schema stays.

    Objects of extensions are left alone. Names are quoted identifiers read from the catalog.
    """
    quote = connection.dialect.identifier_preparer.quote_identifier
    relations = connection.execute(_RELATIONS, {"schema": schema}).all()
    for kinds in (("v",), ("m",), ("f",), ("r", "p"), ("S",)):
        names = [f"{quote(schema)}.{quote(name)}" for name, kind in relations if kind in kinds]
        if names:
            connection.execute(sa.text(f"DROP {_DROP_NOUNS[kinds[0]]} IF EXISTS {', '.join(names)} CASCADE"))
    for routine in connection.scalars(_ROUTINES, {"schema": schema}).all():  # regprocedure text: quoted already
        connection.execute(sa.text(f"DROP ROUTINE IF EXISTS {routine} CASCADE"))
    for name, kind in connection.execute(_TYPES, {"schema": schema}).all():
        noun = "DOMAIN" if kind == "d" else "TYPE"
        connection.execute(sa.text(f"DROP {noun} IF EXISTS {quote(schema)}.{quote(name)} CASCADE"))


def _restore_postgresql(dump: Path, schema: str, pg_restore: str, echo: Echo) -> None:
    """Empty the app's schema, then ``pg_restore`` the dump into it in one transaction."""
    conninfo, env = _libpq(db.engine.url)
    toc = _run([pg_restore, "--list", str(dump)], env, "reading the dump's table of contents (pg_restore --list)")
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False, encoding="utf-8") as listing:
        listing.write("".join(line + "\n" for line in toc.stdout.splitlines() if not _SCHEMA_ENTRY.match(line)))
    try:
        try:
            with db.engine.begin() as connection:
                _drop_schema_objects(connection, schema)
        except sa.exc.SQLAlchemyError as error:
            raise BackupError(f"emptying schema {schema} failed (nothing was changed): "
                              f"{error.orig or error}") from error
        echo(f"  schema {schema} emptied; running {pg_restore}")
        try:
            _run([pg_restore, "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
                  f"--use-list={listing.name}", f"--dbname={conninfo}", str(dump)], env, "pg_restore")
        except BackupError as error:
            raise BackupError(f"{error}\nThe schema {schema} is now empty (the restore ran in one transaction, so "
                              "nothing of it was kept): fix the cause and run the restore again.") from error
    finally:
        os.unlink(listing.name)
    # pg_restore leaves the planner without statistics: until autovacuum gets to it, a page's join may be
    # planned as a nested loop over every row (measured: 600 ms instead of 54 ms for the 商机 list)
    with db.engine.begin() as connection:
        tables = connection.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = :schema ORDER BY tablename"), {"schema": schema}).scalars()
        for table in tables.all():  # this schema's tables only: other schemas of the database are not ours
            connection.execute(sa.text(f'ANALYZE "{schema}"."{table}"'))
    echo("  statistics gathered (ANALYZE)")


# ----------------------------------------------------------------------------- create


@dataclass
class Created:
    """What ``create_backup`` wrote."""

    path: Path
    manifest: dict = field(default_factory=dict)


def _check_output(output: Path, upload_dir: Path) -> None:
    if output.exists() and not output.is_dir():
        raise BackupError(f"{output} exists and is not a directory")
    if output.is_dir() and any(output.iterdir()):
        raise BackupError(f"{output} exists and is not empty: choose a new directory (-o DIR)")
    if _is_inside(output, upload_dir):
        raise BackupError(f"{output} is inside the uploads directory {upload_dir}: choose a directory outside it")


def create_backup(output: Path | None = None, echo: Echo = _quiet) -> Created:
    """Write a complete backup to ``output`` (default ``<INSTANCE_DIR>/backups/<UTC timestamp>``).

    Raises ``BackupError`` without leaving anything behind when it cannot.
    """
    output = Path(output) if output else default_output_dir()
    output = output.absolute()
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    kind = database_kind()
    _check_output(output, upload_dir)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        work = output.parent / f".{output.name}.partial-{secrets.token_hex(4)}"
        work.mkdir()
    except OSError as error:
        raise _os_error(f"creating {output}", error) from error
    created_at = datetime.now(UTC)
    try:
        manifest = _write_backup(work, kind, upload_dir, created_at, echo)
        if output.is_dir():  # an empty directory given with -o: replaced by the finished backup
            output.rmdir()
        os.rename(work, output)
        _fsync_dir(output.parent)
    except OSError as error:
        raise _os_error(f"writing the backup to {output}", error) from error
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return Created(output, manifest)


def _write_backup(work: Path, kind: str, upload_dir: Path, created_at: datetime, echo: Echo) -> dict:
    database_file = SQLITE_FILE if kind == "sqlite" else PG_FILE
    echo(f"[1/3] database ({kind}) → {database_file}")
    schema = None
    if kind == "sqlite":
        counts, revision = _dump_sqlite(work / database_file)
    else:
        counts, revision, schema = _dump_postgresql(work / database_file, echo)
    db_sha, db_size = _sha256_file(work / database_file)
    echo(f"  {len(counts)} tables, {sum(counts.values())} rows, {db_size} bytes, alembic revision "
         f"{revision or 'none'}")

    echo(f"[2/3] uploads: {upload_dir} → {UPLOADS}/")
    uploads: dict[str, dict] = {}
    (work / UPLOADS).mkdir()
    for relative in _walk_files(upload_dir):
        source = upload_dir / relative
        target = work / UPLOADS / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            sha, size = _copy_hashing(source, target)
        except FileNotFoundError as error:
            if error.filename == str(source):  # deleted by the running app meanwhile
                echo(f"  {relative}: removed meanwhile, skipped")
                continue
            raise
        uploads[str(relative)] = {"sha256": sha, "size": size}
    upload_bytes = sum(item["size"] for item in uploads.values())
    echo(f"  {len(uploads)} files, {upload_bytes} bytes")

    echo(f"[3/3] {MANIFEST}")
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "app_version": app_version(),
        "alembic_revision": revision,
        "database": {"kind": kind, "file": database_file, "sha256": db_sha, "size": db_size, "schema": schema},
        "tables": counts,
        "uploads": uploads,
        "totals": {"tables": len(counts), "rows": sum(counts.values()), "upload_files": len(uploads),
                   "upload_bytes": upload_bytes, "bytes": db_size + upload_bytes},
    }
    with open(work / MANIFEST, "x", encoding="utf-8") as stream:
        json.dump(manifest, stream, ensure_ascii=False, indent=2)
        stream.write("\n")
        stream.flush()
        os.fsync(stream.fileno())
    _fsync_dir(work)
    return manifest


# ----------------------------------------------------------------------------- verify


def read_manifest(directory: Path) -> dict:
    """The backup's manifest, checked for shape (not yet against the files)."""
    path = Path(directory) / MANIFEST
    if not Path(directory).is_dir():
        raise BackupError(f"{directory} is not a directory")
    if not path.is_file():
        raise BackupError(f"{path} is missing: not a Rongtong backup, or an incomplete one")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BackupError(f"{path} cannot be read: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a Rongtong backup manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(f"{path} has format version {version}; this code reads up to {FORMAT_VERSION}: "
                          "restore with the version of Rongtong that made it, or a newer one")
    database = manifest.get("database")
    if (not isinstance(database, dict) or database.get("kind") not in ("sqlite", "postgresql")
            or database.get("file") not in (SQLITE_FILE, PG_FILE)
            or not isinstance(manifest.get("tables"), dict) or not isinstance(manifest.get("uploads"), dict)):
        raise BackupError(f"{path} is incomplete (database, tables or uploads missing)")
    return manifest


def _safe_relative(name: str) -> PurePosixPath:
    relative = PurePosixPath(name)
    if relative.is_absolute() or not relative.parts or ".." in relative.parts or "\\" in name:
        raise BackupError(f"the manifest names an unsafe upload path: {name!r}")
    return relative


def verify_backup(directory: Path, echo: Echo = _quiet) -> dict:
    """Check the manifest and every file's size and sha256; refuse a missing, changed or unlisted file."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    database = manifest["database"]
    expected = [(database["file"], database.get("sha256"), database.get("size"))]
    for name, item in sorted(manifest["uploads"].items()):
        if not isinstance(item, dict):
            raise BackupError(f"the manifest's entry for {UPLOADS}/{name} is malformed")
        expected.append((f"{UPLOADS}/{_safe_relative(name)}", item.get("sha256"), item.get("size")))
    echo(f"checking {len(expected)} files against {directory / MANIFEST}")
    for name, sha, size in expected:
        path = directory / name
        if not path.is_file() or path.is_symlink():
            raise BackupError(f"{path} is missing: the backup is incomplete; nothing was changed")
        try:
            actual_sha, actual_size = _sha256_file(path)
        except OSError as error:
            raise _os_error(f"reading {path}", error) from error
        if actual_size != size or actual_sha != sha:
            raise BackupError(f"{path} does not match its checksum in the manifest (changed or damaged); "
                              "nothing was changed")
    listed = {str(_safe_relative(name)) for name in manifest["uploads"]}
    for relative in _walk_files(directory / UPLOADS):
        if str(relative) not in listed:
            raise BackupError(f"{directory / UPLOADS / relative} is not in the manifest; nothing was changed")
    return manifest


# ----------------------------------------------------------------------------- restore


@dataclass
class RestorePlan:
    """What a restore will do, decided before anything changes."""

    directory: Path
    manifest: dict
    kind: str
    target: str
    upload_dir: Path
    head: str | None
    upgrade: bool
    pg_restore: str | None = None
    schema: str | None = None


def _script_directory():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def code_head() -> str | None:
    """The newest alembic revision this code knows (None without migrations)."""
    heads = _script_directory().get_heads()
    return heads[0] if len(heads) == 1 else (",".join(sorted(heads)) or None)


def plan_restore(directory: Path, echo: Echo = _quiet) -> RestorePlan:
    """Verify the backup and decide the restore; raises ``BackupError`` (nothing changed) when it cannot be done."""
    directory = Path(directory).absolute()
    manifest = verify_backup(directory, echo)
    kind = database_kind()
    backup_kind = manifest["database"]["kind"]
    if backup_kind != kind:
        raise BackupError(f"this backup holds a {backup_kind} database but the app uses {kind}: restore it into a "
                          f"{backup_kind} database; nothing was changed")
    revision = manifest.get("alembic_revision")
    script = _script_directory()
    known = {item.revision for item in script.walk_revisions()}
    head = code_head()
    if revision and revision not in known:
        raise BackupError(f"this backup was made by newer code (alembic revision {revision}, unknown to this code, "
                          f"whose newest is {head}): install that version of Rongtong first; nothing was changed")
    plan = RestorePlan(directory, manifest, kind, "", Path(current_app.config["UPLOAD_DIR"]).absolute(), head,
                       upgrade=bool(revision) and revision not in set(script.get_heads()))
    if kind == "sqlite":
        plan.target = str(sqlite_path())
    else:
        plan.pg_restore = find_binary("PG_RESTORE", "pg_restore")
        with reading_only(), db.engine.connect() as connection:
            plan.schema = _pg_schema(connection)
            search_path = connection.scalar(sa.text("SHOW search_path"))
        if plan.schema is None:
            raise BackupError(f"no schema of the app's search_path ({search_path}) exists in the database: create it "
                              "(CREATE SCHEMA …) and run the restore again; nothing was changed")
        backup_schema = manifest["database"].get("schema")
        if backup_schema and backup_schema != plan.schema:
            raise BackupError(f"this backup holds schema {backup_schema} but the app uses schema {plan.schema}: "
                              "set the app's search_path to it; nothing was changed")
        url = db.engine.url
        plan.target = f"{url.host or 'local socket'}/{url.database} schema {plan.schema}"
    if _is_inside(plan.upload_dir, directory) or _is_inside(directory, plan.upload_dir):
        raise BackupError(f"the backup {directory} and the uploads directory {plan.upload_dir} overlap; "
                          "nothing was changed")
    return plan


def current_counts() -> dict[str, int]:
    """Rows of every table of the app's database now."""
    if database_kind() == "sqlite":
        connection = sqlite3.connect(f"file:{sqlite_path()}?mode=ro", uri=True)
        try:
            return _sqlite_counts(connection)
        finally:
            connection.close()
    with reading_only(), db.engine.connect() as connection:
        return _pg_counts(connection, _pg_schema(connection))


def count_differences(expected: dict[str, int], actual: dict[str, int]) -> list[str]:
    """``table: manifest N, database M`` for every table whose rows differ (or that exists on one side only)."""
    return [f"{name}: manifest {expected.get(name, 'absent')}, database {actual.get(name, 'absent')}"
            for name in sorted(set(expected) | set(actual)) if expected.get(name) != actual.get(name)]


def _dispose() -> None:
    db.session.remove()
    db.engine.dispose()


def _refill(target: Path, staging: Path) -> None:
    for child in list(target.iterdir()):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    for child in list(staging.iterdir()):
        os.rename(child, target / child.name)


def _replace_uploads(plan: RestorePlan, echo: Echo) -> None:
    """Copy the backup's uploads next to UPLOAD_DIR, then swap the directories (or refill it, for a mount point)."""
    target = plan.upload_dir
    source = plan.directory / UPLOADS
    token = secrets.token_hex(4)
    staging = target.parent / f".{target.name}.restore-{token}"
    old = target.parent / f".{target.name}.old-{token}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        for name in sorted(plan.manifest["uploads"]):
            relative = _safe_relative(name)
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            _copy_hashing(source / relative, staging / relative)
        if target.exists():
            try:
                os.rename(target, old)
            except OSError:  # a mount point cannot be moved: empty it and move the restored files in
                _refill(target, staging)
            else:
                os.rename(staging, target)
        else:
            os.rename(staging, target)
        _fsync_dir(target.parent)
    except OSError as error:
        raise _os_error(f"restoring the uploads into {target} (the database is already restored; run the restore "
                        "again)", error) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    echo(f"  {len(plan.manifest['uploads'])} files in {target}")


def _upgrade(echo: Echo) -> None:
    from flask_migrate import upgrade

    try:
        upgrade()
    except Exception as error:  # a migration that fails: say so, the data is restored at the old revision
        raise BackupError(f"`flask db upgrade` failed after the restore: {error}; the database holds the backup at its "
                          "own revision: fix the cause and run `flask db upgrade`, then `flask index rebuild`") from error


def _rebuild_derived(echo: Echo) -> None:
    """``flask index rebuild`` of every kind, then what follows a rebuild (the matches, recomputed from scratch)."""
    from marketplace.search import kinds, sync

    rebuilt = []
    try:
        for name in kinds.names():
            stats = sync.rebuild(sync.get_index(name))
            rebuilt.append(name)
            echo(f"  {name}: {stats['docs']} {kinds.get(name).noun} indexed")
        for function in list(sync.AFTER_REBUILD):  # matching: `flask match recompute --all`
            result = function(rebuilt)
            if isinstance(result, dict) and "requests" in result:
                echo(f"  matches: recomputed {result['requests']} requests ({result['added']} added, "
                     f"{result['removed']} removed)")
    except Exception as error:  # the data is back; what derives from it can be rebuilt on its own
        raise BackupError(f"the database and the uploads are restored, but rebuilding the search indexes and matches "
                          f"failed: {error.__class__.__name__}: {error}; run `flask index rebuild`") from error


@dataclass
class Restored:
    """What ``restore_backup`` did: the counts right after the database was replaced and at the end."""

    plan: RestorePlan
    restored_counts: dict[str, int]
    final_counts: dict[str, int]


def restore_backup(plan: RestorePlan, echo: Echo = _quiet) -> Restored:
    """Replace the database and the uploads with a verified backup (``plan_restore``), then rebuild what derives."""
    manifest = plan.manifest
    dump = plan.directory / manifest["database"]["file"]
    echo(f"[1/5] database ({plan.kind}): {plan.target} ← {dump.name}")
    _dispose()
    try:
        if plan.kind == "sqlite":
            _restore_sqlite(dump)
        else:
            _restore_postgresql(dump, plan.schema, plan.pg_restore, echo)
    finally:
        _dispose()
    restored = current_counts()
    differences = count_differences(manifest["tables"], restored)
    if differences:
        raise BackupError("the database was replaced, but its rows differ from the manifest (restore again, or from "
                          "another backup):\n" + "\n".join(differences))
    echo(f"  {len(restored)} tables, {sum(restored.values())} rows: as in the manifest")

    echo(f"[2/5] uploads: {plan.upload_dir} ← {UPLOADS}/")
    _replace_uploads(plan, echo)

    revision = manifest.get("alembic_revision")
    if plan.upgrade:
        echo(f"[3/5] db upgrade: {revision} → {plan.head}")
        _upgrade(echo)
        _dispose()
    else:
        echo(f"[3/5] db upgrade: not needed (revision {revision or 'not recorded'})")

    echo("[4/5] search indexes and matches: rebuilding from the restored database")
    _rebuild_derived(echo)
    db.session.remove()

    echo("[5/5] row counts")
    final = current_counts()
    return Restored(plan, restored, final)
