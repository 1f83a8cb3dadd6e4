"""The main job (Thinc's intro MLP on digits) runs through both faces and learns."""
from __future__ import annotations

from examples.digits_mlp import main


def test_digits_mlp_both_faces_learn():
    result = main(["--epochs", "3", "--backend", "aot_eager"])
    assert result["thinc_face_dev_accuracy"] > 0.85, result
    assert result["torch_face_dev_accuracy"] > 0.85, result
    assert abs(result["thinc_face_dev_accuracy"] - result["torch_face_dev_accuracy"]) < 0.05, result
