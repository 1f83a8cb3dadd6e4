"""The packed form of a converted spaCy module: the featurizer's output (one feature list, an n-gram
tuple, or a tuple of those) in, every list packed as a ``Ragged``, N and B symbolic: the module
``torch.export`` exports and ``torch.compile(fullgraph=True, dynamic=True)`` compiles.

``pack_features(featurizer, features)`` packs the featurizer's output once, at the boundary:

| featurizer output | packed |
|---|---|
| a list of B (n_i, ...) id tensors (``extract_features``, ``charembed``, ``static_vectors``) | ``Ragged`` |
| ``(keys, values, lengths)`` (``extract_ngrams``) | itself |
| a tuple of those (several Doc-reading nodes) | the tuple of each packed |

``packed_form(module, packed)`` rewrites the module with ``torchlayers.deploy.sequences``' rewriter
(its table: ``list2ragged``, ``ragged2list``, ``with_array``, ``with_padded``, ``concatenate``,
``with_cpu``, ``list2array``, ``chain``, ...; the tuple of feature inputs is its kind ``"tuple"``)
plus the rules of spaCy's models, which this module registers there (``register_rules``):

| node, on what flows in | packed form |
|---|---|
| ``FeatureInput(slot)``, on the tuple | ``X[slot]`` (a packed list, or the n-gram tuple) |
| ``CharacterEmbed`` / ``SpacyStaticVectors``, on the tuple or a packed list | its row-wise op on the Ragged's data |
| ``parser_model`` on ``(features, token_ids)`` | tok2vec and lower rewritten, then ``score`` |

Every per-token input (a packed list) has the same row count N (one row a token), the n-gram
tuple its own count K, and every ``lengths`` is the batch size B: ``export_packed`` makes these
the program's symbolic dims (N and K bounded by 2**62 - 1, the bound torch's guards need on an
(N, C) id tensor; B and the parser's state count S from 2 up when exported).
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple, cast

import torch
from torch import Tensor, nn

from ...model import Model
from ...types import Ragged

__all__ = ["pack_features", "packed_form", "export_packed", "PackedForm", "dynamic_spec"]

#: torch's bound on a symbolic size that indexes an (N, C) tensor (an unbounded N fails a guard)
MAX_ROWS = 2**62 - 1


def _pack_one(features: Any, where: str) -> Any:
    from ...modules.list2ragged import list2ragged

    if isinstance(features, list):
        return list2ragged()(features)
    if isinstance(features, tuple) and all(isinstance(x, Tensor) for x in features):
        return features
    raise TypeError(f"pack_features: {where}: expected a list of B id tensors or an (keys, values, lengths) tuple "
                    f"from the featurizer, got {type(features).__name__}")


def pack_features(featurizer: Any, features: Any) -> Any:
    """The featurizer's output packed for the packed form (see the module docstring)."""
    sources = getattr(featurizer, "sources", None)
    if sources is None:
        raise TypeError(f"pack_features: expected the component's Featurizer, got {type(featurizer).__name__}")
    if len(sources) == 1:
        return _pack_one(features, featurizer.names[0])
    if not isinstance(features, tuple) or len(features) != len(sources):
        raise TypeError(f"pack_features: {featurizer} gives a tuple of {len(sources)} feature inputs, got "
                        f"{type(features).__name__}; pass featurizer(docs)")
    return tuple(_pack_one(f, name) for f, name in zip(features, featurizer.names))


def _kind(packed: Any) -> str:
    """What flows into the module: a packed list, a value (the n-gram tuple), or the tuple of inputs."""
    if isinstance(packed, Ragged):
        return "list"
    if isinstance(packed, list):
        return "unpacked"  # a feature list not packed (only in errors)
    if isinstance(packed, tuple) and packed and not all(isinstance(x, Tensor) for x in packed):
        return "tuple"
    return "value"


class _Slot(nn.Module):
    """``FeatureInput(slot)`` on the tuple of packed inputs."""

    def __init__(self, slot: int) -> None:
        super().__init__()
        self.slot = slot

    def forward(self, X: Any) -> Any:
        return X[self.slot]


class _RowWise(nn.Module):
    """A Doc-reading node's op on the Ragged of its ids (``CharacterEmbed``: (n, nC) byte ids ->
    (n, nC * nM); ``SpacyStaticVectors``: (n,) vector rows -> (n, nO), zero for row -1)."""

    def __init__(self, node: Model, slot: Optional[int]) -> None:
        super().__init__()
        self.node = node
        self.slot = slot

    def forward(self, X: Any) -> Ragged:
        from ...functional.checks import check_param
        from ...modules.character_embed import CharacterEmbed
        from ...modules.static_vectors import StaticVectors

        R = X[self.slot] if self.slot is not None else X
        if isinstance(self.node, CharacterEmbed):
            E = check_param(self.node.name, self.node.E, "E")
            positions = torch.arange(E.shape[0], device=E.device)
            vectors = E[positions.unsqueeze(0), R.data.to(E.device).long()]
            return Ragged(vectors.reshape(R.data.shape[0], E.shape[0] * E.shape[2]), R.lengths)
        return Ragged(StaticVectors.forward(cast(StaticVectors, self.node), R.data.reshape(-1) + 1), R.lengths)


