"""The main job (Thinc's intro MLP on digits) runs through both faces and learns."""
from __future__ import annotations

from examples.digits_mlp import main


def test_digits_mlp_both_faces_learn():
    result = main(["--epochs", "3", "--backend", "aot_eager"])
    assert result["thinc_face_dev_accuracy"] > 0.85, result
    assert result["torch_face_dev_accuracy"] > 0.85, result
    assert abs(result["thinc_face_dev_accuracy"] - result["torch_face_dev_accuracy"]) < 0.05, result


def test_textcat_learns_and_tracks_thinc():
    from examples.textcat import main as textcat

    result = textcat(["--epochs", "1", "--limit", "2000", "--with-thinc"])
    for lib in ("torchlayers", "thinc"):
        for model in ("bow", "cnn", "ensemble"):
            assert result[lib][model] > 0.35, result  # 5 genres: chance is about 0.2-0.3 (the largest class)
    for model in ("bow", "cnn", "ensemble"):
        assert abs(result["torchlayers"][model] - result["thinc"][model]) < 0.05, result
