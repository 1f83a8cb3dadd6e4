"""Copy Thinc 8.3.14's own tests, point their imports at torchlayers, run both copies, compare.

``build(root)`` writes two copies of the suite under ``root``: ``theirs/`` unmodified and
``ours/`` with every file's ``from thinc... import`` lines rewritten by ``mapping.py``.
``run_both(root)`` runs pytest on both (two subprocesses in parallel, ``-q``, no ``-x``, no
cache, ``--hypothesis-seed=0``) and returns one outcome per test node id and side.
``python -m tests.thinc_suite.runner`` prints the per-file table and the summary line;
``--table`` adds the divergences grouped by error message, ``--write-table`` rewrites
``expected_failures.py`` from the run (after a change that fixes or adds many cases).

Outcomes: ``passed``, ``failed`` (call or setup/teardown error), ``skipped``, ``xfailed``,
``xpassed``; a file that cannot be imported gives ``failed`` for every case Thinc's copy
collected there, with the import error as the message.
"""
from __future__ import annotations

import collections
import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, NamedTuple, Sequence, Tuple

from .mapping import FACE, FACE_SOURCE, rewrite_source

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
PACKAGE = "thinc_tests"  # the copied suite's package name (relative imports ``from ..util`` need one)
SUITE = (
    "layers", "model", "test_serialize.py", "test_indexing.py", "test_initializers.py", "test_types_confection.py",
)
HELPERS = ("__init__.py", "conftest.py", "util.py", "strategies.py")
TIMEOUT_S = 900  # a hung side fails the run instead of blocking CI

# Both sides switch TensorFlow and MXNet on (Thinc's tests/enable_*.py) before any test module
# reads ``thinc.compat.has_tensorflow`` / ``has_mxnet``. Triton is imported before TensorFlow
# (both bundle LLVM). Thinc's side needs ``numpy.bool`` for MXNet 1.9.1; torchlayers' own
# ``import_mxnet`` sets it on our side.
CONFTEST = {
    "theirs": '''
import numpy
try:
    import triton  # noqa: F401  (before TensorFlow: both bundle LLVM)
except Exception:
    pass
numpy.bool = bool  # removed in numpy 1.24, read by mxnet 1.9.1
from thinc.compat import enable_mxnet, enable_tensorflow
enable_tensorflow()
enable_mxnet()
''',
    "ours": '''
from torchlayers.interop.mxnet_wrapper import import_mxnet
from torchlayers.interop.tensorflow_wrapper import import_tensorflow
import_tensorflow()
import_mxnet()
from thinc.compat import enable_mxnet, enable_tensorflow
enable_tensorflow()
enable_mxnet()
''',
}



class Outcome(NamedTuple):
    outcome: str
    message: str


def thinc_tests_dir() -> pathlib.Path:
    return pathlib.Path(importlib.util.find_spec("thinc").origin).parent / "tests"


def build(root: pathlib.Path) -> Dict[str, int]:
    """Write ``root/theirs`` and ``root/ours``; returns the number of names moved to ours per file."""
    source = thinc_tests_dir()
    moved: Dict[str, int] = {}
    for side in ("theirs", "ours"):
        pkg = root / side / PACKAGE
        pkg.mkdir(parents=True)
        for name in HELPERS + SUITE:
            src = source / name
            if src.is_dir():
                shutil.copytree(src, pkg / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, pkg / name)
        (root / side / "conftest.py").write_text(CONFTEST[side])
        shutil.copy2(HERE / "report_plugin.py", root / side / "report_plugin.py")
        (root / side / "pytest.ini").write_text("[pytest]\n")
        if side == "ours":
            (root / side / f"{FACE}.py").write_text(FACE_SOURCE)
            for path in sorted(pkg.rglob("*.py")):
                text, n = rewrite_source(path.read_text())
                path.write_text(text)
                moved[str(path.relative_to(root / side))] = n
    return moved


def _command(paths: Sequence[str]) -> List[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "report_plugin",
            "-W", "ignore::DeprecationWarning", "--tb=line", "-rN", "--continue-on-collection-errors",
            "--hypothesis-seed=0", *paths]


