"""strings2arrays: hashes equal to thinc's bit for bit, Thinc-face backprop, bad inputs."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

from torchlayers.convert import to_numpy
from torchlayers.modules.strings2arrays import strings2arrays

WORDS = [["hello", "world", ""], [], ["naïve", "日本語", "a", "hello"], ["\U0001F600"]]


def test_strings2arrays_matches_thinc_bit_for_bit():
    Y = strings2arrays()(WORDS)
    Yt = ta.strings2arrays()(WORDS, is_train=False)[0]
    assert len(Y) == len(Yt)
    for ours, theirs in zip(Y, Yt):
        assert ours.dtype == torch.int64 and ours.shape == theirs.shape
        assert theirs.dtype == numpy.uint64
        assert numpy.array_equal(to_numpy(ours).view(numpy.uint64), theirs)
    assert any((t > 2**63).any() for t in Yt)  # negative hashes are covered (2**64 + h)


def test_thinc_face_backprop_returns_empty_list_like_thinc():
    _, backprop = strings2arrays()([["a"]], is_train=True)
    assert backprop([torch.zeros(1, 1)]) == []


def test_a_string_item_is_its_characters_as_in_thinc():
    """Thinc iterates each item: a flat list of strings hashes their characters (Thinc's test_strings2arrays)."""
    Y = strings2arrays()(["hello", "world"])
    Yt = ta.strings2arrays()(["hello", "world"], is_train=False)[0]
    assert [y.shape for y in Y] == [(5, 1), (5, 1)]
    for y, yt in zip(Y, Yt):
        assert numpy.array_equal(to_numpy(y).view("uint64"), yt)
    _, backprop = strings2arrays().begin_update(["hello", "world"])
    assert backprop([]) == []  # no gradient: dY is not read, as Thinc's lambda dY: []


def test_strings2arrays_bad_inputs_are_named():
    with pytest.raises(TypeError, match=r"strings2arrays: expected item 0 to be a sequence of strings, got int"):
        strings2arrays()([3, ["world"]])
    with pytest.raises(TypeError, match=r"strings2arrays: expected strings in item 0, got int"):
        strings2arrays()([[1, 2]])
    with pytest.raises(TypeError, match=r"strings2arrays: expected a sequence of sequences"):
        strings2arrays()("hello")
