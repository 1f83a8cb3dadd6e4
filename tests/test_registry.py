"""``torchlayers.registry``: catalogue namespaces under "torchlayers" (no collision with Thinc's),
entry points, the ``torchlayers.`` spelling Thinc refuses, refusing Thinc models, a user's
``@thinc.registry.layers`` function in a torchlayers config, optimizers and schedules."""
from __future__ import annotations

import importlib.metadata
import itertools
import sys
import types

import catalogue
import numpy
import pytest
import thinc.api as ta
import torch
from confection import Config, ConfigValidationError

import torchlayers as tl
from torchlayers import optimizers as tlo
from torchlayers import schedules as tls
from torchlayers.registry import PREFIX, Catalog, registry

CHAIN = """
[model]
@layers = "chain.v1"

[model.*.a]
@layers = "Relu.v1"
nO = 4
nI = 3

[model.*.b]
@layers = "Softmax.v2"
nO = 2
nI = 4
"""


def test_namespaces_are_catalogue_registries_of_their_own():
    names = ("layers", "initializers", "losses", "optimizers", "schedules", "architectures")
    assert set(registry.namespaces()) >= set(names)
    for name in names:
        catalog = getattr(registry, name)
        assert isinstance(catalog, catalogue.Registry) and catalog.namespace == ("torchlayers", name)
        assert catalog.entry_point_namespace == f"torchlayers_{name}" and catalog.entry_points
    assert ("torchlayers", "layers", "chain.v1") in catalogue.REGISTRY
    assert catalogue.REGISTRY[("thinc", "layers", "chain.v1")] is not registry.layers.get("chain.v1")  # Thinc's own


def test_node_class_api_kept():
    assert registry.layers.node_class("Linear.v1") is tl.Linear and tl.Linear.registry_name == "Linear.v1"
    assert registry.layers.node_classes()["Linear.v1"] is tl.Linear
    assert registry.layers.node_class("clone.v1") is None
    with pytest.raises(ValueError, match="already registered"):
        registry.layers("Linear.v1")(lambda: None)


def test_entry_points(monkeypatch):
    module = types.ModuleType("tl_plugin_fake")
    module.make = lambda width=3: tl.Linear(width, 2)
    monkeypatch.setitem(sys.modules, "tl_plugin_fake", module)
    ep = importlib.metadata.EntryPoint("plugin_linear.v1", "tl_plugin_fake:make", "torchlayers_layers")
    monkeypatch.setattr(Catalog, "_get_entry_points", lambda self: [ep] if self.name == "layers" else [])
    assert "plugin_linear.v1" in registry.layers
    model = registry.resolve({"@layers": "plugin_linear.v1", "width": 5})
    assert type(model) is tl.Linear and model.get_dim("nO") == 5


def test_create_namespace():
    name = "readers_test_ns"
    registry.create(name)
    try:
        getattr(registry, name)("reader.v1")(lambda path="x": path.upper())
        assert registry.resolve({"r": {f"@{name}": "reader.v1", "path": "abc"}})["r"] == "ABC"
        with pytest.raises(ValueError, match="already exists"):
            registry.create(name)
    finally:
        delattr(registry, name)
        catalogue.REGISTRY.pop(("torchlayers", name, "reader.v1"), None)


def test_unknown_names_and_namespaces():
    with pytest.raises(KeyError, match=r"no function registered as 'Linear\.v9'; did you mean"):
        registry.resolve({"@layers": "Linear.v9"})
    with pytest.raises(ValueError, match="unknown namespace '@datasets'"):
        registry.resolve({"x": {"@datasets": "mnist.v1"}})


def test_prefixed_names_resolve_here_and_fail_in_thinc():
    qualified = registry.qualify(CHAIN)
    assert qualified["model"]["@layers"] == "torchlayers.chain.v1"
    assert qualified["model"]["*"]["a"]["@layers"] == PREFIX + "Relu.v1"
    model = registry.resolve(qualified)["model"]
    assert isinstance(model, tl.Model) and model.name == "relu>>softmax"
    assert registry.layers.get("torchlayers.Relu.v1") is registry.layers.get("Relu.v1")
    with pytest.raises(catalogue.RegistryError, match=r"torchlayers\.chain\.v1"):
        ta.registry.resolve(qualified)


