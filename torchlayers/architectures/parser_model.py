"""spaCy 3.8's transition-based parser/NER scoring model: ``spacy.TransitionBasedParser.v2``
(``spacy/ml/models/parser.py``) building ``spacy.TransitionModel.v1`` (``spacy/ml/tb_framework.py``),
the ``parser_model`` node, with the scoring of ``spacy/ml/parser_model.pyx`` (its greedy C path).

Shape: ``(docs, token_ids)`` -> (S, nA) action scores, where docs is a list of B docs (N tokens in
all) and token_ids (S, nF) int are the batch-level indices of each state's feature tokens (-1 where
the state has none; spaCy's ``set_context_tokens`` plus the doc's offset in the batch).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Optional, Sequence, Set, Tuple, cast

import torch
from torch import Tensor

from ..combinators.chain import chain
from ..combinators.noop import noop
from ..functional.checks import check_param
from ..initializers import zero_init
from ..model import Model
from ..modules.linear import Linear
from ..modules.list2array import list2array
from ..modules.precomputable_affine import PrecomputableAffine, state_sums
from ..registry import registry

__all__ = ["TransitionModel", "build_tb_parser_model", "resize_output"]

#: spaCy's number of state feature tokens: (state_type, extra_state_tokens) -> nF.
N_FEATURES = {("parser", False): 8, ("parser", True): 13, ("ner", False): 3, ("ner", True): 6}


@registry.layers("spacy.TransitionModel.v1")
class TransitionModel(Model):
    """``TransitionModel(tok2vec, lower, upper, resize_output, dropout=0.2, unseen_classes=set())``, the
    ``parser_model`` node: layers ``[tok2vec, lower, upper]`` (``noop()`` when ``upper`` is None), refs of
    the same names, attrs ``has_upper``, ``unseen_classes`` (action indices scored as the batch minimum)
    and ``resize_output``; dim ``nI``.

    Shape (torch face, and the Thinc face: spaCy's returns a step model instead, COMPATIBILITY.md):
        - Input: ``(docs, token_ids)``: B docs; token_ids (S, nF) int, -1 for a missing token
        - Output: (S, nA) float action scores
    ``precompute(docs)`` gives the lower layer's table (N + 1, nF, nO, nP) once per batch and
    ``score(table, token_ids)`` the scores of any states over it: ``sum_f table[ids + 1, f] + b``, max
    over the nP pieces (one piece: the sum itself, as spaCy's greedy parse), then ``upper`` if present.
    """

    __jit_unused_properties__ = [*Model.__jit_unused_properties__, "n_features"]  # noqa: RUF012

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        has_upper: bool
        unseen_classes: Set[int]
        script_unseen: Tuple[int, ...]  # set by deploy.script on its copy (script_constants)

    def __init__(self, tok2vec: Model, lower: Model, upper: Optional[Model], resize_output: Callable[..., Any],
                 dropout: float = 0.2, unseen_classes: Iterable[int] = ()) -> None:
        for what, layer in (("tok2vec", tok2vec), ("lower", lower), ("upper", upper)):
            if layer is not None and not isinstance(layer, Model):
                raise TypeError(f"parser_model: {what} must be a torchlayers Model, got {type(layer).__name__}")
        if not isinstance(lower, PrecomputableAffine):
            raise TypeError(f"parser_model: lower must be a PrecomputableAffine (spaCy's precomputable_affine), "
                            f"got {type(lower).__name__}")
        if not callable(resize_output):
            raise TypeError(f"parser_model: resize_output must be callable (model, new_nO) -> model, got "
                            f"{type(resize_output).__name__}")
        has_upper = upper is not None
        upper_layer = upper if upper is not None else noop()
        super().__init__("parser_model", dims={"nI": tok2vec.maybe_get_dim("nI")},
                         layers=[tok2vec, lower, upper_layer],
                         attrs={"has_upper": has_upper, "unseen_classes": set(unseen_classes),
                                "resize_output": resize_output})
        self.set_ref("tok2vec", tok2vec)
        self.set_ref("lower", lower)
        self.set_ref("upper", upper_layer)

    # ------------------------------------------------------------------ conversion hooks
    @classmethod
    def from_thinc_node(cls, node: Any, children: list) -> TransitionModel:
        """``from_thinc``: spaCy's node keeps a ``noop`` upper when it has none; resize_output becomes ours."""
        tok2vec, lower, upper = children
        return cls(tok2vec, lower, upper if node.attrs["has_upper"] else None, resize_output,
                   unseen_classes=node.attrs.get("unseen_classes", ()))

    def thinc_arguments(self, thinc_fn: Callable, children: list) -> tuple:
        """``to_thinc``: spaCy's ``TransitionModel`` arguments, with spaCy's resize_output."""
        from spacy.ml.models.parser import resize_output as spacy_resize_output

        tok2vec, lower, upper = children
        return [tok2vec, lower, upper if self.attrs["has_upper"] else None, spacy_resize_output], {
            "unseen_classes": set(self.attrs["unseen_classes"])}

    # ------------------------------------------------------------------ scoring
    @property
    def n_features(self) -> int:
        return self.get_ref("lower").get_dim("nF")

    def precompute(self, docs: Sequence[Any]) -> Tensor:
        """B docs -> the lower layer's (N + 1, nF, nO, nP) table (row 0 the padding)."""
        return self.layers[1](self.layers[0](docs))

    def score(self, table: Tensor, token_ids: Tensor) -> Tensor:
        """(N + 1, nF, nO, nP) table, (S, nF) token ids -> (S, nA) scores (spaCy's ``predict_states``).

        Reads the layers as ``self.layers`` (tok2vec, lower, upper: the refs) and the unseen classes
        as ``script_unseen`` under TorchScript (``script_constants``), so it scripts; the ids' range
        check is a graph op when traced (``state_sums``)."""
        b = check_param("parser_model", self.layers[1].bias, "b of the lower layer")  # type: ignore[arg-type]
        if not torch.jit.is_scripting():
            if not isinstance(token_ids, Tensor):
                token_ids = torch.as_tensor(token_ids)
        summed = state_sums(table, token_ids.to(table.device)) + b
        hidden = summed.max(dim=-1)[0] if summed.shape[-1] >= 2 else summed[..., 0]
        scores = self.layers[2](hidden) if self.has_upper else hidden
        if torch.jit.is_scripting():
            unseen = self.script_unseen
        else:
            unseen = tuple(sorted(self.unseen_classes))
        if len(unseen) > 0 and scores.numel() > 0:
            mask = torch.zeros(scores.shape[1], dtype=torch.bool, device=scores.device)
            for i in unseen:
                mask[i] = True
            scores = torch.where(mask, scores.min(), scores)
        return scores

    def script_constants(self, arg_type: Any) -> Dict[str, Tuple[int, ...]]:
        """``deploy.script``'s per-instance constants: the unseen classes as a tuple (TorchScript has
        no sets; the scripted program keeps the classes unseen when it was scripted)."""
        return {"script_unseen": tuple(sorted(int(i) for i in self.unseen_classes))}

    def forward(self, X: Tuple[Sequence[Any], Tensor]) -> Tensor:
        if not torch.jit.is_scripting():
            if not isinstance(X, (tuple, list)) or len(X) != 2:
                raise TypeError(f"parser_model: expected (docs, token_ids), got {type(X).__name__}; give the docs "
                                f"and the (states, nF) token ids of the states to score")
        docs, token_ids = X[0], X[1]
        return self.score(self.layers[1](self.layers[0](docs)), token_ids)

    def _initialize(self, X: Any, Y: Any) -> None:
        """spaCy's init: tok2vec on the docs, lower on its own, upper on two zero state vectors."""
        docs = X[0] if isinstance(X, (tuple, list)) and len(X) == 2 and isinstance(X[1], Tensor) else X
        self.get_ref("tok2vec")._initialize(docs, None)
        lower = self.get_ref("lower")
        lower._initialize(None, None)
        if self.attrs["has_upper"]:
            statevecs = torch.zeros(2, lower.get_dim("nO"), device=self.device)
            self.get_ref("upper")._initialize(statevecs, None)
        if self.get_ref("tok2vec").has_dim("nI"):
            self.set_dim("nI", self.get_ref("tok2vec").get_dim("nI"))


@registry.architectures("spacy.TransitionBasedParser.v2")
def build_tb_parser_model(tok2vec: Model, state_type: str, extra_state_tokens: bool, hidden_width: int,
                          maxout_pieces: int, use_upper: bool, nO: Optional[int] = None) -> Model:
    """``chain(tok2vec, list2array, Linear(hidden_width))`` into ``PrecomputableAffine(nF, hidden_width,
    maxout_pieces)`` and, with ``use_upper``, a zero-initialized ``Linear(nO)``: spaCy's tree and dims."""
    key = (state_type, bool(extra_state_tokens))
    if key not in N_FEATURES:
        raise ValueError(f"spacy.TransitionBasedParser.v2: state_type must be 'parser' or 'ner', got {state_type!r}")
    nr_feature_tokens = N_FEATURES[key]
    t2v_width = tok2vec.get_dim("nO") if tok2vec.has_dim("nO") else None
    tok2vec = chain(tok2vec, list2array(), Linear(hidden_width, t2v_width))
    tok2vec.set_dim("nO", hidden_width)
    lower = _define_lower(nO=hidden_width if use_upper else nO, nF=nr_feature_tokens, nI=tok2vec.get_dim("nO"),
                          nP=maxout_pieces)
    upper = _define_upper(nO=nO, nI=None) if use_upper else None
    return TransitionModel(tok2vec, lower, upper, resize_output)


def _define_upper(nO: Optional[int], nI: Optional[int]) -> Model:
    return Linear(nO=nO, nI=nI, init_W=zero_init)


def _define_lower(nO: Optional[int], nF: int, nI: Optional[int], nP: int) -> Model:
    return PrecomputableAffine(nO=nO, nF=nF, nI=nI, nP=nP)


def resize_output(model: Model, new_nO: int) -> Model:
    """spaCy's ``resize_output``: grow the upper layer (or the lower one without an upper) to ``new_nO``
    actions, keeping the old weights; the new actions join ``unseen_classes``."""
    if model.attrs["has_upper"]:
        return _resize_upper(model, new_nO)
    return _resize_lower(model, new_nO)


def _mark_unseen(model: Model, old_nO: int, new_nO: int) -> None:
    unseen: Set[int] = model.attrs["unseen_classes"]
    unseen.update(range(old_nO, new_nO))


def _resize_upper(model: Model, new_nO: int) -> Model:
    upper = model.get_ref("upper")
    if upper.has_dim("nO") is None:
        upper.set_dim("nO", new_nO)
        return model
    if new_nO == upper.get_dim("nO"):
        return model
    nI = upper.maybe_get_dim("nI")
    larger = _define_upper(nO=new_nO, nI=nI)
    if upper.has_param("W"):
        old_nO = upper.get_dim("nO")
        W = torch.zeros(new_nO, cast(int, nI))
        b = torch.zeros(new_nO)
        W[:old_nO] = upper.get_param_tensor("W").detach().cpu()
        b[:old_nO] = upper.get_param_tensor("b").detach().cpu()
        _mark_unseen(model, old_nO, new_nO)
        larger.set_param("W", W)
        larger.set_param("b", b)
    model.layers[2] = larger
    model.set_ref("upper", larger)
    return model


def _resize_lower(model: Model, new_nO: int) -> Model:
    lower = model.get_ref("lower")
    if lower.has_dim("nO") is None:
        lower.set_dim("nO", new_nO)
        return model
    nI, nF, nP = (lower.maybe_get_dim(d) for d in ("nI", "nF", "nP"))
    larger = _define_lower(nO=new_nO, nI=nI, nF=cast(int, nF), nP=cast(int, nP))
    if lower.has_param("W"):
        old_nO = lower.get_dim("nO")
        W = torch.zeros(cast(int, nF), new_nO, cast(int, nP), cast(int, nI))
        b = torch.zeros(new_nO, cast(int, nP))
        pad = torch.zeros(1, cast(int, nF), new_nO, cast(int, nP))
        W[:, :old_nO] = lower.get_param_tensor("W").detach().cpu()
        pad[:, :, :old_nO] = lower.get_param_tensor("pad").detach().cpu()
        b[:old_nO] = lower.get_param_tensor("b").detach().cpu()
        _mark_unseen(model, old_nO, new_nO)
        larger.set_param("W", W)
        larger.set_param("b", b)
        larger.set_param("pad", pad)
    model.layers[1] = larger
    model.set_ref("lower", larger)
    return model
