"""Text data: reading corpora leniently, cutting units, the held-out split, the byte-level BPE
(round trip, cache, local tokenizers) and the cached token arrays."""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ganx.core.errors import ConfigError
from ganx.plugins.text import corpus as corpora
from ganx.plugins.text import dataset, tokenization, units
from ganx.plugins.text.domain import TextConfig, TextDomain


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "ganx-home"))


def grammar_lines(n: int, seed: int = 0) -> list[str]:
    import random

    rng = random.Random(seed)
    subjects = ["the cat", "a dog", "my friend", "the king", "our queen"]
    verbs = ["sees", "loves", "finds", "calls", "fears"]
    objects = ["the moon", "a rose", "the sea", "his sword", "her crown"]
    return [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}"
            f"{rng.choice('.!?')}" for _ in range(n)]


# -- reading --------------------------------------------------------------------------------------

def test_shipped_corpus_is_the_plays_without_boilerplate():
    text = corpora.load("")
    assert text.name == "shakespeare" and len(text.documents) == 11
    assert not text.skipped and not text.repaired
    joined = "\n".join(text.documents)
    assert "To be, or not to be" in joined
    assert "gutenberg" not in joined.lower()
    assert 1.2e6 < len(joined) < 1.6e6


def test_a_folder_with_bad_files_is_read_and_the_problems_reported(tmp_path, caplog):
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("first line here\nsecond line here\n")
    (root / "sub" / "b.md").write_bytes(b"caf\xe9 au lait is good\n")  # latin-1, not UTF-8
    (root / "empty.txt").write_text("")
    (root / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (root / "c.txt.gz").write_bytes(gzip.compress(b"zipped text line\n"))
    (root / "d.jsonl").write_text(json.dumps({"text": "a json record"}) + "\nnot json\n"
                                  + json.dumps({"body": "wrong field"}) + "\n")
    (root / "ignored.csv").write_text("not read")
    (root / ".hidden.txt").write_text("not read either")
    text = corpora.load(str(root))
    assert sorted(text.documents) == sorted([
        "first line here\nsecond line here\n", "caf au lait is good\n", "zipped text line\n",
        "a json record"])
    reasons = " | ".join(text.skipped)
    assert "empty.txt: empty" in reasons and "blob.txt: binary" in reasons
    assert "d.jsonl:2: not JSON" in reasons and "no string field 'text'" in reasons
    assert len(text.repaired) == 1 and "b.md: 1 invalid byte" in text.repaired[0]
    with caplog.at_level(logging.WARNING, logger="ganx"):
        text.report()
    assert "skipped 4 item(s)" in caplog.text and "non-UTF-8" in caplog.text


def test_json_lines_with_another_field_and_crlf_text(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps({"body": f"line {i}\r\nmore"}) for i in range(3)))
    text = corpora.load(str(path), text_field="body")
    assert text.documents == [f"line {i}\nmore" for i in range(3)]


def test_unusable_data_is_a_one_line_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file or folder"):
        corpora.load(str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="did you mean 'shakespeare'"):
        corpora.load("shakespear")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no text files found"):
        corpora.load(str(tmp_path / "empty"))
    (tmp_path / "blank.txt").write_text("   \n\n")
    with pytest.raises(ConfigError, match="no usable text in 1 file"):
        corpora.load(str(tmp_path / "blank.txt"))


def test_decode_drops_invalid_bytes_and_normalises_line_ends():
    assert corpora.decode(b"\xef\xbb\xbfa\r\nb\rc") == ("a\nb\nc", 0)
    assert corpora.decode(b"ok \xff\xfe done") == ("ok  done", 2)