def test_unqualified_config_builds_thinc_in_thinc_and_torchlayers_here():
    # The mix-up Thinc cannot see: the same text builds each library's model; the prefix above is the cure.
    theirs = ta.registry.resolve(Config().from_str(CHAIN))["model"]
    ours = registry.resolve(CHAIN)["model"]
    assert isinstance(theirs, ta.Model) and not isinstance(theirs, torch.nn.Module)
    assert isinstance(ours, tl.Model) and [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]


def test_a_thinc_model_in_a_config_raises():
    config = {"model": {"@layers": "chain.v1", "*": {"1": ta.Linear(2, 3), "2": {"@layers": "Relu.v1", "nO": 2}}}}
    with pytest.raises(TypeError, match=r"Thinc models at model\.\*\.1 \(thinc.model.Model 'linear'\).*from_thinc"):
        registry.resolve(config)
    with pytest.raises(TypeError, match="Thinc models"):
        registry.fill({"model": {"@layers": "residual.v1", "layer": ta.Relu(2, 2)}})


def test_a_function_returning_a_thinc_model_raises():
    registry.layers("thinc_maker_test.v1")(lambda: ta.Linear(2, 2))
    try:
        with pytest.raises(TypeError, match="Thinc models at <top>"):
            registry.resolve({"@layers": "thinc_maker_test.v1"})
    finally:
        catalogue.REGISTRY.pop(("torchlayers", "layers", "thinc_maker_test.v1"))


def test_thincs_own_function_is_refused_naming_thinc():
    def fake(nO: int = 2):
        return ta.Linear(nO)

    fake.__module__ = "thinc.layers.fake"
    ta.registry.layers("fake_thinc_only.v1")(fake)
    try:
        with pytest.raises(KeyError, match=r"is in thinc\.registry\.layers: torchlayers does not provide it"):
            registry.resolve({"@layers": "fake_thinc_only.v1"})
    finally:
        catalogue.REGISTRY.pop(("thinc", "layers", "fake_thinc_only.v1"))


def test_a_users_thinc_function_builds_torchlayers_layers():
    @ta.registry.layers("user_block_test.v1")
    def user_block(width: int, inner: ta.Model) -> ta.Model:
        return ta.chain(inner, ta.Relu(width, inner.get_dim("nO")))

    try:
        config = """
        [model]
        @layers = "user_block_test.v1"
        width = 5

        [model.inner]
        @layers = "Linear.v1"
        nO = 4
        nI = 3
        """
        model = registry.resolve(config)["model"]
        assert isinstance(model, tl.Model) and model.name == "linear>>relu"
        assert all(isinstance(n, tl.Model) for n in model.walk())
        with pytest.raises(ConfigValidationError, match=r"user_block_test.v1(.|\n)*width"):
            registry.resolve(config.replace("width = 5", 'width = "wide"'))
        # weights survive the trip through Thinc
        torch.manual_seed(0)
        inner = registry.resolve({"@layers": "Linear.v1", "nO": 4, "nI": 3})
        built = registry.get("layers", "user_block_test.v1")(5, inner)
        assert torch.equal(torch.as_tensor(built.layers[0].get_param("W")), torch.as_tensor(inner.get_param("W")))
    finally:
        catalogue.REGISTRY.pop(("thinc", "layers", "user_block_test.v1"))


# ------------------------------------------------------------------------------ optimizers
def test_optimizers_are_torch_factories():
    config = """
    [optimizer]
    @optimizers = "Adam.v1"
    learn_rate = 0.01
    L2 = 0.001
    """
    factory = registry.resolve(config)["optimizer"]
    model = tl.Linear(2, 3)
    opt = factory(model)
    assert isinstance(opt, torch.optim.AdamW) and opt.param_groups[0]["lr"] == 0.01
    assert opt.param_groups[0]["weight_decay"] == 0.001
    assert isinstance(tlo.Adam(L2_is_weight_decay=False)(model), torch.optim.Adam)
    assert isinstance(tlo.RAdam()(model), torch.optim.RAdam)
    assert isinstance(tlo.SGD(0.1)(model.parameters()), torch.optim.SGD)
    with pytest.raises(TypeError, match="Adam: learn_rate must be a number or a schedule"):
        tlo.Adam("fast")
    with pytest.raises(TypeError, match="Adam: L2 must be a number"):
        tlo.Adam(L2=[0.1, 0.2])


