"""``ModelNode``, the bottom layer of ``Model``: a node of Thinc's tree on ``nn.Module``.

Its name and process-unique ``id``, its ``layers`` (children), refs (named pointers into the
tree), attrs (``LiveAttrs``: a live dict view of module attributes), the tree walk and edits
(``walk``, ``replace_node``, ``remove_node``, ``copy``, ``wrap_model_recursive``) and where it
lives (``device``, ``ops``, ``to_cpu``, ``to_gpu``). The state is set by ``Model.__init__``.
"""
from __future__ import annotations

import itertools
import threading
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    MutableMapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    cast,
)

import torch
from torch import nn

from ..ops import TorchOps, ops_for

if TYPE_CHECKING:
    from . import Model

_ids = itertools.count(1)
_ids_lock = threading.Lock()


def _next_id() -> int:
    with _ids_lock:
        return next(_ids)


_M = TypeVar("_M", bound="ModelNode")


class LiveAttrs(MutableMapping):
    """``model.attrs``: a dict view whose values are the module's own attributes, so
    ``node.attrs["dropout_rate"] = 0.5`` changes what ``forward`` reads on the next call."""

    def __init__(self, model: ModelNode) -> None:
        self._model = model

    def __getitem__(self, key: str) -> Any:
        if key not in self._model._attr_names:
            raise KeyError(f"{self._model.name}: no attr {key!r}; attrs are {list(self._model._attr_names)}")
        return getattr(self._model, key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._model.set_attr(key, value)

    def __delitem__(self, key: str) -> None:
        self._model._attr_names.remove(key)
        delattr(self._model, key)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._model._attr_names))

    def __len__(self) -> int:
        return len(self._model._attr_names)

    def __repr__(self) -> str:
        return repr(dict(self.items()))



