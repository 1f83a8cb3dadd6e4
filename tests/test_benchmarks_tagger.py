"""benchmarks/bench_tagger.py and its hand-written PyTorch peer: the peer is the tagger's function
(same parameters, same outputs from the same weights and hash), and ``main`` runs end to end at tiny
sizes. No timing is asserted here: timings belong to the benchmark."""
from __future__ import annotations

import json

import torch

import torchlayers as tl
from benchmarks.peers.torch_tagger import TorchTagger, multiply_shift_rows, train_step
from examples.tagger import build_tagger
from torchlayers.kernels.hash_embed import hash_rows_reference


def _batch() -> tl.Ragged:
    g = torch.Generator().manual_seed(0)
    lengths = torch.tensor([5, 0, 12, 1, 19, 0], dtype=torch.int32)  # empty sentences inside and at the end
    return tl.Ragged(torch.randint(-2**62, 2**62, (int(lengths.sum()), 4), generator=g), lengths)


def test_peer_has_the_taggers_parameters_and_computes_its_function():
    X = _batch()
    ours = build_tagger(tl)
    ours.initialize(X=X)
    peer = TorchTagger(hash_rows=hash_rows_reference).load_from(ours)
    assert [p.numel() for p in peer.parameters()] == [p.numel() for p in ours.parameters()]
    assert sum(p.numel() for p in peer.parameters()) == 1_502_417
    expected = ours.predict(X).data
    got = peer(X.data, X.lengths)
    assert got.shape == expected.shape == (37, 17)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)


def test_peer_default_hash_and_training_step():
    X = _batch()
    rows = multiply_shift_rows(X.data[:, 0], 8, 5000)
    assert rows.shape == (37, 4) and rows.dtype == torch.int64 and 0 <= int(rows.min()) and int(rows.max()) < 5000
    assert not torch.equal(rows[:, 0], rows[:, 1])  # 4 different hashes
    peer = TorchTagger()
    before = [p.detach().clone() for p in peer.parameters()]
    opt = torch.optim.Adam(peer.parameters(), lr=1e-3)
    train_step(peer, opt, X.data, X.lengths, torch.randint(0, 17, (37,)))
    assert all(not torch.equal(a, b) for a, b in zip(before, peer.parameters()))


def test_peer_windows_stop_at_sentence_boundaries():
    """Changing one sentence's ids changes no other sentence's outputs (the windows are masked)."""
    X = _batch()
    peer = TorchTagger().eval()
    changed = X.data.clone()
    changed[5:17] += 1  # the third sentence (rows 5..16)
    a, b = peer(X.data, X.lengths), peer(changed, X.lengths)
    outside = torch.ones(37, dtype=torch.bool)
    outside[5:17] = False
    assert torch.equal(a[outside], b[outside]) and not torch.equal(a[~outside], b[~outside])


def test_main_runs_at_tiny_sizes(tmp_path, fresh_clone_ewt):
    from benchmarks import bench_tagger

    out = tmp_path / "tagger.json"
    impls = ["thinc", "torch-plain", "tl-thinc-face", "tl-eager"]
    rows = bench_tagger.main(["--allow-excerpt", "--sizes", "60", "--steps", "1", "--warmup", "1", "--limit", "80",
                              "--threads", "1", "--impls", *impls, "--out", str(out)])
    assert [(r["impl"], r["threads"], r["words_per_batch"]) for r in rows] == [(i, 1, 60) for i in impls]
    assert all(r["train_words_per_s"] > 0 and r["predict_words_per_s"] > 0 for r in rows)
    saved = json.loads(out.read_text())
    assert saved["rows"] == rows and saved["meta"]["cores"] >= 1 and saved["meta"]["thinc"] == "8.3.14"
    table = out.with_suffix(".md").read_text()
    assert all(f"| 60 | {i} |" in table for i in impls) and saved["meta"]["cpu"] in table