def _read(path: pathlib.Path) -> Tuple[Dict[str, Outcome], List[str], bool, List[str]]:
    """(outcome per case, cases started without a result, whether the session finished, cases collected)."""
    phases: Dict[str, List[Tuple[str, str]]] = collections.defaultdict(list)
    teardowns: Dict[str, bool] = collections.defaultdict(bool)
    started: List[str] = []
    collected: List[str] = []
    done = False
    results: Dict[str, Outcome] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        record = json.loads(line)
        if "start" in record:
            started.append(record["start"])
        elif "collected" in record:
            collected += record["collected"]
        elif "id" in record:
            phases[record["id"]].append((record["outcome"], record["message"]))
            teardowns[record["id"]] |= record["when"] == "teardown"
        elif "collect" in record:
            results[record["collect"]] = Outcome("collect-error", record["message"])
        elif record.get("done"):
            done = True
    for node, seen in phases.items():
        failed = [m for o, m in seen if o == "failed"]
        outcomes = [o for o, _ in seen]
        if failed:
            results[node] = Outcome("failed", failed[0])
        else:
            main = next((o for o in outcomes if o != "passed"), "passed")
            results[node] = Outcome(main, next((m for o, m in seen if o == main), ""))
    finished = {node for node, seen in teardowns.items() if seen}
    return results, [n for n in started if n not in finished], done, collected


def _start(root: pathlib.Path, side: str, paths: Sequence[str] = (PACKAGE,)) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root / side), str(REPO)])
    env["THINC_SUITE_REPORT"] = str(root / f"{side}.jsonl")
    env["THINC_SUITE_SKIP"] = str(root / f"{side}.skip")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.pop("HYPOTHESIS_PROFILE", None)  # Thinc's conftest loads its own profile
    with open(root / f"{side}.log", "a") as log:  # the child keeps its own handle
        return subprocess.Popen(_command(paths), cwd=root / side, env=env, stdout=log, stderr=subprocess.STDOUT)


