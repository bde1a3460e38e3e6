"""The text domain passes the contract, trains on a user's corpus with both adversarial
strategies, writes readable samples that improve over snapshots, samples from a finished run
with a prompt, and uses a local causal-LM checkpoint as its generator."""

from __future__ import annotations

import json
import math
import random
from typing import Any, ClassVar

import pytest
import torch

import ganx
from ganx.core.checkpoint import load_checkpoint
from ganx.core.errors import ConfigError
from ganx.plugins import text as text_plugin
from ganx.plugins.text import corpus, dataset, tokenization, units
from ganx.plugins.text.domain import TextConfig, TextDomain, inverse_temperature
from ganx.testing import DomainContract

from ...conftest import run_ganx

TINY: dict[str, Any] = {"vocab_size": 300, "seq_len": 24, "g_dim": 32, "g_layers": 1,
                        "g_heads": 2, "d_dim": 32, "d_layers": 1, "d_heads": 2, "mle_steps": 1}
RUN: dict[str, Any] = {"batch_size": 16, "device": "cpu", "precision": "fp32", "log_every": 2,
                       "eval_every": -1, "n_samples": 8}


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory):
    return tmp_path_factory.mktemp("ganx-home")


@pytest.fixture(autouse=True)
def private_cache(shared_home, monkeypatch):
    # one cache for the module: tokenizers and token arrays are keyed by their content
    monkeypatch.setenv("GANX_HOME", str(shared_home))


