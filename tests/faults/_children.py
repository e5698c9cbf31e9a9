"""Child processes of the fault tests: the app on the test's own settings, and a fork server for ``flask`` commands.

The settings come as JSON in ``RT_TEST_APP_CONFIG`` (as for ``tests/search/_workers.py``): the same
database (PostgreSQL schema or SQLite file), index directory and instance directory as the test's app.

``python -m tests.faults._children zygote`` builds the app once (about 2 s of imports on this machine)
and then forks a child per command it is sent, each running a real ``flask`` command (``index worker``
…) through the app's own click group, as ``flask --app`` would: killing and restarting the index worker
twenty times then costs a fork each instead of twenty interpreter start-ups. One JSON object a line:

    → {"fork": ["index", "worker", "--poll", "0.1"], "log": "/tmp/…/worker-3.log"}   ← {"pid": 1234}
    → {"wait": 1234, "timeout": 10}    ← {"pid": 1234, "status": -9}  (None: still running at the timeout)
    → {"exit": true}

``status`` is the exit code, or minus the signal that ended the child (as ``subprocess`` says it).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time

CONFIG_ENV = "RT_TEST_APP_CONFIG"


def app_from_env():
    """The test's app (``flask --app 'tests.faults._children:app_from_env()'``)."""
    from marketplace import create_app

    return create_app(json.loads(os.environ[CONFIG_ENV]))


def child_env(config: dict, **extra) -> dict[str, str]:
    """The environment of a child process running on the test app's settings."""
    env = dict(os.environ)
    env[CONFIG_ENV] = json.dumps({**config, **extra})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent dies (no worker outlives a crashed test run)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the test's own clean-up kills them
        pass


def _run_command(app, args: list[str], log: str) -> None:
    """In the forked child: output to ``log``, a fresh connection pool, then the click command; never returns."""
    from flask.cli import ScriptInfo

    from marketplace.extensions import db

    code = 1
    try:
        _die_with_parent()
        # as a fresh interpreter has them (SIGPIPE stays ignored, as Python sets it)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        os.close(null)
        with app.app_context():
            db.engine.dispose(close=False)  # never share the zygote's connections (it should hold none)
        app.cli.main(args=args, prog_name="flask", obj=ScriptInfo(create_app=lambda: app), standalone_mode=True)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - whatever it was goes to the child's log
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _status(raw: int) -> int:
    return -os.WTERMSIG(raw) if os.WIFSIGNALED(raw) else os.WEXITSTATUS(raw)


def _wait(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, raw = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return _status(raw)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)


def zygote() -> int:
    """Build the app, say so, then fork a child per command read on stdin (see the module's docstring)."""
    _die_with_parent()
    app = app_from_env()
    children: set[int] = set()
    reply = sys.stdout
    reply.write(json.dumps({"ready": os.getpid()}) + "\n")
    reply.flush()
    for line in sys.stdin:
        message = json.loads(line)
        if "fork" in message:
            pid = os.fork()
            if pid == 0:
                _run_command(app, message["fork"], message["log"])
            children.add(pid)
            answer = {"pid": pid}
        elif "wait" in message:
            answer = {"pid": message["wait"], "status": _wait(int(message["wait"]), float(message["timeout"]))}
            if answer["status"] is not None:
                children.discard(answer["pid"])
        elif message.get("exit"):
            break
        else:
            answer = {"error": f"unknown message {message!r}"}
        reply.write(json.dumps(answer) + "\n")
        reply.flush()
    for pid in children:  # the test went away without stopping them
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["zygote"]:
        raise SystemExit("usage: python -m tests.faults._children zygote")
    sys.exit(zygote())
