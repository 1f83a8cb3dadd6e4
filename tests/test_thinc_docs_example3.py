"""Thinc docs example 3 (api-layers ``with_debug``), unchanged except the import."""
from __future__ import annotations


def test_example_3_with_debug(capsys):
    # --- the docs example, verbatim except the import ------------------------------------
    from torchlayers import Linear, with_debug

    def on_init(model, X, Y):
        print(f"X: {type(Y)}, Y ({type(Y)})")

    model = with_debug(Linear(2, 5), on_init=on_init)
    model.initialize()
    # ------------------------------------------------------------------------------------
    assert capsys.readouterr().out == "X: <class 'NoneType'>, Y (<class 'NoneType'>)\n"  # called once
    assert model.name == "linear"
    assert isinstance(model, Linear) and model.get_param("W").shape == (2, 5)

    calls = []
    layer = Linear(2, 5)
    same = with_debug(layer, on_init=lambda *args: calls.append(args))
    same.initialize()
    assert same is layer and calls == [(layer, None, None)] and same.name == "linear"