def _spacy_rules(model: nn.Module, kind: str, rw: Any, steps: List[nn.Module]) -> Optional[str]:
    """spaCy's rules in ``deploy.sequences``' table (``register_rules``): FeatureInput on the tuple of
    inputs, CharacterEmbed / SpacyStaticVectors on the tuple or a packed list; None for any other node."""
    from ...modules.character_embed import CharacterEmbed
    from ...modules.spacy_static_vectors import SpacyStaticVectors
    from .features import FeatureInput

    name = getattr(model, "name", type(model).__name__)
    if isinstance(model, FeatureInput):
        if kind != "tuple":
            raise TypeError(f"packed_form: {name} (slot {model.slot}) reads the featurizer's tuple, but a {kind} "
                            "flows into it")
        steps.append(_Slot(model.slot))
        return cast(str, rw.slots[model.slot])
    if isinstance(model, (CharacterEmbed, SpacyStaticVectors)) and kind in ("tuple", "list"):
        slot = model.slot if kind == "tuple" else None
        if kind == "tuple" and (slot is None or rw.slots[slot] != "list"):
            raise TypeError(f"packed_form: {name} reads slot {slot} of the featurizer's tuple, which is no id list")
        steps.append(_RowWise(model, slot))
        return "list" if isinstance(model, CharacterEmbed) else "value"
    return None


def _register() -> None:
    from ...deploy.sequences import register_rules

    register_rules("spacy", _spacy_rules, "FeatureInput, charembed, static_vectors")


_register()


class PackedForm(nn.Module):
    """A converted module on its packed input (see the module docstring): packed features -> the
    module's output, lists returned packed as a Ragged."""

    def __init__(self, steps: List[nn.Module], source: nn.Module, structure: Tuple[str, ...]) -> None:
        super().__init__()
        self.steps = nn.ModuleList(steps)
        self.source_name = getattr(source, "name", type(source).__name__)
        self.structure = structure  # _structure() of the packed features it was built for

    def forward(self, X: Any) -> Any:
        if _structure(X) != self.structure:
            raise TypeError(f"packed_form({self.source_name}): expected the packed features {_describe(self.structure)}"
                            f", got {_describe(_structure(X))}; pack them with pack_features(featurizer, "
                            "featurizer(docs)) (SpacyComponent.ragged_features(docs))")
        for step in self.steps:
            X = step(X)
        return X


def _structure(packed: Any) -> Tuple[str, ...]:
    """('list',) for a Ragged, ('value',) for a tensor or the n-gram tuple, else each slot's kind."""
    kind = _kind(packed)
    return tuple(_kind(x) for x in packed) if kind == "tuple" else (kind,)


def _describe(structure: Tuple[str, ...]) -> str:
    names = {"list": "a Ragged", "value": "a tensor or (keys, values, lengths)", "tuple": "a tuple",
             "unpacked": "a list (not packed)"}
    parts = [names[k] for k in structure]
    return parts[0] if len(parts) == 1 else f"(a tuple of {', '.join(parts)})"


class PackedTransition(nn.Module):
    """``parser_model`` on ``(packed features, (S, nF) token ids)`` -> (S, nA) action scores: the
    tok2vec's packed form and the lower layer give the table, ``score`` the states' scores."""

    def __init__(self, model: Model, tok2vec: PackedForm) -> None:
        super().__init__()
        self.model = model
        self.tok2vec = tok2vec

    def forward(self, X: Any, token_ids: Tensor) -> Tensor:
        table = cast(Tensor, self.model.get_ref("lower")(self.tok2vec(X)))
        return cast(Any, self.model).score(table, token_ids)


def packed_form(module: Model, packed: Any) -> nn.Module:
    """``module`` (a ``from_spacy(...).module``) on the packed features ``packed`` (their structure
    decides the rules); a ``parser_model`` gives a ``PackedTransition``."""
    from ...architectures.parser_model import TransitionModel

    if isinstance(module, TransitionModel):
        return PackedTransition(module, packed_form(module.get_ref("tok2vec"), packed))  # type: ignore[arg-type]
    from ...deploy.sequences import Rewriter

    kind = _kind(packed)
    steps: List[nn.Module] = []
    Rewriter([_kind(x) for x in packed] if kind == "tuple" else []).rewrite(module, kind, steps)
    return PackedForm(steps, module, _structure(packed))


def dynamic_spec(packed: Any) -> Any:
    """The ``dynamic_shapes`` entry of packed features: per-token data rows N, n-gram rows K, lengths B."""
    N = torch.export.Dim("N", min=2, max=MAX_ROWS)
    K = torch.export.Dim("K", min=2, max=MAX_ROWS)
    B = torch.export.Dim("B", min=2)

    def one(x: Any) -> Any:
        if isinstance(x, Ragged):
            rest = dict.fromkeys(range(1, x.data.dim()), torch.export.Dim.STATIC)
            return Ragged({0: N, **rest}, {0: B})  # type: ignore[arg-type]
        return ({0: K}, {0: K}, {0: B})  # (keys, values, lengths)

    return tuple(one(x) for x in packed) if _kind(packed) == "tuple" else one(packed)


def export_packed(module: Model, packed: Any, token_ids: Optional[Tensor] = None) -> Any:
    """``torch.export`` of ``packed_form(module, packed)`` (eval mode), N, K, B (and the states S of a
    ``parser_model``, given its ``token_ids``) symbolic. The program takes what it was exported on:
    ``(packed,)``, or ``(packed, token_ids)`` for the parser."""
    from ...architectures.parser_model import TransitionModel

    form = packed_form(module, packed).eval()
    if isinstance(module, TransitionModel):
        if token_ids is None:
            raise TypeError(f"export_packed: {module.name} scores states: pass token_ids, the (S, nF) ids of "
                            "some states (parser.context_token_ids)")
        S = torch.export.Dim("S", min=2, max=MAX_ROWS)
        args: Tuple[Any, ...] = (packed, token_ids)
        spec: Tuple[Any, ...] = (dynamic_spec(packed), {0: S, 1: torch.export.Dim.STATIC})
    else:
        args, spec = (packed,), (dynamic_spec(packed),)
    return torch.export.export(form, args, dynamic_shapes=spec)
