"""The examples: the main job (Thinc's intro MLP on digits) and the EWT tagger and text classifier learn;
where the EWT corpus comes from (--data, $TORCHLAYERS_EWT, ../shared, the bundled excerpt); the CoNLL-U reader;
every command-line flag has help text and shows its default."""
from __future__ import annotations

import argparse
import gzip

import pytest

from examples import digits_mlp, ewt, tagger, textcat
from examples.digits_mlp import main


def test_digits_mlp_both_faces_learn():
    result = main(["--epochs", "3", "--backend", "aot_eager"])
    assert result["thinc_face_dev_accuracy"] > 0.85, result
    assert result["torch_face_dev_accuracy"] > 0.85, result
    assert abs(result["thinc_face_dev_accuracy"] - result["torch_face_dev_accuracy"]) < 0.05, result


# The learning tests run as on a fresh clone (the bundled excerpt), so their figures do not depend on what lies
# beside the checkout; the from_thinc and notebook tests read whatever examples.ewt.resolve_corpus picks.
def test_textcat_learns_and_tracks_thinc(fresh_clone_ewt, capsys):
    result = textcat.main(["--epochs", "3", "--limit", "600", "--with-thinc"])
    assert f"UD English-EWT from {ewt.EXCERPT} [excerpt;" in capsys.readouterr().out
    for lib in ("torchlayers", "thinc"):
        for model in ("bow", "cnn", "ensemble"):
            # beats always guessing the largest genre by 0.1
            assert result[lib][model] > result["dev_majority_class"] + 0.1, result
    for model in ("bow", "cnn", "ensemble"):
        assert abs(result["torchlayers"][model] - result["thinc"][model]) < 0.05, result


def test_tagger_learns_on_the_excerpt_and_prints_its_corpus(fresh_clone_ewt, capsys):
    result = tagger.main(["--epochs", "1", "--with-thinc", "--device", "cpu"])
    out = capsys.readouterr().out
    assert f"UD English-EWT from {ewt.EXCERPT} [excerpt;" in out, out
    assert "train 600, dev 200, test 200 sentences" in out, out
    dev = ewt.load_split("dev")
    tags = [t for s in dev for t in s.tags]
    majority = max(tags.count(t) for t in set(tags)) / len(tags)
    for lib in ("torchlayers", "thinc"):
        assert result[lib]["dev"] > majority + 0.2, (result, majority)
    assert abs(result["torchlayers"]["dev"] - result["thinc"]["dev"]) < 0.03, result


# ------------------------------------------------------------------------------ where the corpus comes from
def test_fresh_clone_default_is_the_bundled_excerpt(fresh_clone_ewt):
    corpus = ewt.resolve_corpus()
    assert (corpus.path, corpus.source, corpus.is_excerpt) == (ewt.EXCERPT, "excerpt", True)
    assert [len(ewt.load_split(s)) for s in ewt.SPLITS] == [600, 200, 200]
    train = ewt.load_split("train")
    assert {g: sum(s.genre == g for s in train) for g in ewt.GENRES} == dict.fromkeys(ewt.GENRES, 120)
    assert all(t in ewt.UPOS for s in train for t in s.tags)
    assert "excerpt" in ewt.describe_corpus() and "train 600, dev 200, test 200" in ewt.describe_corpus()


def test_excerpt_carries_its_attribution_and_license():
    readme = (ewt.EXCERPT / "README.md").read_text(encoding="utf8")
    for needed in ("UD English-EWT", "CC BY-SA 4.0", "https://creativecommons.org/licenses/by-sa/4.0/",
                   "https://github.com/UniversalDependencies/UD_English-EWT", "first 120 sentences"):
        assert needed in readme, needed
    license_text = (ewt.EXCERPT / "LICENSE.txt").read_text(encoding="utf8")
    assert license_text.startswith("Attribution-ShareAlike 4.0 International")


def test_the_full_corpus_beside_the_repository_wins_over_the_excerpt(fresh_clone_ewt, tiny_ewt, monkeypatch):
    monkeypatch.setattr(ewt, "SHARED", tiny_ewt)
    assert ewt.resolve_corpus() == ewt.Corpus(tiny_ewt, "shared")
    assert [s.sent_id for s in ewt.load_split("dev")] == ["email-a-0001", "reviews-b-0001"]


def test_env_var_wins_over_the_defaults(fresh_clone_ewt, tiny_ewt, monkeypatch):
    monkeypatch.setenv("TORCHLAYERS_EWT", str(tiny_ewt))
    assert ewt.resolve_corpus() == ewt.Corpus(tiny_ewt, "$TORCHLAYERS_EWT")
    assert len(ewt.load_split("train")) == 2
    assert "[$TORCHLAYERS_EWT; full corpus]: train 2, dev 2, test 2 sentences" in ewt.describe_corpus()