def test_the_digest_follows_the_text(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("one two three\n")
    first = corpora.load(str(path)).digest
    path.write_text("one two four\n")
    assert corpora.load(str(path)).digest != first


# -- units and the split --------------------------------------------------------------------------

def test_lines_sentences_and_windows():
    doc = "Speaker.\nTo be, or not to be:\n  that is   the question.\n\nWhy? Not so! Fine. end"
    assert units.split_units([doc], "line", 3) == ["To be, or not to be:",
                                                   "that is the question.",
                                                   "Why? Not so! Fine. end"]
    assert units.split_units([doc], "line", 6) == ["To be, or not to be:"]
    assert units.split_units([doc], "sentence", 1) == [
        "Speaker.", "To be, or not to be: that is the question.", "Why?", "Not so!", "Fine.",
        "end"]
    assert units.split_units([doc, "  "], "window", 3) == [doc]


def test_holdout_split_is_fixed_and_disjoint():
    lines = [f"line number {i}" for i in range(100)]
    train, held = units.holdout_split(lines, "line", 0.1)
    assert len(held) == 10 and len(train) == 90 and not set(train) & set(held)
    assert units.holdout_split(lines, "line", 0.1) == (train, held)
    assert units.holdout_split(lines, "line", 0.0) == (lines, [])
    assert units.holdout_count(1, 0.5) == 0 and units.holdout_count(3, 0.01) == 1
    docs = ["a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"]
    train_docs, held_docs = units.holdout_split(docs, "window", 0.2)
    assert train_docs[0] + held_docs[0] == docs[0] and held_docs[0].startswith("i")


# -- the tokenizer --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bpe():
    tok = tokenization.train_bpe(corpora.load("").documents, 1000)
    return tokenization.TextTokenizer(tok, "test", 0, 0, 1)


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=0, max_size=80))
def test_any_text_survives_a_bpe_round_trip(bpe, text):
    text = text.replace("\ufffd", "")
    for special in (tokenization.EOS, tokenization.PAD):
        text = text.replace(special, "")
    (ids,) = bpe.encode([text])
    assert bpe.decode(ids) == text.strip()


def test_decoding_stops_at_the_end_token_and_skips_pads(bpe):
    (ids,) = bpe.encode(["Good night, sweet prince"])
    row = [*ids, bpe.eos_id, 5, 6, bpe.pad_id]
    assert bpe.decode(row) == "Good night, sweet prince"
    assert bpe.decode([*ids, bpe.pad_id, bpe.pad_id]) == "Good night, sweet prince"
    assert "prince" in bpe.decode(row, stop_at_eos=False)
    assert bpe.tokenizer.token_to_id(tokenization.EOS) == 0
    assert bpe.tokenizer.token_to_id(tokenization.PAD) == 1


def test_the_bpe_is_trained_once_per_corpus_and_vocabulary(tmp_path, monkeypatch):
    path = tmp_path / "c.txt"
    path.write_text("\n".join(grammar_lines(200)))
    text = corpora.load(str(path))
    cfg = TextConfig(corpus_id=text.digest, vocab_size=320)
    first = tokenization.get(cfg, text.documents)
    cached = tokenization.cache_dir() / "tokenizers" / f"{first.key}.json"
    assert cached.is_file() and first.vocab_size <= 320
    tokenization._LOADED.clear()

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(tokenization, "train_bpe", no_training)
    again = tokenization.get(cfg, text.documents)
    assert again.to_json() == first.to_json()
    other = dataclasses.replace(cfg, vocab_size=330)
    with pytest.raises(AssertionError, match="trained again"):
        tokenization.get(other, text.documents)


def test_a_local_tokenizer_folder_or_file(tmp_path, bpe):
    folder = tmp_path / "tok"
    folder.mkdir()
    bpe.tokenizer.save(str(folder / "tokenizer.json"))
    for source in (folder, folder / "tokenizer.json"):
        tok = tokenization.get(TextConfig(tokenizer=str(source)))
        assert (tok.eos_id, tok.pad_id, tok.bos_id) == (0, 1, 0)
        assert tok.decode(tok.encode(["All the world"])[0]) == "All the world"
    with pytest.raises(ConfigError, match="no such file or folder"):
        tokenization.get(TextConfig(tokenizer=str(tmp_path / "nope")))
    (tmp_path / "junk").mkdir()
    with pytest.raises(ConfigError, match=r"expected tokenizer\.json"):
        tokenization.get(TextConfig(tokenizer=str(tmp_path / "junk")))


