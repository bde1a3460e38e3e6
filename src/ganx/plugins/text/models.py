"""The text GAN's networks: a causal transformer generator and a transformer encoder
discriminator, both `transformers` models built from configs (or a local checkpoint).

The generator samples whole sequences token by token (with a key/value cache, without
gradients), then scores the sampled sequence in one teacher-forced pass with gradients. What it
hands the discriminator depends on the adversarial strategy:

- `gumbel` (RelGAN, Nie et al. 2019): at each position the token is argmax(logits + g) for Gumbel
  noise g (an exact sample); softmax(beta * (logits + g)), a relaxed one-hot, carries D's
  gradient to G. By default (straight-through) D receives the sampled one-hot tokens and the
  gradient flows through the relaxation; otherwise D receives the relaxation itself, as in
  RelGAN. beta (inverse temperature) grows during training, set by the domain every step.
- `reinforce` (SeqGAN, Yu et al. 2017): D receives the sampled token ids; the generator keeps the
  sequences' log-probabilities (`log_prob`) for the policy-gradient loss.

The discriminator reads token ids through its embedding matrix and token distributions (N, T, V)
as distribution @ embedding matrix, so both kinds of input share one code path.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_NEG = float("-inf")


def _cache_argument(lm: nn.Module) -> str:
    """transformers 5 renamed `past_key_values` to `cache` (5.2x); accept either."""
    params = inspect.signature(lm.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def gumbel_noise(shape: tuple[int, ...], device: torch.device,
                 generator: torch.Generator | None) -> torch.Tensor:
    u = torch.rand(shape, device=device, generator=generator)
    tiny = torch.finfo(u.dtype).tiny
    return -torch.log(-torch.log(u.clamp(min=tiny, max=1.0 - 1e-7)))


class TextGenerator(nn.Module):
    """A causal language model as a GAN generator, called as `G(z)`.

    `z` (N, latent_dim) is added, through a zero-initialised projection, to the start token's
    embedding (latent_dim 0: no latent, all randomness comes from sampling). The serialised
    tokenizer and the special token ids ride along as buffers, so a snapshot can encode prompts
    and decode its samples on a machine without the tokenizer cache.
    """

    def __init__(self, lm: nn.Module, *, latent_dim: int, seq_len: int, bos_id: int,
                 eos_id: int, pad_id: int, stop_at_eos: bool, strategy: str,
                 straight_through: bool = True, tokenizer_json: str = "") -> None:
        super().__init__()
        self.lm = lm
        self.seq_len = seq_len
        self.bos_id, self.eos_id, self.pad_id = bos_id, eos_id, pad_id
        self.stop_at_eos = stop_at_eos
        self.strategy = strategy
        self.straight_through = straight_through
        hidden = lm.get_input_embeddings().embedding_dim
        self.z_proj = nn.Linear(latent_dim, hidden, bias=False) if latent_dim > 0 else None
        if self.z_proj is not None:
            nn.init.zeros_(self.z_proj.weight)  # a fresh latent leaves the language model as is
        # saved with the weights: a snapshot names its own special tokens and tokenizer
        self.register_buffer("special_ids", torch.tensor([bos_id, eos_id, pad_id]))
        data = bytearray(tokenizer_json.encode("utf-8"))
        self.register_buffer("tokenizer_json", torch.frombuffer(data, dtype=torch.uint8).clone()
                             if data else torch.zeros(0, dtype=torch.uint8))
        self.beta = 1.0
        """Gumbel-softmax inverse temperature; the domain sets it before each training step."""
        self.log_prob: torch.Tensor | None = None
        """reinforce: log-probability (N,) of the sequences of the latest forward pass."""
        self._cache_arg = _cache_argument(lm)

    @property
    def vocab_size(self) -> int:
        return int(self.lm.get_input_embeddings().num_embeddings)

    def tokenizer_text(self) -> str:
        return self.tokenizer_json.cpu().numpy().tobytes().decode("utf-8")

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        key = prefix + "tokenizer_json"
        if key in state_dict:  # the stored tokenizer's size decides the buffer's
            self.tokenizer_json = torch.empty_like(state_dict[key],
                                                   device=self.tokenizer_json.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.bos_id, self.eos_id, self.pad_id = (int(i) for i in self.special_ids.tolist())

    # -- pieces ---------------------------------------------------------------------------------

    def _start(self, z: torch.Tensor) -> torch.Tensor:
        """(N, 1, hidden): the start token's embedding, plus the projected latent."""
        emb = self.lm.get_input_embeddings()
        bos = torch.full((z.shape[0], 1), self.bos_id, dtype=torch.long, device=z.device)
        start = emb(bos)
        if self.z_proj is not None:
            start = start + self.z_proj(z.to(start.dtype)).unsqueeze(1)
        return start

    def after_end(self, tokens: torch.Tensor) -> torch.Tensor:
        """(N, T) bool: positions after each row's first end token (none for windows)."""
        if not self.stop_at_eos:
            return torch.zeros_like(tokens, dtype=torch.bool)
        is_end = (tokens == self.eos_id).long()
        return (is_end.cumsum(1) - is_end) > 0

    def teacher_logits(self, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """(N, T, V) float logits of each position given the tokens before it."""
        emb = self.lm.get_input_embeddings()
        inputs = torch.cat([self._start(z), emb(tokens[:, :-1].long())], dim=1)
        return self.lm(inputs_embeds=inputs, use_cache=False).logits.float()

    def token_nll(self, z: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor,
                                                                            torch.Tensor]:
        """(sum of negative log-likelihoods, number of scored tokens) of `tokens` (N, T): every
        position up to and including the end token; pads after it are not scored."""
        tokens = tokens.long()
        logits = self.teacher_logits(z, tokens)
        scored = ~self.after_end(tokens)
        nll = F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none")
        return (nll * scored).sum(), scored.sum()

    def nll(self, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per scored token (the maximum-likelihood loss)."""
        total, count = self.token_nll(z, tokens)
        return total / count.clamp(min=1)

    # -- sampling -------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, z: torch.Tensor, *, generator: torch.Generator | None = None,
               temperature: float = 1.0, top_k: int = 0, prompt: list[int] | None = None,
               keep_noise: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Token ids (N, T) drawn autoregressively (Gumbel-max: argmax(logits / temperature + g);
        temperature 0 is greedy), optionally restricted to the `top_k` likeliest tokens and
        starting with the `prompt` ids. With `keep_noise`, also the Gumbel noise (N, T, V) that
        chose each token (0 where the prompt or the end of the row chose it)."""
        n, device = z.shape[0], z.device
        prompt = list(prompt or [])[: self.seq_len]
        emb = self.lm.get_input_embeddings()
        tokens = torch.full((n, self.seq_len), self.pad_id, dtype=torch.long, device=device)
        noise = (torch.zeros(n, self.seq_len, self.vocab_size, device=device)
                 if keep_noise else None)
        finished = torch.zeros(n, dtype=torch.bool, device=device)
        from transformers import DynamicCache

        cache = DynamicCache()
        x = self._start(z)
        for t in range(self.seq_len):
            out = self.lm(inputs_embeds=x, use_cache=True, **{self._cache_arg: cache})
            logits = out.logits[:, -1].float()
            if t < len(prompt):
                nxt = torch.full((n,), prompt[t], dtype=torch.long, device=device)
            else:
                if self.pad_id != self.eos_id:
                    logits[:, self.pad_id] = _NEG
                if temperature > 0:
                    logits = logits / temperature
                if 0 < top_k < logits.shape[-1]:
                    kth = logits.topk(top_k, dim=-1).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, _NEG)
                if temperature > 0:
                    g = gumbel_noise(tuple(logits.shape), device, generator)
                    nxt = (logits + g).argmax(-1)
                    if noise is not None:
                        noise[:, t] = g
                else:
                    nxt = logits.argmax(-1)
            if self.stop_at_eos:
                nxt = torch.where(finished, torch.full_like(nxt, self.pad_id), nxt)
                finished = finished | (nxt == self.eos_id)
            tokens[:, t] = nxt
            # the rest of every row is padding: stop (checked every few tokens, since the check
            # waits for the device)
            if self.stop_at_eos and t % 4 == 3 and t >= len(prompt) and bool(finished.all()):
                break
            x = emb(nxt).unsqueeze(1)
        return tokens, noise

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Training samples: relaxed one-hots (N, T, V) for `gumbel`, token ids as floats (N, T)
        for `reinforce` (see the module docstring). Randomness from torch's global generator."""
        tokens, noise = self.sample(z, keep_noise=self.strategy == "gumbel")
        logits = self.teacher_logits(z, tokens)
        after = self.after_end(tokens)
        if self.strategy == "gumbel":
            if self.pad_id != self.eos_id:
                logits = logits.index_fill(-1, torch.tensor([self.pad_id], device=z.device), _NEG)
            soft = torch.softmax(self.beta * (logits + noise), dim=-1)
            if self.straight_through:  # the sampled one-hots forward, the relaxation backward
                hard = F.one_hot(tokens, self.vocab_size).to(soft.dtype)
                soft = hard + (soft - soft.detach())  # exactly `hard` forward
            if self.stop_at_eos:  # after the end token the row is padding, exactly as real rows
                pad = F.one_hot(torch.tensor(self.pad_id, device=z.device), self.vocab_size)
                soft = torch.where(after.unsqueeze(-1), pad.to(soft.dtype), soft)
            return soft
        log_p = torch.log_softmax(logits, dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        self.log_prob = log_p.masked_fill(after, 0.0).sum(1)
        return tokens.float()


class TextDiscriminator(nn.Module):
    """A BERT-style encoder with a learned classification vector in front; returns one logit
    per sequence. Input: token ids (N, T) (as integers or floats) or token distributions
    (N, T, V)."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = encoder.get_input_embeddings().embedding_dim
        self.cls = nn.Parameter(torch.randn(1, 1, hidden) * 0.02)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        emb = self.encoder.get_input_embeddings()
        # token ids (N, T) are looked up; distributions (N, T, V) mix the embedding rows
        inputs = emb(x.long()) if x.dim() == 2 else x.to(emb.weight.dtype) @ emb.weight
        cls = self.cls.expand(inputs.shape[0], -1, -1).to(inputs.dtype)
        hidden = self.encoder(inputs_embeds=torch.cat([cls, inputs], dim=1)).last_hidden_state
        return self.head(hidden[:, 0]).squeeze(-1)


# -- builders -------------------------------------------------------------------------------------

@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No progress bars or load reports from `from_pretrained` (ganx logs what it loads)."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def build_language_model(cfg: Any, n_vocab: int, bos: int, eos: int, pad: int) -> nn.Module:
    """The generator's language model: a local checkpoint (`cfg.generator`) or a GPT-2 of the
    configured size."""
    if cfg.generator:
        from transformers import AutoModelForCausalLM

        with quiet_transformers():
            return AutoModelForCausalLM.from_pretrained(cfg.generator, local_files_only=True)
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=n_vocab, n_positions=cfg.seq_len, n_embd=cfg.g_dim, n_layer=cfg.g_layers,
        n_head=cfg.g_heads, resid_pdrop=cfg.g_dropout, embd_pdrop=cfg.g_dropout,
        attn_pdrop=cfg.g_dropout, bos_token_id=bos, eos_token_id=eos, pad_token_id=pad,
    )
    return GPT2LMHeadModel(config)


def build_encoder(cfg: Any) -> nn.Module:
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=cfg.n_vocab, hidden_size=cfg.d_dim, num_hidden_layers=cfg.d_layers,
        num_attention_heads=cfg.d_heads, intermediate_size=4 * cfg.d_dim,
        max_position_embeddings=cfg.seq_len + 1, type_vocab_size=1,
        hidden_dropout_prob=cfg.d_dropout, attention_probs_dropout_prob=cfg.d_dropout,
        pad_token_id=0,
    )
    return BertModel(config, add_pooling_layer=False)
