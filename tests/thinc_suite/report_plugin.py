"""pytest plugin for the copied Thinc suite: one JSON line per event, flushed as it happens.

Loaded with ``-p report_plugin`` in each side's run (the runner copies it next to the suite).
Lines: ``{"collected": [ids]}`` once, ``{"start": id}`` before a case runs, ``{"id", "when", "outcome", "message"}`` per
phase, ``{"collect": path, "message"}`` for a file that cannot be imported, ``{"done": true}``
at the end. A case whose start has no result crashed the interpreter; the runner then
restarts pytest with the ids in ``THINC_SUITE_SKIP`` left out. A case running longer than
``THINC_SUITE_CASE_TIMEOUT`` seconds (default 15; Thinc's slowest case takes 2 s) ends the process through ``faulthandler``
(exit status 1, traceback in the log), which the runner records as a hang.
"""
import faulthandler
import json
import os

_out = None


def _write(record):
    global _out
    if _out is None:
        _out = open(os.environ["THINC_SUITE_REPORT"], "a")
    _out.write(json.dumps(record) + "\n")
    _out.flush()


def _message(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        return crash.message.splitlines()[0][:300]
    if isinstance(report.longrepr, tuple):  # skips: (path, line, reason)
        return str(report.longrepr[2])[:300]
    lines = [line for line in str(report.longrepr or "").splitlines() if line.startswith("E ")]
    return lines[0][:300] if lines else str(report.longrepr or "")[-300:]


def pytest_collection_modifyitems(config, items):
    path = os.environ.get("THINC_SUITE_SKIP")
    if path and os.path.exists(path):
        with open(path) as f:
            skip = set(f.read().splitlines())
        items[:] = [item for item in items if item.nodeid not in skip]
    _write({"collected": [item.nodeid for item in items]})


def pytest_runtest_logstart(nodeid, location):
    _write({"start": nodeid})
    faulthandler.dump_traceback_later(float(os.environ.get("THINC_SUITE_CASE_TIMEOUT", "15")), exit=True)


def pytest_runtest_logfinish(nodeid, location):
    faulthandler.cancel_dump_traceback_later()


def pytest_runtest_logreport(report):
    if getattr(report, "wasxfail", None) is not None:
        outcome = "xfailed" if report.skipped else "xpassed"
    else:
        outcome = report.outcome
    message = _message(report) if outcome in ("failed", "skipped") else ""
    _write({"id": report.nodeid, "when": report.when, "outcome": outcome, "message": message})


def pytest_collectreport(report):
    if report.failed:
        _write({"collect": report.nodeid, "message": _message(report)})


def pytest_sessionfinish(session):
    _write({"done": True})