def run_both(root: pathlib.Path, max_restarts: int = 5) -> Tuple[Dict[str, Outcome], Dict[str, Outcome], Dict[str, str]]:
    """Run both copies in parallel; returns (theirs, ours, each side's pytest output tail).

    A case that kills the interpreter (an abort inside a framework) is recorded as failed
    with "crashed the interpreter" and the side is restarted without the cases already run.
    """
    procs = {side: _start(root, side) for side in ("theirs", "ours")}
    restarts = collections.Counter()
    crashed: Dict[str, Dict[str, Outcome]] = {"theirs": {}, "ours": {}}
    deadline = time.monotonic() + TIMEOUT_S
    while procs:
        for side, proc in list(procs.items()):
            try:
                rc = proc.wait(timeout=max(1.0, min(2.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                if time.monotonic() < deadline:
                    continue
                proc.kill()
                proc.wait()
                raise RuntimeError(f"thinc suite: the {side} run took over {TIMEOUT_S} s:\n{_tail(root, side)}") from None
            del procs[side]
            results, unfinished, done, collected = _read(root / f"{side}.jsonl")
            if done:
                continue
            if not unfinished or restarts[side] >= max_restarts:
                raise RuntimeError(f"thinc suite: the {side} run stopped (rc {rc}) outside a case:\n{_tail(root, side)}")
            restarts[side] += 1
            why = "hung (over the per-case timeout)" if rc == 1 else f"crashed the interpreter (rc {rc})"
            crashed[side][unfinished[-1]] = Outcome("failed", why)
            ran = set(results) | set(crashed[side])
            with open(root / f"{side}.skip", "w") as f:
                f.write("\n".join(sorted(ran)))
            remaining = sorted({node.split("::")[0] for node in collected if node not in ran})
            if remaining:  # restart on the files still to run (collecting them only)
                procs[side] = _start(root, side, remaining)
    final = []
    for side in ("theirs", "ours"):
        results, _, _, _ = _read(root / f"{side}.jsonl")
        results.update(crashed[side])
        final.append(results)
    return final[0], final[1], {side: _tail(root, side) for side in ("theirs", "ours")}


def _tail(root: pathlib.Path, side: str) -> str:
    return (root / f"{side}.log").read_text()[-3000:]


def compare(theirs: Dict[str, Outcome], ours: Dict[str, Outcome]) -> Dict[str, Outcome]:
    """Our outcome for every case Thinc's copy collected (a file that failed to import fails its cases)."""
    errors = {k: v for k, v in ours.items() if v.outcome == "collect-error"}
    merged = {}
    for node in theirs:
        if theirs[node].outcome == "collect-error":
            continue
        if node in ours and ours[node].outcome != "collect-error":
            merged[node] = ours[node]
            continue
        path = node.split("::")[0]
        err = next((v for k, v in errors.items() if path == k or path.startswith(k.rstrip("/") + "/")), None)
        merged[node] = Outcome("failed", f"collection error: {err.message}" if err else "not collected on ours (its parametrize ids differ)")
    return merged


def per_file(theirs: Dict[str, Outcome], ours: Dict[str, Outcome]) -> List[Tuple[str, int, int, int]]:
    """(file, N, ours passed, thinc passed) for every file."""
    rows = collections.defaultdict(lambda: [0, 0, 0])
    for node, res in theirs.items():
        if res.outcome == "collect-error":
            continue
        row = rows[node.split("::")[0]]
        row[0] += 1
        row[1] += ours[node].outcome == "passed"
        row[2] += res.outcome == "passed"
    return [(f, *rows[f]) for f in sorted(rows)]


def summary(rows: List[Tuple[str, int, int, int]]) -> Tuple[int, int, int]:
    n = sum(r[1] for r in rows)
    return sum(r[2] for r in rows), sum(r[3] for r in rows), n


def format_table(rows: List[Tuple[str, int, int, int]]) -> str:
    width = max(len(r[0]) for r in rows)
    lines = [f"{'file':<{width}}  {'N':>4}  {'ours':>4}  {'thinc':>5}"]
    lines += [f"{f:<{width}}  {n:>4}  {p:>4}  {q:>5}" for f, n, p, q in rows]
    p, q, n = summary(rows)
    lines.append(f"thinc suite: {p}/{n} pass (thinc itself: {q}/{n})")
    return "\n".join(lines)


def divergences(theirs: Dict[str, Outcome], ours: Dict[str, Outcome]) -> Dict[str, str]:
    """Node id -> our failure message, for the cases that pass on Thinc and not on ours."""
    return {k: ours[k].message or ours[k].outcome for k in sorted(theirs)
            if theirs[k].outcome == "passed" and ours[k].outcome != "passed"}


def category(message: str) -> str:
    """A failure message without addresses, temp paths and object reprs: the key failures are grouped by."""
    message = re.sub(r"0x[0-9a-f]+", "0x...", message)
    message = re.sub(r"/tmp/[^ ]*?/(ours|theirs)/", "", message)
    message = re.sub(r"\(/work/[^)]*\)", "", message)
    return message.strip()[:160]


def write_table(div: Dict[str, str], path: pathlib.Path = HERE / "expected_failures.py") -> None:
    """Write ``expected_failures.py``: every divergence under its category, biggest group first.

    The hand-kept ``#    why: ...`` line under a category (its COMPATIBILITY row) is carried over
    from the file being replaced, for every category that is still there.
    """
    whys = kept_whys(path)
    groups: Dict[str, List[str]] = collections.defaultdict(list)
    for node, message in div.items():
        groups[category(message)].append(node)
    lines = [
        '"""The one strict divergence table of the Thinc suite: cases that pass on Thinc and fail on torchlayers.',
        "",
        "Generated by ``python -m tests.thinc_suite.runner --write-table``, then kept by hand: a listed",
        "case that passes fails tests/thinc_suite/test_thinc_suite.py (remove it), an unlisted case that",
        "fails does too (fix it, or list it with its reason). Grouped by failure message, biggest first;",
        "the groups are the roadmap. The target is fewer than 30 entries, each a COMPATIBILITY.md row.",
        '"""',
        "EXPECTED_FAILURES = {",
    ]
    for cat, nodes in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"    # {len(nodes)}: {cat}".rstrip())
        lines += whys.get(cat.rstrip(), [])
        lines += [f"    {node!r}: {cat!r}," for node in sorted(nodes)]
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def kept_whys(path: pathlib.Path) -> Dict[str, List[str]]:
    """category -> the ``#    why:`` lines written under its ``# N: category`` header in ``path``."""
    whys: Dict[str, List[str]] = collections.defaultdict(list)
    if not path.exists():
        return whys
    current = None
    for line in path.read_text().splitlines():
        header = re.match(r"    # \d+: (.*)$", line)
        if header:
            current = header.group(1).rstrip()
        elif current is not None and line.startswith("    #    "):
            whys[current].append(line.rstrip())
    return whys


def run(root: pathlib.Path | None = None):
    """Build, run and compare; returns (rows, theirs, ours) where ours covers Thinc's cases."""
    with tempfile.TemporaryDirectory(prefix="thinc-suite-") as tmp:
        base = pathlib.Path(root or tmp)
        build(base)
        theirs, ours_raw, tails = run_both(base)
    ours = compare(theirs, ours_raw)
    return per_file(theirs, ours), theirs, ours, tails


if __name__ == "__main__":  # pragma: no cover - the table generator
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="print divergences grouped by message")
    parser.add_argument("--dump", help="write the divergences as JSON to this file")
    parser.add_argument("--write-table", action="store_true", help="rewrite expected_failures.py from this run")
    args = parser.parse_args()
    rows, theirs, ours, _ = run()
    print(format_table(rows))
    div = divergences(theirs, ours)
    if args.dump:
        pathlib.Path(args.dump).write_text(json.dumps(div, indent=1, sort_keys=True))
    if args.write_table:
        write_table(div)
    if args.table:
        groups = collections.Counter(category(m) for m in div.values())
        for msg, count in groups.most_common():
            print(f"{count:4d}  {msg}")
