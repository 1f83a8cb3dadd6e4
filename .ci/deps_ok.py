"""Exit 0 when the running environment already satisfies pyproject.toml's dependencies and the given extras
(plus any extra requirements given as --also REQ), else list what is missing and exit 1.

.ci/setup runs it to skip the slow pip install when nothing changed; standard library plus ``packaging``
(which pip-installed test environments carry); anything unexpected counts as "not satisfied".
"""
from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def main(argv: list[str]) -> int:
    try:
        import tomllib
        from packaging.requirements import Requirement
    except ImportError as error:  # Python 3.10 (no tomllib) or no packaging yet: let pip decide
        print(f"setup: cannot check the installed dependencies ({error}); installing")
        return 1
    also = [argv[i + 1] for i, a in enumerate(argv) if a == "--also"]
    extras = [a for i, a in enumerate(argv) if a != "--also" and (i == 0 or argv[i - 1] != "--also")]
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf8"))["project"]
    wanted = list(project["dependencies"]) + also
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    missing = []
    for line in wanted:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            missing.append(f"{line} (not installed)")
            continue
        if not req.specifier.contains(installed, prereleases=True):
            missing.append(f"{line} (installed {installed})")
    if missing:
        print("setup: not satisfied: " + "; ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
