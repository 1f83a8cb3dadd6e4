"""Model.define_operators with Thinc's semantics: >> chain, | concatenate, + add, ** clone;
nested contexts replace the outer mapping; an unbound operator raises TypeError. Trees are
compared with the ones thinc 8.3.14 builds from the same expression."""
from __future__ import annotations

import threading

import pytest
import thinc.api as ta

import torchlayers as tl
from torchlayers.combinators.add import add
from torchlayers.combinators.clone import clone
from torchlayers.combinators.concatenate import concatenate

OURS = {">>": tl.chain, "|": tl.concatenate, "+": tl.add, "**": clone}  # the facade: Thinc's flattening
THEIRS = {">>": ta.chain, "|": ta.concatenate, "+": ta.add, "**": ta.clone}


def tree(model):
    """(name, dim names, children trees): the structure walk(), serialization and names rely on."""
    return (model.name, tuple(model.dim_names), tuple(tree(child) for child in model.layers))


def build(lib, ops, expression):
    with lib.Model.define_operators(ops):
        return expression(lib)


EXPRESSIONS = {
    "chain_nests": lambda L: L.Linear(4) >> L.Relu(3) >> L.Linear(2),
    "concatenate_flattens": lambda L: L.Linear(4) | L.Relu(3) | L.Linear(2),
    "add_flattens": lambda L: L.Linear(4) + L.Linear(4) + L.Linear(4),
    "clone": lambda L: L.Linear(4) ** 3,
    "clone_once": lambda L: L.Relu(4) ** 1,
    "clone_zero": lambda L: L.Relu(4) ** 0,
    "mixed": lambda L: (L.Linear(4) | L.Relu(2)) >> (L.Linear(3) + L.Relu(3)) >> L.Linear(2) ** 2,
    "parenthesized": lambda L: L.Linear(4) | (L.Relu(3) | L.Linear(2)),
}


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_same_tree_as_thinc(name):
    ours = build(tl, OURS, EXPRESSIONS[name])
    theirs = build(ta, THEIRS, EXPRESSIONS[name])
    assert tree(ours) == tree(theirs)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]


def test_specific_shapes():
    with tl.Model.define_operators(OURS):
        a, b, c = tl.Linear(2), tl.Linear(3), tl.Linear(4)
        chained = a >> b >> c
        assert isinstance(chained.layers[0], tl.chain) and chained.layers[1] is c  # never flattens
        cat = a | b | c
        assert isinstance(cat, concatenate) and list(cat.layers) == [a, b, c]
        total = a + b + c
        assert isinstance(total, add) and list(total.layers) == [a, b, c]
        cloned = a ** 3
        assert isinstance(cloned, tl.chain) and cloned.layers[0] is a and len(cloned.layers) == 3


def test_undefined_operator_raises_type_error():
    a, b = tl.Linear(2), tl.Linear(2)
    with pytest.raises(TypeError, match="Undefined operator: >>"):
        a >> b
    with pytest.raises(TypeError, match=r"Undefined operator: >>"):
        ta.Linear(2) >> ta.Linear(2)  # thinc says the same
    with tl.Model.define_operators({"+": add}):
        with pytest.raises(TypeError, match="Undefined operator: \\|"):
            a | b
        with pytest.raises(TypeError, match="Undefined operator: -"):
            a - b


def test_nested_context_replaces_and_restores():
    a, b = tl.Linear(2), tl.Linear(2)
    with tl.Model.define_operators({">>": tl.chain, "+": add}):
        with tl.Model.define_operators({"+": concatenate}):
            with pytest.raises(TypeError, match="Undefined operator: >>"):
                a >> b
            assert isinstance(a + b, concatenate)
        assert isinstance(a + b, add) and isinstance(a >> b, tl.chain)
    with pytest.raises(TypeError):
        a + b
    # thinc's nesting replaces too
    with ta.Model.define_operators({">>": ta.chain}):
        with ta.Model.define_operators({"+": ta.add}):
            with pytest.raises(TypeError):
                ta.Linear(2) >> ta.Linear(2)


def test_operators_are_per_thread():
    seen = []

    def other_thread():
        try:
            tl.Linear(2) >> tl.Linear(2)
            seen.append("bound")
        except TypeError:
            seen.append("unbound")

    with tl.Model.define_operators({">>": tl.chain}):
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert seen == ["unbound"]


def test_any_bindable_operator():
    calls = []

    def record(symbol):
        return lambda x, y: calls.append((symbol, x.name, y)) or x

    symbols = ["+", "-", "*", "@", "/", "//", "%", "**", "<<", ">>", "&", "^", "|"]
    a = tl.Linear(2)
    with tl.Model.define_operators({s: record(s) for s in symbols}):
        a + 1; a - 1; a * 1; a @ 1; a / 1; a // 1; a % 1; a ** 1; a << 1; a >> 1; a & 1; a ^ 1; a | 1  # noqa: E702
    assert [c[0] for c in calls] == symbols


def test_binding_the_classes_builds_one_node_per_operator():
    from torchlayers.combinators.add import add as add_class
    from torchlayers.combinators.concatenate import concatenate as concatenate_class

    a, b, c = tl.Linear(2), tl.Linear(3), tl.Linear(4)
    with tl.Model.define_operators({"|": concatenate_class, "+": add_class}):
        cat = a | b | c
        total = a + b + c
    assert type(cat) is concatenate_class and len(cat.layers) == 2 and list(cat.layers[0].layers) == [a, b]
    assert type(total) is add_class and len(total.layers) == 2 and list(total.layers[0].layers) == [a, b]