def test_a_gpt2_style_vocab_and_merges_folder(tmp_path, bpe):
    model = json.loads(bpe.to_json())["model"]
    folder = tmp_path / "gpt2ish"
    folder.mkdir()
    (folder / "vocab.json").write_text(json.dumps(model["vocab"]))
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tok = tokenization.get(TextConfig(tokenizer=str(folder)))
    assert tok.eos_id == 0 and tok.pad_id == 1
    assert tok.decode(tok.encode(["Now is the winter"])[0]) == "Now is the winter"


# -- token arrays ---------------------------------------------------------------------------------

def test_rows_end_with_the_end_token_and_long_units_are_cut_short(bpe):
    rows, too_long = dataset.encode_units(bpe, ["short line", "word " * 40], seq_len=8)
    assert too_long == 1 and rows.shape == (2, 8)
    first = rows[0].tolist()
    assert first[first.index(bpe.eos_id) + 1:] == [bpe.pad_id] * (7 - first.index(bpe.eos_id))
    assert bpe.decode(rows[1].tolist()) == " ".join(["word"] * 8)  # a full row, no end token
    windows = dataset.encode_stream(bpe, ["one two three four five six", "seven eight"], 4)
    assert windows.shape[1] == 4 and (windows == bpe.eos_id).sum() >= 1


def test_the_domain_builds_cached_rows_and_registers_the_heldout_split(tmp_path, caplog):
    path = tmp_path / "c.txt"
    path.write_text("\n".join(grammar_lines(300)) + "\n" + "word " * 60 + "\n")
    domain = TextDomain()
    cfg = domain.resolve_config(TextConfig(vocab_size=300, seq_len=24, holdout=0.1), str(path))
    assert cfg.n_vocab == tokenization.get(cfg).vocab_size and cfg.corpus_id
    with caplog.at_level(logging.WARNING, logger="ganx"):
        train = domain.build_dataset(cfg, str(path))
    assert "1 line(s) longer than seq_len=24 tokens were cut short" in caplog.text
    held = dataset.heldout_rows(cfg)
    assert held is not None and 25 <= len(held) <= 35 and train.shape[1] == 24
    dataset._HELDOUT.clear()
    assert dataset.heldout_rows(cfg) is not None  # from the cache on disk
    real, conditions = domain.prepare_batch(cfg, (train[:4],))
    assert real.dtype.is_floating_point and conditions == ()
    tok = tokenization.get(cfg)
    texts = tok.decode_batch(train[:50].tolist())
    assert all(t in path.read_text() for t in texts)


def test_config_errors_name_the_setting(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("\n".join(grammar_lines(50)))
    domain = TextDomain()
    for bad, match in [({"seq_len": 2}, "seq_len 2"), ({"holdout": 0.9}, "holdout 0.9"),
                       ({"g_dim": 30, "g_heads": 4}, "g_dim 30"),
                       ({"vocab_size": 100}, "vocab_size 100"),
                       ({"beta_max": 0.5}, "beta_max 0.5")]:
        with pytest.raises(ConfigError, match=match):
            domain.resolve_config(TextConfig(**bad), str(path))
    with pytest.raises(ConfigError, match=r"no training samples \(with unit=line, min_words=50\)"):
        cfg = domain.resolve_config(TextConfig(vocab_size=300, min_words=50), str(path))
        domain.build_dataset(cfg, str(path))


def test_every_setting_is_documented():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[3] / "docs" / "domains" / "text.md").read_text()
    from ganx.core.config import config_fields

    for name in config_fields(TextConfig):  # the settable fields (not `fitted`)
        assert f"`{name}`" in page, f"docs/domains/text.md does not describe {name}"
