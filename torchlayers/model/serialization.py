"""``ModelSerialization``: the serialization hooks: Thinc's dict form (``to_dict``, ``thinc_dict.py``)
and torchlayers' file (``to_bytes``/``to_disk``, a safetensors file: ``serialize.py``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, TypeVar, cast

from .thinc_face import ModelThincFace

if TYPE_CHECKING:
    from . import Model

_M = TypeVar("_M", bound="ModelSerialization")


class ModelSerialization(ModelThincFace):
    """``to_dict``/``from_dict``/``can_from_dict`` and ``to_bytes``/``from_bytes``/``to_disk``/``from_disk``."""

    def to_dict(self) -> Dict[str, List[Any]]:
        """Thinc's dict form (``thinc_dict.py``): nodes, attrs, params, shims in walk order."""
        from ..thinc_dict import model_to_dict

        return model_to_dict(self)

    def from_dict(self, msg: Dict[str, List[Any]]) -> Model:
        """Load ``to_dict``'s form into this tree (same structure): names, dims, refs, attrs, params."""
        from ..thinc_dict import model_from_dict

        return model_from_dict(self, msg)

    def can_from_dict(self, msg: Any, *, strict: bool = True) -> bool:
        """Whether ``from_dict(msg)`` fits this tree (names when ``strict``, dims, param shapes)."""
        from ..thinc_dict import model_can_from_dict

        return model_can_from_dict(self, msg, strict=strict)

    def to_bytes(self) -> bytes:
        """The whole tree as bytes: a safetensors file with a JSON header of the node tree (names, classes,
        dims, refs, attrs (non-JSON ones through ``serialize_attr``), custom shims' bytes) and a checksum; no
        pickle (``torchlayers/serialize.py``).

        Not Thinc's msgpack format: ``torchlayers.to_thinc`` / ``load_thinc_bytes`` speak that one.
        """
        from ..serialize import model_to_bytes

        return model_to_bytes(cast("Model", self))

    def from_bytes(self: _M, data: bytes) -> _M:
        """Load ``to_bytes``'s output into this tree (same structure) and return ``self``.

        All or nothing: the file is validated first (layout, checksum, header, node names and
        classes, dims and shapes); any mismatch raises ModelFileError (a ValueError) naming the part
        of the file, and the model stays bitwise unchanged.
        """
        from ..serialize import model_from_bytes

        # model_from_bytes fills and returns self
        return model_from_bytes(cast("Model", self), data)  # type: ignore[return-value]

    def to_disk(self, path: Any) -> None:
        """Write ``to_bytes()`` to the file ``path`` (a str or path-like)."""
        from pathlib import Path

        Path(path).write_bytes(self.to_bytes())

    def from_disk(self: _M, path: Any) -> _M:
        """``from_bytes`` of the file at ``path``; returns ``self``. Raises ModelFileError as ``from_bytes``."""
        from pathlib import Path

        return self.from_bytes(Path(path).read_bytes())