def write_corpus(folder, n: int = 400, seed: int = 0):
    """A small grammar's sentences in two files, plus files the reader must skip."""
    rng = random.Random(seed)
    subjects = ["the cat", "a dog", "my friend", "the king", "our queen"]
    verbs = ["sees", "loves", "finds", "calls", "fears"]
    objects = ["the moon", "a rose", "the sea", "his sword", "her crown"]
    lines = [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}."
             for _ in range(n)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "one.txt").write_text("\n".join(lines[: n // 2]) + "\n")
    (folder / "two.txt").write_text("\n".join(lines[n // 2:]) + "\n")
    (folder / "empty.txt").write_text("")
    (folder / "bad.txt").write_bytes(b"\x00\x00 binary")
    return folder


def rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").open()]


class TestTextDomain(DomainContract):
    domain = TextDomain()
    plugin = text_plugin
    settings: ClassVar[dict[str, Any]] = TINY


class TestTextDomainReinforceWindows(DomainContract):
    domain = TextDomain()
    plugin = text_plugin
    settings: ClassVar[dict[str, Any]] = {**TINY, "strategy": "reinforce", "unit": "window",
                                          "latent_dim": 4}

    @pytest.fixture(autouse=True)
    def _small_corpus(self, shared_home, monkeypatch):
        monkeypatch.setattr(type(self), "data", str(write_corpus(shared_home / "corpus")))


@pytest.mark.parametrize("strategy", ["gumbel", "reinforce"])
def test_a_users_corpus_trains_with_each_strategy(tmp_path, strategy, caplog):
    data = write_corpus(tmp_path / "corpus")
    run = tmp_path / "run"
    result = ganx.train("text", data=str(data), run_dir=str(run), steps=8, sample_every=4,
                        checkpoint_every=4, settings={**TINY, "mle_steps": 4,
                                                      "strategy": strategy, "mle_weight": 0.5},
                        **{**RUN, "eval_every": 0, "eval_samples": 32})
    assert result.step == 8
    kinds = [(r["step"], r["kind"]) for r in rows(run) if r["kind"] != "eval"]
    assert kinds == [(2, "pretrain"), (4, "pretrain"), (6, "train"), (8, "train")]
    adversarial = [r for r in rows(run) if r["kind"] == "train"]
    assert all({"loss_d", "loss_g", "loss_mle"} <= set(r) for r in adversarial)
    assert all(math.isfinite(r["loss_g"]) and math.isfinite(r["loss_d"]) for r in adversarial)
    for key in ("bleu2", "bleu5", "self_bleu3", "distinct2", "perplexity"):
        assert key in result.metrics
    assert 1.0 < result.metrics["perplexity"] < 300
    lines = (run / "samples" / "step-00000008.txt").read_text().splitlines()
    assert len(lines) == 8
    assert "skipped 2 item(s)" in caplog.text and "bad.txt: binary" in caplog.text


def test_samples_improve_over_snapshots(tmp_path):
    """Maximum-likelihood pretraining on a small grammar: the last snapshot's samples match the
    held-out sentences far better than the first's (BLEU), and its held-out perplexity is low."""
    from ganx.plugins.text.metrics import text_metrics

    data = write_corpus(tmp_path / "corpus", n=600)
    run = tmp_path / "run"
    ganx.train("text", data=str(data), run_dir=str(run), steps=120, sample_every=60,
               checkpoint_every=60, settings={**TINY, "mle_steps": 120, "g_dim": 48},
               **{**RUN, "batch_size": 32, "log_every": 20, "pretrain_lr": 3e-3,
                  "eval_every": -1, "ema_half_life": 200})
    model = ganx.load(run)
    cfg = model.config
    tok = tokenization.get(cfg)
    scores = {}
    for step in (0, 120):
        snap = ganx.load(run / "checkpoints" / f"step-{step:08d}.pt")
        samples = snap.generate(64, seed=3)
        scores[step] = text_metrics(samples, samples, cfg)
    assert scores[0]["bleu3"] < 0.3 < scores[120]["bleu3"]
    # BLEU's protocol names its references: the held-out units, not the training rows
    from ganx.core.metric_protocol import collecting
    from ganx.plugins.text import dataset

    with collecting() as notes:
        text_metrics(samples, samples, cfg)
    held = dataset.heldout_rows(cfg)
    assert notes["reference_split"] == "held-out" and notes["n_real"] == len(held)
    assert notes["reference_count"] == len(held) and len(notes["reference_digest"]) == 64
    final = (run / "samples" / "step-00000120.txt").read_text().splitlines()
    words = set((data / "one.txt").read_text().split() + (data / "two.txt").read_text().split())
    known = sum(all(w in words for w in line.split()) for line in final)
    assert known >= len(final) // 2, final  # most samples use only the corpus's words
    assert tok.decode(tok.encode(["the cat sees the moon."])[0]) == "the cat sees the moon."


def test_sample_with_a_prompt_through_the_cli_on_a_machine_without_the_cache(tmp_path):
    """`ganx sample` in a fresh process whose GANX_HOME is empty: the snapshot's own tokenizer
    encodes the prompt and decodes the samples."""
    data = write_corpus(tmp_path / "corpus")
    run = tmp_path / "run"
    ganx.train("text", data=str(data), run_dir=str(run), steps=6, sample_every=6,
               checkpoint_every=6, settings={**TINY, "mle_steps": 6}, **RUN)
    out = tmp_path / "out"
    result = run_ganx("sample", str(run), "-n", "5", "--out", str(out), "--seed", "1",
                      "--prompt", "the king", "--temperature", "0.7", "--top-k", "20",
                      env={"GANX_HOME": str(tmp_path / "empty-home")})
    assert result.returncode == 0, result.stderr
    lines = (out / "sample.txt").read_text().splitlines()
    assert len(lines) == 5 and all(line.startswith("the king") for line in lines)
    model = ganx.load(run, settings={"prompt": "the king", "temperature": 0.7, "top_k": 20})
    texts = model.write_samples(tmp_path / "again", 5, seed=1)[0].read_text()
    assert texts == (out / "sample.txt").read_text()  # the CLI and the library agree
    long_prompt = ganx.load(run, settings={"prompt": "the cat " * 20})
    with pytest.raises(ConfigError, match=r"prompt .* tokens; this run's samples hold 24"):
        long_prompt.generate(2)


def test_a_snapshot_carries_its_tokenizer(tmp_path, monkeypatch):
    data = write_corpus(tmp_path / "corpus")
    run = tmp_path / "run"
    ganx.train("text", data=str(data), run_dir=str(run), steps=2, sample_every=2,
               checkpoint_every=2, settings=TINY, **RUN)
    expected = ganx.load(run).generate(4, seed=5)
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setattr(tokenization, "_LOADED", {})
    model = ganx.load(run)
    assert torch.equal(model.generate(4, seed=5), expected)
    paths = model.write_samples(tmp_path / "gen", 4, seed=5)
    assert paths[0].read_text().count("\n") == 4


def test_gumbel_temperature_schedule_and_reinforce_loss():
    cfg = TextConfig(mle_steps=100, beta_max=100.0)
    assert inverse_temperature(cfg, 50, 301) == 1.0
    assert inverse_temperature(cfg, 100, 301) == 1.0
    assert inverse_temperature(cfg, 200, 301) == pytest.approx(10.0)
    assert inverse_temperature(cfg, 300, 301) == pytest.approx(100.0)
    linear = TextConfig(mle_steps=0, beta_max=11.0, beta_schedule="linear")
    assert inverse_temperature(linear, 5, 11) == pytest.approx(6.0)

    class Net:
        log_prob = torch.tensor([-1.0, -2.0], requires_grad=True)

    domain = TextDomain()
    loss = domain.generator_adversarial_loss(TextConfig(strategy="reinforce"), Net, None,
                                             torch.tensor([2.0, -2.0]), None)
    loss.backward()
    reward = torch.sigmoid(torch.tensor([2.0, -2.0]))
    advantage = reward - reward.mean()
    assert torch.allclose(Net.log_prob.grad, -advantage / 2)  # likelier if D rated it real


def test_the_generator_hands_d_relaxed_one_hots_or_token_ids():
    from ganx.plugins.text.models import TextGenerator, build_language_model

    cfg = TextConfig(seq_len=10, g_dim=16, g_layers=1, g_heads=2, n_vocab=40)
    torch.manual_seed(0)
    lm = build_language_model(cfg, 40, 0, 0, 1)
    net = TextGenerator(lm, latent_dim=0, seq_len=10, bos_id=0, eos_id=0, pad_id=1,
                        stop_at_eos=True, strategy="gumbel")
    hard = net(torch.zeros(6, 0))  # straight-through: exact one-hots forward
    assert hard.shape == (6, 10, 40)
    tokens = hard.argmax(-1)
    assert torch.equal(hard.detach(), torch.nn.functional.one_hot(tokens, 40).float())
    assert (tokens[net.after_end(tokens)] == 1).all()  # pads after the end token, as real rows
    (hard * torch.randn(40)).sum().backward()
    assert lm.get_input_embeddings().weight.grad.abs().sum() > 0  # through the relaxation
    net.straight_through, net.beta = False, 1000.0  # RelGAN: the relaxation itself
    soft = net(torch.zeros(6, 0))
    assert torch.allclose(soft.sum(-1), torch.ones(6, 10), atol=1e-5)
    assert (soft.max(-1).values > 0.9).float().mean() > 0.9  # a high beta is nearly one-hot
    net.beta = 1.0
    assert (net(torch.zeros(6, 0)).max(-1).values < 0.9).any()
    net.strategy = "reinforce"
    ids = net(torch.zeros(6, 0))
    assert ids.shape == (6, 10) and net.log_prob.shape == (6,) and net.log_prob.requires_grad
    greedy = net.sample(torch.zeros(2, 0), temperature=0.0)[0]
    assert torch.equal(greedy[0], greedy[1])


def test_a_local_checkpoint_as_the_generator(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    data = write_corpus(tmp_path / "corpus")
    domain = TextDomain()
    # a "pretrained" model folder: a small GPT-2 and the tokenizer it was trained with
    base = domain.resolve_config(TextConfig(vocab_size=300), str(data))
    tok = tokenization.get(base)
    folder = tmp_path / "my-lm"
    GPT2LMHeadModel(GPT2Config(vocab_size=tok.vocab_size + 4, n_positions=24, n_embd=32,
                               n_layer=1, n_head=2, eos_token_id=0, bos_token_id=0,
                               pad_token_id=1)).save_pretrained(folder)
    tok.tokenizer.save(str(folder / "tokenizer.json"))
    run = tmp_path / "run"
    result = ganx.train("text", data=str(data), run_dir=str(run), steps=3, sample_every=3,
                        checkpoint_every=3,
                        settings={**TINY, "generator": str(folder), "mle_steps": 2}, **RUN)
    snap = load_checkpoint(result.checkpoint)
    assert snap["config"]["domain"]["n_vocab"] == tok.vocab_size + 4
    assert any(k.startswith("lm.transformer.h.0") for k in snap["G"])
    with pytest.raises(ConfigError, match="positions"):
        domain.build_generator(domain.resolve_config(
            TextConfig(**{**TINY, "generator": str(folder), "seq_len": 40}), str(data)))
    (tmp_path / "no-tok").mkdir()
    GPT2LMHeadModel(GPT2Config(vocab_size=400, n_positions=24, n_embd=32, n_layer=1,
                               n_head=2)).save_pretrained(tmp_path / "no-tok")
    with pytest.raises(ConfigError, match=r"no tokenizer\.json"):
        domain.resolve_config(TextConfig(generator=str(tmp_path / "no-tok")), str(data))


def test_heldout_split_feeds_the_metrics(tmp_path):
    data = write_corpus(tmp_path / "corpus")
    domain = TextDomain()
    cfg = domain.resolve_config(TextConfig(**TINY), str(data))
    train = domain.build_dataset(cfg, str(data))
    held = dataset.heldout_rows(cfg)
    assert held is not None and len(held) == 20 and len(train) == 380
    assert domain.default_metrics(cfg)[0] == "text-bleu"


@pytest.mark.parametrize("strategy", ["gumbel", "reinforce"])
def test_a_resumed_run_continues_bit_for_bit(tmp_path, strategy):
    data = write_corpus(tmp_path / "corpus")
    common = {"data": str(data), "sample_every": 100, "checkpoint_every": 100,
              "settings": {**TINY, "mle_steps": 3, "strategy": strategy, "mle_weight": 0.3},
              **RUN}
    full = ganx.train("text", run_dir=str(tmp_path / "full"), steps=6, **common)
    ganx.train("text", run_dir=str(tmp_path / "split"), steps=4, **common)
    resumed = ganx.train("text", run_dir=str(tmp_path / "split"), resume=True, steps=6)
    a, b = load_checkpoint(full.checkpoint), load_checkpoint(resumed.checkpoint)
    for key in ("G", "D", "G_ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name}"


def test_the_tokenizer_never_sees_the_held_out_text(tmp_path, monkeypatch):
    monkeypatch.setenv("GANX_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(tokenization, "_LOADED", {})
    seen: list[str] = []
    real_train = tokenization.train_bpe

    def recording_train(texts, vocab_size):
        texts = list(texts)
        seen.extend(texts)
        return real_train(texts, vocab_size)

    monkeypatch.setattr(tokenization, "train_bpe", recording_train)
    data = write_corpus(tmp_path / "corpus")
    cfg = TextDomain().resolve_config(TextConfig(**{**TINY, "holdout": 0.2}), str(data))
    documents = corpus.load_once(str(data), cfg.text_field).documents
    train, held = units.holdout_split(units.split_units(documents, cfg.unit, cfg.min_words),
                                      cfg.unit, cfg.holdout)
    assert held and sorted(seen) == sorted(train), "the tokenizer saw more than the training units"
