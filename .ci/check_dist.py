"""Check the built sdist and wheel (run by .ci/package): python .ci/check_dist.py DIST_DIR.

- both hold every tracked file of torchlayers/ (the package is complete) and nothing of tests/, examples/,
  notebooks/, benchmarks/ or .ci/ (the sdist ships no tests: the suite needs the repository, see MANIFEST.in);
- the sdist holds LICENSE, README.md and the documents the README links (COMPATIBILITY.md, CONTRIBUTING.md);
- the metadata: version == torchlayers.__version__, License-Expression MIT with LICENSE as its license file,
  no deprecated license classifier.
"""
from __future__ import annotations

import ast
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_SHIPPED = ("tests/", "examples/", "notebooks/", "benchmarks/", ".ci/")
SDIST_DOCS = {"LICENSE", "README.md", "COMPATIBILITY.md", "CONTRIBUTING.md", "pyproject.toml"}


def package_files() -> set[str]:
    """torchlayers/ files under version control (on-disk .py and py.typed files outside a git checkout)."""
    try:
        git = ["git", "ls-files", "torchlayers"]
        out = subprocess.run(git, cwd=ROOT, capture_output=True, text=True, check=True).stdout
        files = set(out.split())
    except (OSError, subprocess.CalledProcessError):
        files = set()
    if not files:
        on_disk = (ROOT / "torchlayers").rglob("*")
        files = {str(p.relative_to(ROOT)) for p in on_disk if p.suffix == ".py" or p.name == "py.typed"}
    return files


def version() -> str:
    tree = ast.parse((ROOT / "torchlayers" / "__init__.py").read_text(encoding="utf8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit("torchlayers/__init__.py has no literal __version__ = '...'")


def check_metadata(where: str, text: str, problems: list[str]) -> None:
    meta = Parser().parsestr(text)
    if meta["Version"] != version():
        problems.append(f"{where}: Version {meta['Version']!r}, torchlayers.__version__ is {version()!r}")
    if meta["License-Expression"] != "MIT":
        problems.append(f"{where}: License-Expression {meta['License-Expression']!r}, expected 'MIT'")
    if meta.get_all("License-File") != ["LICENSE"]:
        problems.append(f"{where}: License-File {meta.get_all('License-File')}, expected ['LICENSE']")
    if any(c.startswith("License ::") for c in meta.get_all("Classifier") or []):
        problems.append(f"{where}: a 'License ::' classifier (deprecated next to License-Expression)")


def check_files(where: str, names: set[str], problems: list[str]) -> None:
    missing = sorted(package_files() - names)
    if missing:
        problems.append(f"{where}: missing package files {missing}")
    shipped = sorted(n for n in names if n.startswith(NOT_SHIPPED))
    if shipped:
        problems.append(f"{where}: holds files that must stay in the repository: {shipped[:10]}")


def main(dist: str) -> None:
    problems: list[str] = []
    sdists, wheels = sorted(Path(dist).glob("*.tar.gz")), sorted(Path(dist).glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        raise SystemExit(f"expected one sdist and one wheel in {dist}, got {[p.name for p in Path(dist).iterdir()]}")
    with tarfile.open(sdists[0]) as tar:
        top = tar.getnames()[0].split("/")[0]
        names = {n[len(top) + 1:] for n in tar.getnames() if n.startswith(top + "/")}
        check_metadata(sdists[0].name, tar.extractfile(f"{top}/PKG-INFO").read().decode(), problems)
    check_files(sdists[0].name, names, problems)
    if SDIST_DOCS - names:
        problems.append(f"{sdists[0].name}: missing {sorted(SDIST_DOCS - names)}")
    with zipfile.ZipFile(wheels[0]) as whl:
        names = set(whl.namelist())
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        check_metadata(wheels[0].name, whl.read(f"{info}/METADATA").decode(), problems)
    check_files(wheels[0].name, names, problems)
    if f"{info}/licenses/LICENSE" not in names:
        problems.append(f"{wheels[0].name}: no {info}/licenses/LICENSE")
    if problems:
        raise SystemExit("distribution check failed:\n  " + "\n  ".join(problems))
    print(f"dist check: {sdists[0].name} and {wheels[0].name}: {len(package_files())} package files each, "
          f"version {version()}, License-Expression MIT, no tests")


if __name__ == "__main__":
    main(sys.argv[1])
