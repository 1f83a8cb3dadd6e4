"""Configs through ``torchlayers.registry`` (confection): a spaCy-style config string with ``${...}``
interpolation, ``*`` variadic blocks and every Thinc initializer builds the walk() tree
``thinc.registry.resolve`` builds from the same text, with equal outputs after weight injection;
``fill`` gives the signatures' defaults; validation errors name the block and the argument."""
from __future__ import annotations

import functools

import numpy
import pytest
import thinc.api as ta
import torch
from confection import Config, ConfigValidationError

import torchlayers as tl
from tests.harness import _inject, assert_matches_thinc
from torchlayers import initializers as tli
from torchlayers.registry import registry

CONFIG = """
[vars]
width = 6
nI = 4

[model]
@layers = "chain.v1"

[model.*.relu]
@layers = "Relu.v1"
nO = ${vars.width}
nI = ${vars.nI}
dropout = 0.0
normalize = true

[model.*.relu.init_W]
@initializers = "glorot_uniform_init.v1"

[model.*.relu.init_b]
@initializers = "uniform_init.v1"
lo = -0.5
hi = 0.5

[model.*.maxout]
@layers = "Maxout.v1"
nO = ${vars.width}
nP = 2

[model.*.maxout.init_W]
@initializers = "glorot_normal_init.v1"

[model.*.maxout.init_b]
@initializers = "normal_init.v1"
mean = 0.3

[model.*.res]
@layers = "residual.v1"

[model.*.res.layer]
@layers = "Mish.v1"
nO = ${vars.width}
nI = ${vars.width}

[model.*.res.layer.init_W]
@initializers = "he_uniform_init.v1"

[model.*.res.layer.init_b]
@initializers = "zero_init.v1"

[model.*.more]
@layers = "clone.v1"
n = 2

[model.*.more.orig]
@layers = "Linear.v1"
nO = ${vars.width}

[model.*.more.orig.init_W]
@initializers = "he_normal_init.v1"

[model.*.concat]
@layers = "concatenate.v1"

[model.*.concat.*.a]
@layers = "Linear.v1"
nO = 3

[model.*.concat.*.a.init_W]
@initializers = "lecun_uniform_init.v1"

[model.*.concat.*.b]
@layers = "Linear.v1"
nO = 3

[model.*.concat.*.b.init_W]
@initializers = "lecun_normal_init.v1"

[model.*.out]
@layers = "Softmax.v2"
nO = 5
"""

INITIALIZERS = ["glorot_uniform_init", "glorot_normal_init", "he_uniform_init", "he_normal_init",
                "lecun_uniform_init", "lecun_normal_init", "uniform_init", "normal_init", "zero_init"]


def _both():
    torch.manual_seed(0)
    ours = registry.resolve(CONFIG)["model"]
    theirs = ta.registry.resolve(Config().from_str(CONFIG))["model"]
    X = numpy.random.default_rng(0).normal(size=(7, 4)).astype("float32")
    ours.initialize(X=torch.from_numpy(X))
    theirs.initialize(X=X)
    return ours, theirs, X


def test_config_uses_every_initializer():
    for name in INITIALIZERS:
        assert f'"{name}.v1"' in CONFIG


def test_config_string_builds_thincs_tree_and_outputs():
    ours, theirs, X = _both()
    assert isinstance(ours, tl.Model)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    for a, b in zip(ours.walk(), theirs.walk()):
        assert {d: a.maybe_get_dim(d) for d in b.dim_names} == {d: b.maybe_get_dim(d) for d in b.dim_names}, a.name
    _inject(ours, theirs)
    assert_matches_thinc(ours.predict(torch.from_numpy(X)), theirs.predict(X), {"rtol": 1e-5, "atol": 1e-6}, "config")


def test_each_initializer_reaches_its_layer():
    ours, theirs, _ = _both()
    used = []
    for a, b in zip(ours.walk(), theirs.walk()):
        for i, p in enumerate(a.param_names):
            init = a._param_specs[p].init
            used.append(getattr(init, "__name__", ""))
            thinc_init = b.init.args[i] if isinstance(b.init, functools.partial) and len(b.init.args) > i else None
            thinc_init = thinc_init.func if isinstance(thinc_init, functools.partial) else thinc_init
            if getattr(thinc_init, "__name__", "") in [*INITIALIZERS[:6], "zero_init"]:
                assert init is getattr(tli, thinc_init.__name__), f"{a.name}.{p}: {init} vs thinc {thinc_init.__name__}"
    for name in [*INITIALIZERS[:6], "zero_init"]:
        assert name in used, name
    relu, maxout = ours.layers[0].layers[0].layers[0], ours.layers[1]
    b = torch.as_tensor(relu.get_param("b"))
    assert b.abs().max() <= 0.5 and b.abs().sum() > 0  # uniform_init(lo=-0.5, hi=0.5)
    assert torch.as_tensor(maxout.get_param("b")).abs().sum() > 0  # normal_init(mean=0.3): Thinc's quirk, mean is the std
    mish = ours.layers[2].layers[0]
    assert mish.name == "mish" and torch.equal(torch.as_tensor(mish.get_param("b")), torch.zeros_like(torch.as_tensor(mish.get_param("b"))))


