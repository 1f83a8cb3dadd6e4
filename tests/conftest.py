"""Test-suite set-up: hypothesis profiles, GPU skipping, EWT corpus fixtures, and one summary line per check family."""
from __future__ import annotations

import collections
import os
import warnings

import pytest

warnings.filterwarnings("ignore", message=".*TorchScript.*")
warnings.filterwarnings("ignore", message=".*torch.jit.*")

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile("ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", max_examples=200, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # pragma: no cover
    pass


def pytest_report_header(config):
    """Which UD English-EWT the data-using tests read (examples.ewt.resolve_corpus: a fresh clone gets the excerpt)."""
    try:
        from examples.ewt import resolve_corpus

        corpus = resolve_corpus()
    except Exception as error:  # a bad $TORCHLAYERS_EWT: the data-using tests will fail with the same message
        return f"UD English-EWT: {error}"
    return f"UD English-EWT: {corpus.path} [{corpus.source}]"


@pytest.fixture
def fresh_clone_ewt(monkeypatch, tmp_path):
    """``examples.ewt`` as on a fresh clone: no $TORCHLAYERS_EWT, no ../shared corpus: the excerpt is the default."""
    import examples.ewt as ewt

    monkeypatch.delenv(ewt.ENV_VAR, raising=False)
    monkeypatch.setattr(ewt, "SHARED", tmp_path / "no-shared-corpus")
    return ewt


TINY_CONLLU = """# newdoc id = email-a
# sent_id = email-a-0001
# text = I'm here.
1-2\tI'm\t_\t_\t_\t_\t_\t_\t_\t_
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t3:nsubj\t_
2\t'm\tbe\tAUX\tVBP\t_\t3\tcop\t3:cop\t_
3\there\there\tADV\tRB\t_\t0\troot\t0:root\tSpaceAfter=No
3.1\tgone\tgo\tVERB\tVBN\t_\t_\t_\t3:conj\t_
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t3:punct\t_

# sent_id = reviews-b-0001
1\tGreat\tgreat\tADJ\tJJ\t_\t0\troot\t0:root\t_
"""


@pytest.fixture
def tiny_ewt(tmp_path):
    """A corpus folder with one two-sentence CoNLL-U text per split (train plain, dev and test gzipped)."""
    import gzip

    folder = tmp_path / "tiny-ewt"
    folder.mkdir()
    (folder / "train.conllu").write_text(TINY_CONLLU, encoding="utf8")
    for split in ("dev", "test"):
        with gzip.open(folder / f"{split}.conllu.gz", "wt", encoding="utf8") as f:
            f.write(TINY_CONLLU)
    return folder


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (gpu marker); CI has no GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


_results = collections.defaultdict(collections.Counter)


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.skipped):
        return
    family = report.nodeid.split("::")[-1].split("[")[0]
    if family == "test_matrix":
        family = "matrix:" + report.nodeid.split("[")[1].split("-")[0]
    outcome = "xfail" if hasattr(report, "wasxfail") and report.skipped else report.outcome
    _results[family][outcome] += 1


def pytest_terminal_summary(terminalreporter):
    matrix = {k: v for k, v in _results.items() if k.startswith("matrix:")}
    if not matrix:
        return
    terminalreporter.write_sep("-", "deployment and parity matrix (per check)")
    total = collections.Counter()
    for family in sorted(matrix):
        counts = matrix[family]
        total.update(counts)
        terminalreporter.write_line(f"{family:24s} " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    terminalreporter.write_line("matrix total: " + ", ".join(f"{n} {k}" for k, n in sorted(total.items())))
