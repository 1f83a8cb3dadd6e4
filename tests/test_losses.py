"""Thinc's losses on torch tensors and numpy arrays: get_grad, get_loss, __call__ and convert_truths
against thinc 8.3.14 on the same inputs (ids, lists, names, neg_prefix, missing_value, label
smoothing, normalize, float targets), the registry names, and the errors."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

from torchlayers.losses import (
    CategoricalCrossentropy,
    CosineDistance,
    L2Distance,
    SequenceCategoricalCrossentropy,
    to_categorical,
)
from torchlayers.registry import registry

RNG = numpy.random.default_rng(7)
NAMES = ["dog", "cat", "fish", "bird"]


def probs(n: int, c: int = 4, dtype: str = "float32") -> numpy.ndarray:
    return RNG.dirichlet(numpy.ones(c), size=n).astype(dtype)


def as_torch(x):
    return torch.from_numpy(x) if isinstance(x, numpy.ndarray) else x


def assert_same(ours, theirs, torch_input: bool) -> None:
    """Our answer equals thinc's; numpy in -> numpy out (scalars as numpy scalars), torch in -> tensors."""
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b, torch_input)
        return
    theirs = numpy.asarray(theirs)
    if torch_input:
        assert isinstance(ours, torch.Tensor) and ours.dim() == theirs.ndim
        ours = ours.numpy()
    else:
        assert isinstance(ours, (numpy.ndarray, numpy.generic)) and numpy.ndim(ours) == theirs.ndim
    assert numpy.asarray(ours).dtype == theirs.dtype, (numpy.asarray(ours).dtype, theirs.dtype)
    numpy.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def run_all(ours, theirs, guesses, truths, torch_input: bool) -> None:
    g = [as_torch(x) for x in guesses] if isinstance(guesses, list) else as_torch(guesses)
    t = truths
    if torch_input:
        t = [as_torch(x) for x in truths] if isinstance(truths, list) and truths and isinstance(truths[0], numpy.ndarray) else as_torch(truths)
    else:
        g = guesses
    assert_same(ours.get_grad(g, t), theirs.get_grad(guesses, truths), torch_input)
    assert_same(ours.get_loss(g, t), theirs.get_loss(guesses, truths), torch_input)
    d, loss = ours(g, t)
    dt, loss_t = theirs(guesses, truths)
    assert_same(d, dt, torch_input)
    assert_same(loss, loss_t, torch_input)


CCE_CASES = {
    "ids": (dict(), lambda: (probs(6), RNG.integers(0, 4, 6).astype("i"))),
    "ids_int64_unnormalized": (dict(normalize=False), lambda: (probs(5), RNG.integers(0, 4, 5).astype("int64"))),
    "list_of_ints": (dict(), lambda: (probs(4), [0, 3, 2, 1])),
    "missing_id_in_array": (dict(missing_value=-1), lambda: (probs(5), numpy.array([0, -1, 2, -1, 3], dtype="i"))),
    "missing_id_in_list": (dict(missing_value=2), lambda: (probs(4), [2, 1, 2, 0])),
    "names": (dict(names=NAMES), lambda: (probs(5), ["dog", "fish", "cat", "bird", "dog"])),
    "names_missing": (dict(names=NAMES, missing_value=""), lambda: (probs(4), ["dog", "", "cat", ""])),
    "neg_prefix": (dict(names=NAMES, neg_prefix="!"), lambda: (probs(4), ["dog", "!cat", "!dog", "bird"])),
    "label_smoothing_ids": (dict(label_smoothing=0.2), lambda: (probs(6), RNG.integers(0, 4, 6).astype("i"))),
    "label_smoothing_names": (dict(names=NAMES, label_smoothing=0.1, missing_value="?"),
                              lambda: (probs(3), ["fish", "?", "bird"])),
    "float_targets": (dict(), lambda: (probs(5), probs(5))),
    "float_targets_missing_argmax": (dict(missing_value=1), lambda: (probs(6), numpy.eye(4, dtype="f")[[0, 1, 1, 2, 3, 1]])),
    "float64_guesses": (dict(), lambda: (probs(4, dtype="float64"), RNG.integers(0, 4, 4).astype("i"))),
    "empty": (dict(), lambda: (probs(0), [])),
}


@pytest.mark.parametrize("torch_input", [False, True], ids=["numpy", "torch"])
@pytest.mark.parametrize("case", list(CCE_CASES))
def test_categorical_crossentropy_matches_thinc(case, torch_input):
    kwargs, make = CCE_CASES[case]
    guesses, truths = make()
    run_all(CategoricalCrossentropy(**kwargs), ta.CategoricalCrossentropy(**kwargs), guesses, truths, torch_input)