class ModelNode(nn.Module):
    """The node: identity, children, refs, attrs, the tree walk and edits, device and ops."""

    if TYPE_CHECKING:  # for mypy only, set by Model.__init__: class-level annotations would reach TorchScript
        name: str
        _id: int
        layers: nn.ModuleList
        _refs: Dict[str, Optional[Model]]
        _attr_names: List[str]

    @property
    def attrs(self) -> LiveAttrs:
        """Thinc's ``model.attrs``: a live dict view of this node's attrs (``dropout_rate``, ``nOs``...).

        Values are the module's own attributes: ``model.attrs["dropout_rate"] = 0.5`` changes what the
        next ``forward`` reads. Unknown keys raise KeyError naming the known ones.
        """
        return LiveAttrs(self)

    def set_attr(self, key: str, value: Any) -> None:
        """Set attr ``key`` (``model.attrs[key] = value``), registering it on first use.

        The value is stored as a module attribute (what ``forward`` reads) and serialized when it is
        JSON-able. Raises ValueError when ``key`` would shadow a method or property of the class.
        """
        if key not in self._attr_names:
            if hasattr(self, key) and not key.startswith("_"):
                existing = getattr(type(self), key, None)
                if callable(existing) or isinstance(existing, property):
                    raise ValueError(f"{self.name}: attr name {key!r} clashes with a method of {type(self).__name__}")
            self._attr_names.append(key)
        setattr(self, key, value)

    @property
    def id(self) -> int:
        """A process-unique int naming this node (Thinc's ``model.id``): the key of ``get_gradients``, optimizers
        and shims; ``copy()`` gives new ids.
        """
        return self._id

    @property
    def ref_names(self) -> Tuple[str, ...]:
        """The names of this node's refs (Thinc's: named pointers to nodes of the tree), set or not."""
        return tuple(self._refs)

    def has_ref(self, name: str) -> Optional[bool]:
        """Thinc's three answers: True when ref ``name`` is set, None while declared but unset, False when unknown."""
        if name not in self._refs:
            return False
        return None if self._refs[name] is None else True

    def get_ref(self, name: str) -> Model:
        """The node ref ``name`` points to: KeyError for an unknown name, ValueError while the
        ref is declared but unset (as Thinc)."""
        if name not in self._refs:
            raise KeyError(f"{self.name}: ref {name!r} is unknown; the refs are {list(self._refs)}")
        if self._refs[name] is None:
            raise ValueError(f"{self.name}: ref {name!r} is unset; set it with set_ref({name!r}, node)")
        return self._refs[name]  # type: ignore[return-value]

    def maybe_get_ref(self, name: str) -> Optional[Model]:
        """The node ref ``name`` points to, or None while it is unset or unknown."""
        return self._refs.get(name)

    def set_ref(self, name: str, value: Optional[Model]) -> None:
        """Point ref ``name`` at ``value`` (a node of this model's tree) or None; declares the ref on first use.

        Raises ValueError when ``value`` is not a node of this tree (Thinc accepts any model; a ref
        outside the tree could not be saved or copied with it).
        """
        if value is not None and all(value is not node for node in self.walk()):
            raise ValueError(f"{self.name}: cannot set ref {name!r} to {value.name!r}: it is not a node of this model")
        self._refs[name] = value

    @property
    def _layers(self) -> nn.ModuleList:
        """Thinc's private layers list, which Thinc code reads, appends to and assigns: ``layers``
        itself; assigning a list replaces it (a ``ModuleList``, so the children stay registered)."""
        return self.layers

    @_layers.setter
    def _layers(self, value: Sequence[Model]) -> None:
        self.layers = nn.ModuleList(value)

    def walk(self, *, order: str = "bfs") -> List[Model]:
        """Every node, this one included, deduplicated by identity (Thinc's orders)."""
        if order == "bfs":
            queue, seen, out = [cast("Model", self)], set(), []
            while queue:
                node = queue.pop(0)
                if id(node) in seen:
                    continue
                seen.add(id(node))
                out.append(node)
                # a Model's layers hold Models (ModuleList iterates as Module)
                queue.extend(node.layers)  # type: ignore[arg-type]
            return out
        if order in ("dfs_pre", "dfs_post"):
            seen, out = set(), []

            def visit(node: Model) -> None:
                if id(node) in seen:
                    return
                seen.add(id(node))
                if order == "dfs_pre":
                    out.append(node)
                for child in node.layers:
                    # a Model's layers hold Models (ModuleList iterates as Module)
                    visit(child)  # type: ignore[arg-type]
                if order == "dfs_post":
                    out.append(node)

            visit(cast("Model", self))
            return out
        raise ValueError(f"{self.name}: Invalid order {order!r} for walk(); use 'bfs', 'dfs_pre' or 'dfs_post'")

    def replace_node(self, old: Model, new: Model) -> bool:
        """Replace ``old`` by ``new`` in every layers list and ref of the tree (post-order, as
        Thinc); True when ``old`` was found."""
        seen = False
        for node in list(self.walk(order="dfs_post")):
            if node is old:
                seen = True
                continue
            for i, layer in enumerate(node.layers):
                if layer is old:
                    node.layers[i] = new
            for name, ref in node._refs.items():
                if ref is old:
                    node._refs[name] = new
        return seen

    def remove_node(self, node: Model) -> None:
        """Remove ``node`` from every layers list; refs left pointing outside the tree become None."""
        for parent in list(self.walk()):
            kept = [layer for layer in parent.layers if layer is not node]
            if len(kept) != len(parent.layers):
                parent.layers = nn.ModuleList(kept)
        tree = {id(n) for n in self.walk()}
        for n in self.walk():
            for name, ref in n._refs.items():
                if ref is not None and id(ref) not in tree:
                    n._refs[name] = None

    def to_cpu(self) -> Model:
        """Thinc's ``to_cpu``: move the model's parameters and buffers to the CPU."""
        return cast("Model", self.to("cpu"))

    def to_gpu(self, gpu_id: int = 0) -> Model:
        """Thinc's ``to_gpu``: move the model's parameters and buffers to CUDA device ``gpu_id``."""
        return cast("Model", self.to(torch.device("cuda", gpu_id)))

    def copy(self: _M) -> _M:
        """A deep copy with new ids; shared subnodes stay shared."""
        import copy as _copy

        clone = _copy.deepcopy(self)
        for node in clone.walk():
            node._id = _next_id()
        return clone

    # ------------------------------------------------------------------ misc
    @property
    def device(self) -> torch.device:
        """The torch.device of this node's first parameter or buffer; the CPU for a node that has none."""
        for t in itertools.chain(self.parameters(), self.buffers()):
            return t.device
        return torch.device("cpu")

    @property
    def ops(self) -> TorchOps:
        """The ops this node computes with: torchlayers' ``TorchOps`` for its device."""
        return ops_for(self.device)

    @ops.setter
    def ops(self, ops: Any) -> None:
        """Thinc's ``model.ops = ops``: choose the device (NumpyOps / Thinc's base Ops: the CPU,
        CupyOps: CUDA, a ``TorchOps`` or a torch.device: its device); this node and its subtree
        move there. The kernels stay torchlayers' (see COMPATIBILITY.md)."""
        self.to(_ops_device(self.name, ops))

    def _to_ops(self, ops: Any) -> None:
        """Thinc's ``_to_ops``: set ``ops`` on every node."""
        for node in self.walk():
            node.ops = ops

def wrap_model_recursive(model: Model, wrapper: Callable[[Model], Model]) -> Model:
    """Thinc's ``wrap_model_recursive``: wrap every node of ``model`` in place (``replace_node``),
    then return ``wrapper(model)``."""
    for node in list(model.walk()):
        model.replace_node(node, wrapper(node))
    return wrapper(model)


def _ops_device(name: str, ops: Any) -> torch.device:
    """The torch device an ops object (ours, Thinc's, or a device) stands for."""
    if isinstance(ops, torch.device):
        return ops
    if isinstance(ops, TorchOps):
        return ops.device
    device_type = getattr(ops, "device_type", None)
    if device_type == "cpu":
        return torch.device("cpu")
    if device_type == "gpu":
        return torch.device("cuda", int(getattr(ops, "device_id", 0) or 0))
    if device_type == "mps":
        return torch.device("mps")
    raise TypeError(
        f"{name}: model.ops expects a Thinc Ops (NumpyOps, CupyOps, MPSOps), a torchlayers TorchOps or a "
        f"torch.device, got {type(ops).__name__}"
    )