def test_data_path_wins_over_the_env_var(fresh_clone_ewt, tiny_ewt, monkeypatch):
    monkeypatch.setenv("TORCHLAYERS_EWT", str(ewt.EXCERPT))
    assert ewt.resolve_corpus(str(tiny_ewt)) == ewt.Corpus(tiny_ewt, "--data")
    assert len(ewt.load_split("train", str(tiny_ewt))) == 2


@pytest.mark.parametrize("example", [tagger, textcat], ids=["tagger", "textcat"])
def test_a_data_path_that_does_not_exist_is_an_error_even_with_defaults_present(example, tmp_path, capsys):
    missing = tmp_path / "no-such-folder"
    assert ewt.resolve_corpus().path.exists()  # a default exists (the excerpt at least): no silent fall back to it
    with pytest.raises(SystemExit) as exit_info:
        example.main(["--data", str(missing)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"--data = {str(missing)!r} does not exist" in err and "train.conllu" in err, err


def test_a_folder_without_the_splits_is_an_error_naming_them(tmp_path, monkeypatch):
    (tmp_path / "train.conllu").write_text("", encoding="utf8")
    with pytest.raises(FileNotFoundError, match=r"has no dev.conllu\[.gz\], test.conllu\[.gz\]"):
        ewt.resolve_corpus(str(tmp_path))
    monkeypatch.setenv("TORCHLAYERS_EWT", str(tmp_path / "gone"))
    with pytest.raises(FileNotFoundError, match=r"\$TORCHLAYERS_EWT = .*gone' does not exist"):
        ewt.resolve_corpus()


def test_unknown_split_is_an_error():
    with pytest.raises(ValueError, match=r"split must be one of .*got 'validation'"):
        ewt.load_split("validation")


# ------------------------------------------------------------------------------ the CoNLL-U reader
def test_reader_keeps_words_and_upos_and_skips_ranges_and_empty_nodes(tiny_ewt):
    first, second = ewt.read_conllu(tiny_ewt / "train.conllu")
    assert (first.sent_id, first.words) == ("email-a-0001", ["I", "'m", "here", "."])
    assert first.tags == ["PRON", "AUX", "ADV", "PUNCT"]
    assert (first.genre, second.genre) == ("email", "reviews")
    assert (second.words, second.tags) == (["Great"], ["ADJ"])  # the last sentence has no blank line after it


def test_reader_reads_gzip_like_plain_text_and_crlf_like_lf(tiny_ewt, tmp_path):
    plain = ewt.read_conllu(tiny_ewt / "train.conllu")
    assert ewt.read_conllu(tiny_ewt / "dev.conllu.gz") == plain
    crlf = tmp_path / "crlf.conllu"
    crlf.write_bytes((tiny_ewt / "train.conllu").read_bytes().replace(b"\n", b"\r\n"))
    assert ewt.read_conllu(crlf) == plain


def test_reader_matches_the_raw_excerpt_line_by_line():
    """Every token line of the excerpt with an integer ID is one word of the reader's output, in order."""
    with gzip.open(ewt.EXCERPT / "dev.conllu.gz", "rt", encoding="utf8") as f:
        lines = [line.rstrip("\n").split("\t") for line in f if line.strip() and not line.startswith("#")]
    expected = [(cols[1], cols[3]) for cols in lines if cols[0].isdigit()]
    got = [(w, t) for s in ewt.read_conllu(ewt.EXCERPT / "dev.conllu.gz") for w, t in zip(s.words, s.tags)]
    assert got == expected
    assert len(expected) < len(lines)  # the excerpt has multiword tokens or empty nodes to skip


def test_reader_names_the_file_and_line_of_a_malformed_token_line(tmp_path):
    bad = tmp_path / "bad.conllu"
    bad.write_text("# sent_id = email-x-1\n1\tHi\thi\tINTJ\n", encoding="utf8")
    with pytest.raises(ValueError, match=r"bad.conllu:2: a CoNLL-U token line has 10 tab-separated columns, got 4"):
        ewt.read_conllu(bad)


# ------------------------------------------------------------------------------ command lines
@pytest.mark.parametrize("example", [digits_mlp, tagger, textcat], ids=["digits_mlp", "tagger", "textcat"])
def test_every_flag_has_help_and_the_help_shows_defaults(example):
    parser = example.build_parser()
    assert parser.formatter_class is argparse.ArgumentDefaultsHelpFormatter
    flags = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    assert flags and all(a.help for a in flags), [a.dest for a in flags if not a.help]
    text = parser.format_help()
    for action in flags:
        assert f"(default: {action.default})" in " ".join(text.split()), action.dest