@pytest.mark.parametrize("name", INITIALIZERS)
def test_initializer_factories_as_thinc(name):
    args = {"lo": -1.0, "hi": 1.0} if name == "uniform_init" else {"mean": 0.5} if name == "normal_init" else {}
    ours = registry.resolve({"@initializers": f"{name}.v1", **args})
    theirs = ta.registry.resolve({"x": {"@initializers": f"{name}.v1", **args}})["x"]
    if not args:
        assert ours is getattr(tli, name) and getattr(theirs, "func", theirs).__name__ == name
    W = ours(None, (3, 4))
    assert isinstance(W, torch.Tensor) and W.dtype == torch.float32
    assert tuple(W.shape) == theirs(ta.NumpyOps(), (3, 4)).shape


def test_fill_gives_thincs_defaults_and_keeps_variables():
    text = Config().from_str(CONFIG, interpolate=False)
    ours = registry.fill(text)
    theirs = ta.registry.fill(text)
    assert ours["model"]["*"]["relu"]["nO"] == "${vars.width}"  # variables kept
    relu = ours["model"]["*"]["relu"]
    assert relu["normalize"] is True and relu["dropout"] == 0.0
    assert relu["init_W"] == {"@initializers": "glorot_uniform_init.v1"}
    assert ours["model"]["*"]["out"]["temperature"] == 1.0 and ours["model"]["*"]["out"]["normalize_outputs"] is True

    def keys(c, path=""):
        out = set()
        for k, v in c.items():
            out.add(f"{path}.{k}")
            out |= keys(v, f"{path}.{k}") if isinstance(v, dict) else set()
        return out

    # the one difference: torchlayers' Linear class takes a name (Softmax and friends reuse it)
    extra = {".model.*.more.orig.name", ".model.*.concat.*.a.name", ".model.*.concat.*.b.name"}
    assert keys(ours) - keys(theirs) == extra
    assert keys(theirs) <= keys(ours)
    defaults = {"nO": None, "nI": None, "nP": 3, "init_W": None, "init_b": None, "dropout": None, "normalize": False}
    assert registry.fill({"@layers": "Maxout.v1"}) == {"@layers": "Maxout.v1", **defaults}


def test_fill_output_resolves_to_the_same_tree():
    filled = registry.fill(Config().from_str(CONFIG, interpolate=False))
    a = registry.resolve(filled.interpolate())["model"]
    b = registry.resolve(CONFIG)["model"]
    assert [n.name for n in a.walk()] == [n.name for n in b.walk()]


def test_validation_error_names_block_and_argument():
    bad = CONFIG.replace('nP = 2', 'nP = "two"')
    with pytest.raises(ConfigValidationError) as err:
        registry.resolve(bad)
    text = str(err.value)
    # the block's full path (confection alone says "maxout -> nP")
    assert "Config error for 'Maxout.v1'" in text and "model -> * -> maxout -> nP\t" in text
    assert "'two' is not <class 'int'>" in text


def test_unexpected_and_missing_arguments():
    with pytest.raises(ConfigValidationError, match="unexpected argument: 'width'"):
        registry.resolve({"model": {"@layers": "Linear.v1", "width": 3}})
    with pytest.raises(ConfigValidationError, match="missing required argument: 'learn_rate'"):
        registry.resolve({"optimizer": {"@optimizers": "SGD.v1"}})
    with pytest.raises(ConfigValidationError, match=r"Config error for 'Linear.v1'\nnO\tat root: \[1, 2\]"):
        registry.fill({"@layers": "Linear.v1", "nO": [1, 2]})


def test_validate_false_skips_type_checks():
    filled = registry.fill({"@layers": "Linear.v1", "nO": "3"}, validate=False)
    assert filled["nO"] == "3"


def test_config_file(tmp_path):
    path = tmp_path / "model.cfg"
    path.write_text(CONFIG)
    for source in (path, str(path)):
        model = registry.resolve(source)["model"]
        assert model.name == registry.resolve(CONFIG)["model"].name


def test_a_plain_string_is_an_error_not_a_value():
    with pytest.raises(ValueError, match=r"neither config text .* nor an existing file"):
        registry.resolve("chain.v1")


def test_overrides():
    model = registry.resolve(CONFIG, overrides={"model.*.out.nO": 9})["model"]
    assert model.get_dim("nO") == 9