@pytest.mark.parametrize("case", ["missing_id_in_array", "neg_prefix", "label_smoothing_names", "float_targets"])
def test_convert_truths_matches_thinc(case):
    kwargs, make = CCE_CASES[case]
    guesses, truths = make()
    for a, b in zip(CategoricalCrossentropy(**kwargs).convert_truths(truths, guesses),
                    ta.CategoricalCrossentropy(**kwargs).convert_truths(truths, guesses)):
        assert_same(a, b, False)


def test_missing_rows_and_negatives_get_no_gradient():
    guesses = torch.from_numpy(probs(4))
    d = CategoricalCrossentropy(names=NAMES, neg_prefix="!", missing_value="?")(guesses, ["dog", "?", "!cat", "fish"])[0]
    assert not d[1].any()
    assert torch.equal(d[2] != 0, torch.tensor([False, True, False, False]))  # only "cat" is trained, towards 0
    assert d[2, 1] > 0


@pytest.mark.parametrize("torch_input", [False, True], ids=["numpy", "torch"])
@pytest.mark.parametrize("kwargs", [dict(), dict(normalize=False), dict(names=NAMES, missing_value="?", label_smoothing=0.1),
                                    dict(missing_value=-1)])
def test_sequence_categorical_crossentropy_matches_thinc(kwargs, torch_input):
    lengths = [3, 0, 5]
    guesses = [probs(n) for n in lengths]
    if "names" in kwargs:
        truths = [list(RNG.choice([*NAMES, "?"], n)) for n in lengths]
    else:
        truths = [RNG.integers(-1 if "missing_value" in kwargs else 0, 4, n).astype("i") for n in lengths]
    run_all(SequenceCategoricalCrossentropy(**kwargs), ta.SequenceCategoricalCrossentropy(**kwargs), guesses, truths,
            torch_input)


def test_sequence_loss_of_nothing_is_zero():
    assert SequenceCategoricalCrossentropy().get_loss([], []) == ta.SequenceCategoricalCrossentropy().get_loss([], []) == 0.0


@pytest.mark.parametrize("torch_input", [False, True], ids=["numpy", "torch"])
@pytest.mark.parametrize("normalize", [True, False])
def test_l2_distance_matches_thinc(normalize, torch_input):
    guesses, truths = RNG.normal(size=(5, 3)).astype("f"), RNG.normal(size=(5, 3)).astype("f")
    run_all(L2Distance(normalize=normalize), ta.L2Distance(normalize=normalize), guesses, truths, torch_input)


@pytest.mark.parametrize("torch_input", [False, True], ids=["numpy", "torch"])
@pytest.mark.parametrize("kwargs", [dict(), dict(normalize=False), dict(ignore_zeros=True)])
def test_cosine_distance_matches_thinc(kwargs, torch_input):
    guesses, truths = RNG.normal(size=(6, 4)).astype("f"), RNG.normal(size=(6, 4)).astype("f")
    truths[[1, 4]] = 0.0
    run_all(CosineDistance(**kwargs), ta.CosineDistance(**kwargs), guesses, truths, torch_input)
    sim = CosineDistance(**kwargs).get_similarity(torch.from_numpy(guesses), torch.from_numpy(truths))
    assert_same(sim, ta.CosineDistance(**kwargs).get_similarity(guesses, truths), True)


def test_thinc_rejects_tensors_we_accept():
    guesses, truths = torch.from_numpy(probs(3)), torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="Only numpy and cupy arrays are supported"):
        ta.CategoricalCrossentropy()(guesses, truths)
    d, loss = CategoricalCrossentropy()(guesses, truths)
    assert isinstance(d, torch.Tensor) and loss.dim() == 0


def test_gradients_carry_no_graph_and_keep_the_device_and_dtype():
    guesses = torch.softmax(torch.randn(3, 4, dtype=torch.float64, requires_grad=True), -1)
    d, loss = CategoricalCrossentropy()(guesses, torch.tensor([0, 1, 2]))
    assert not d.requires_grad and not loss.requires_grad and d.dtype == torch.float64 and d.device == guesses.device


def test_grad_feeds_the_softmax_thinc_face():
    from torchlayers.modules.softmax import Softmax

    model = Softmax(4, 3)
    model.set_param("W", torch.randn(4, 3))
    X, truths = torch.randn(5, 3), torch.tensor([0, 1, 2, 3, 0])
    Y, backprop = model(X, is_train=True)
    dX = backprop(CategoricalCrossentropy().get_grad(Y, truths))
    assert dX.shape == X.shape and torch.as_tensor(model.get_grad("W")).abs().sum() > 0


