"""Range checks of the engine's settings, run where the config is parsed.

`ganx train --dry-run` and `ganx.train` both go through `plan_run`, which calls
`check_train_config` before anything is written: a bad value never leaves a half-made run
directory behind, and every bad value is reported at once, not one per attempt.
"""

from __future__ import annotations

from .config import TrainConfig
from .errors import ConfigError

_AT_LEAST_ONE = ("steps", "batch_size", "d_steps", "log_every", "sample_every",
                 "checkpoint_every", "keep_checkpoints", "r1_interval", "pl_interval",
                 "n_samples", "eval_samples")
_POSITIVE = ("g_lr", "d_lr", "pretrain_lr")
_NOT_NEGATIVE = ("r1_gamma", "r2_gamma", "gp_weight", "pl_weight", "lecam_weight",
                 "ema_half_life", "ema_rampup", "ema_standing_stats", "num_workers",
                 "feature_matching", "profile_steps", "max_rollbacks", "device_data_limit_mb",
                 "freeze_d")


def train_config_problems(cfg: TrainConfig) -> list[str]:
    """Each invalid engine setting, as 'key: what is wrong and what would be valid'."""
    problems = [f"{name} must be at least 1, got {getattr(cfg, name)}"
                for name in _AT_LEAST_ONE if getattr(cfg, name) < 1]
    problems += [f"{name} must be positive, got {getattr(cfg, name)}"
                 for name in _POSITIVE if not getattr(cfg, name) > 0]
    problems += [f"{name} must be 0 or more, got {getattr(cfg, name)}"
                 for name in _NOT_NEGATIVE if getattr(cfg, name) < 0]
    if cfg.eval_every < -1:
        problems.append(f"eval_every must be -1 (never), 0 (at the end) or a step interval,"
                        f" got {cfg.eval_every}")
    if not all(0.0 <= b < 1.0 for b in cfg.betas):
        problems.append(f"betas must lie in [0, 1), got {list(cfg.betas)}")
    if not 0.0 <= cfg.lecam_decay < 1.0:
        problems.append(f"lecam_decay must lie in [0, 1), got {cfg.lecam_decay}")
    if not 0.0 <= cfg.lr_decay_start <= 1.0:
        problems.append(f"lr_decay_start must lie in [0, 1] (a share of steps; 1: no decay),"
                        f" got {cfg.lr_decay_start}")
    if not 0.0 < cfg.lr_backoff <= 1.0:
        problems.append(f"lr_backoff must lie in (0, 1], got {cfg.lr_backoff}")
    return problems


def check_train_config(cfg: TrainConfig, where: str = "settings") -> None:
    """Raise one ConfigError naming every invalid engine setting."""
    problems = train_config_problems(cfg)
    if len(problems) == 1:
        raise ConfigError(f"{where}: {problems[0]}")
    if problems:
        raise ConfigError(f"{where}: {len(problems)} invalid values: {'; '.join(problems)}")
