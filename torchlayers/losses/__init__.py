"""Thinc's losses on torch tensors and numpy arrays, with Thinc's classes, semantics and registry names
(``registry.losses``: "CategoricalCrossentropy.v1-v3", "SequenceCategoricalCrossentropy.v1-v3",
"L2Distance.v1", "CosineDistance.v1")."""
from .base import Loss as Loss
from .categorical_crossentropy import CategoricalCrossentropy as CategoricalCrossentropy
from .categorical_crossentropy import SequenceCategoricalCrossentropy as SequenceCategoricalCrossentropy
from .categorical_crossentropy import to_categorical as to_categorical
from .cosine_distance import CosineDistance as CosineDistance
from .l2_distance import L2Distance as L2Distance

__all__ = ["Loss", "CategoricalCrossentropy", "SequenceCategoricalCrossentropy", "CosineDistance", "L2Distance",
           "to_categorical"]