@pytest.mark.parametrize("name, cls", [
    ("CategoricalCrossentropy.v1", CategoricalCrossentropy), ("CategoricalCrossentropy.v2", CategoricalCrossentropy),
    ("CategoricalCrossentropy.v3", CategoricalCrossentropy),
    ("SequenceCategoricalCrossentropy.v1", SequenceCategoricalCrossentropy),
    ("SequenceCategoricalCrossentropy.v2", SequenceCategoricalCrossentropy),
    ("SequenceCategoricalCrossentropy.v3", SequenceCategoricalCrossentropy),
    ("L2Distance.v1", L2Distance), ("CosineDistance.v1", CosineDistance),
])
def test_registry_names_are_thincs(name, cls):
    assert name in ta.registry.losses
    assert isinstance(registry.resolve({"@losses": name}), cls)


def test_registry_config_options_reach_the_loss():
    loss = registry.resolve({"@losses": "CategoricalCrossentropy.v3", "names": NAMES, "label_smoothing": 0.1,
                             "neg_prefix": "!", "missing_value": "?", "normalize": False})
    assert (loss.names, loss.label_smoothing, loss.neg_prefix, loss.missing_value, loss.normalize) == (NAMES, 0.1, "!", "?", False)


@pytest.mark.parametrize("kwargs, guesses, truths, error, words", [
    (dict(label_smoothing=0.2), probs(3), probs(3), ValueError, "Label smoothing is only applied"),
    (dict(label_smoothing=0.8), probs(3), numpy.array([0, 1, 2]), ValueError, "has to be less than 0.75"),
    (dict(label_smoothing=-0.1), probs(3), numpy.array([0, 1, 2]), ValueError, "greater than or equal to 0"),
    (dict(), probs(3), ["dog", "cat", "dog"], ValueError, "without names"),
    (dict(), probs(3), numpy.array([0, 1]), ValueError, "mismatched shapes"),
    (dict(), probs(3) * 2.0, numpy.array([0, 1, 2]), ValueError, "guesses outside the"),
    (dict(), probs(3), probs(3) * 3.0, ValueError, "truth values outside the"),
])
def test_errors_match_thincs(kwargs, guesses, truths, error, words):
    with pytest.raises(error, match=words):
        ta.CategoricalCrossentropy(**kwargs)(guesses, truths)
    for g in (guesses, torch.from_numpy(guesses)):
        with pytest.raises(error, match=words):
            CategoricalCrossentropy(**kwargs)(g, truths)


def test_bad_ids_and_names_are_named_where_thinc_wraps_or_raises_key_error():
    guesses = probs(3)
    with pytest.raises(ValueError, match=r"truth 1 is class id 4, expected an id in \[0, 4\)"):
        CategoricalCrossentropy()(guesses, numpy.array([0, 4, 1]))
    with pytest.raises(IndexError):
        ta.CategoricalCrossentropy()(guesses, numpy.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"truth 1 is class id -1"):
        CategoricalCrossentropy()(guesses, numpy.array([0, -1, 1]))
    wrapped = ta.CategoricalCrossentropy().get_grad(guesses, numpy.array([0, -1, 1]))  # -1 silently means class 3
    numpy.testing.assert_allclose(wrapped[1], (guesses[1] - numpy.eye(4)[3]) / 3, rtol=1e-6)
    with pytest.raises(ValueError, match=r"truth 2 is 'cow', which is not one of the names"):
        CategoricalCrossentropy(names=NAMES)(guesses, ["dog", "cat", "cow"])
    with pytest.raises(KeyError):
        ta.CategoricalCrossentropy(names=NAMES)(guesses, ["dog", "cat", "cow"])


@pytest.mark.parametrize("loss, guesses, truths, error, words", [
    (L2Distance(), torch.randn(3, 2), torch.randn(2, 3), ValueError, r"L2 distance: mismatched shapes: guesses \(3, 2\)"),
    (CosineDistance(), torch.randn(3, 2), torch.randn(3, 3), ValueError, "cosine similarity: mismatched shapes"),
    (CosineDistance(), torch.randn(3), torch.randn(3), ValueError, r"expected guesses of shape \(N, D\)"),
    (L2Distance(), torch.ones(3, dtype=torch.int64), torch.ones(3), TypeError, "L2Distance: expected floating point guesses"),
    (L2Distance(), "abc", torch.ones(3), TypeError, "torch tensor or numpy array, got str"),
    (CategoricalCrossentropy(), torch.rand(2, 3), torch.tensor([0.0, 1.0]), TypeError, "expected integer class ids"),
    (SequenceCategoricalCrossentropy(), [torch.rand(2, 3)], [], ValueError, "same length"),
])
def test_bad_inputs_are_named(loss, guesses, truths, error, words):
    with pytest.raises(error, match=words):
        loss(guesses, truths)


def test_to_categorical_matches_thinc():
    ids = numpy.array([2, 0, 1, 2])
    for smoothing in (0.0, 0.3):
        ours = to_categorical(torch.from_numpy(ids), 3, label_smoothing=smoothing)
        assert_same(ours, ta.to_categorical(ids, 3, label_smoothing=smoothing), True)