@pytest.mark.parametrize("L2", [0.0, 0.01])
def test_sgd_matches_thinc_with_clipping_decay_and_a_schedule(L2):
    rng = numpy.random.default_rng(0)
    W0 = rng.normal(size=(3, 2)).astype("float32")
    grads = [rng.normal(size=(3, 2)).astype("float32") * s for s in (5.0, 0.1, 3.0)]
    rates = [0.1, 0.05, 0.02]
    theirs = ta.SGD(iter(rates), L2=L2, grad_clip=1.0)
    W_t = W0.copy()
    p = torch.nn.Parameter(torch.from_numpy(W0.copy()))
    ours = tlo.SGD(list(rates), L2=L2, grad_clip=1.0)([p])
    for g in grads:
        W_t, _ = theirs((0, "W"), W_t, g.copy())
        theirs.step_schedules()
        p.grad = torch.from_numpy(g.copy())
        ours.step()
    numpy.testing.assert_allclose(p.detach().numpy(), W_t, rtol=1e-6, atol=1e-7)


def test_finish_update_takes_a_resolved_optimizer():
    model = tl.Linear(2, 3)
    opt = registry.resolve({"o": {"@optimizers": "SGD.v1", "learn_rate": 0.5, "grad_clip": 0.0}})["o"](model)
    before = torch.as_tensor(model.get_param("W")).clone()
    Y, backprop = model(torch.ones(4, 3), is_train=True)
    backprop(torch.ones_like(Y))
    model.finish_update(opt)
    assert not torch.equal(torch.as_tensor(model.get_param("W")), before)


# ------------------------------------------------------------------------------ schedules
SCHEDULES = [
    ("constant.v1", {"rate": 0.3}),
    ("decaying.v1", {"base_rate": 0.5, "decay": 0.1, "t": 2}),
    ("compounding.v1", {"start": 1.0, "stop": 10.0, "compound": 1.5}),
    ("compounding.v1", {"start": 10.0, "stop": 1.0, "compound": 0.5}),
    ("slanted_triangular.v1", {"max_rate": 0.1, "num_steps": 20}),
    ("warmup_linear.v1", {"initial_rate": 0.1, "warmup_steps": 3, "total_steps": 8}),
    ("cyclic_triangular.v1", {"min_lr": 0.01, "max_lr": 0.1, "period": 3}),
]


@pytest.mark.parametrize("name, args", SCHEDULES)
def test_schedules_match_thinc(name, args):
    ours = registry.resolve({"s": {"@schedules": name, **args}})["s"]
    theirs = ta.registry.resolve({"s": {"@schedules": name, **args}})["s"]
    numpy.testing.assert_allclose(list(itertools.islice(ours, 25)), list(itertools.islice(theirs, 25)), rtol=1e-12)


def test_constant_then_nests_a_schedule():
    config = {"s": {"@schedules": "constant_then.v1", "rate": 1.0, "steps": 2,
                    "schedule": {"@schedules": "decaying.v1", "base_rate": 0.5, "decay": 1.0}}}
    ours = list(itertools.islice(registry.resolve(config)["s"], 4))
    theirs = list(itertools.islice(ta.registry.resolve(config)["s"], 4))
    assert ours == theirs == [1.0, 1.0, 0.5, 0.25]
    assert tls.constant(2.0).__next__() == 2.0


def test_the_module_docstring_example_runs():
    module = sys.modules["torchlayers.registry"]  # (torchlayers.registry, the attribute, is the class)

    text = module.__doc__.split("CONFIG = '''", 1)[1].split("'''", 1)[0]
    model = registry.resolve(text.replace("\n    ", "\n"))["model"]
    assert model.name == "relu>>softmax" and model.layers[0].get_dim("nO") == 32
    assert model.layers[0]._param_specs["W"].init is tl.initializers.glorot_uniform_init


def test_get_returns_the_registered_function():
    assert registry.get("layers", "Linear.v1") is tl.Linear
    assert registry.get("layers", "torchlayers.Maxout.v1") is tl.Maxout
    assert registry.has("layers", "Linear.v1") and not registry.has("layers", "Linear.v9")
    assert not registry.has("nonexistent", "Linear.v1")
