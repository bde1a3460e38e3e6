"""`ganx evaluate`'s work: score a trained run against a chosen reference set, over one or more
sample seeds, with the protocol of the values (`ganx.core.metric_protocol`).

    result = ganx.evaluation("runs/image-...", reference="test", seeds=3)
    result.values["fid"], result.sd["fid"], result.protocol.to_dict()
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.errors import ConfigError
from .core.metric_protocol import MetricProtocol

if TYPE_CHECKING:
    from .api import TrainedGenerator
    from .plugins.host import PluginHost

__all__ = ["RunEvaluation", "evaluation", "reference_data"]


@dataclass(frozen=True)
class RunEvaluation:
    """The values (means over the seeds), their standard deviations (over the seeds; empty for
    one seed), every seed's values and the protocol (of the first seed; with several, its
    details say `eval_seeds`)."""

    values: dict[str, float]
    protocol: MetricProtocol
    seeds: list[int]
    per_seed: list[dict[str, float]]
    sd: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the values at top level, then `protocol` (and with several seeds `sd`,
        `seeds` and `per_seed`)."""
        out: dict[str, Any] = dict(self.values)
        if len(self.seeds) > 1:
            out.update(sd=dict(self.sd), seeds=list(self.seeds),
                       per_seed=[dict(v) for v in self.per_seed])
        out["protocol"] = self.protocol.to_dict()
        return out


def reference_data(model: TrainedGenerator, reference: str) -> tuple[Any, str, str]:
    """(dataset, name, split) for `--reference`: `train` (the run's data), `test` (its held-out
    split, where the domain has one) or a PATH the domain can read as data."""
    from .core.calls import call_domain

    data = model.train_config.data
    name = data or "default"
    if reference == "train":
        return call_domain(model.domain, "build_dataset", model.config, data), name, "train"
    if reference == "test":
        held = call_domain(model.domain, "heldout_dataset", model.config, data)
        if held is None:
            raise ConfigError(f"--reference test: domain '{model.domain.name}' has no test split"
                              f" for data {name!r}; use --reference train or a PATH")
        return held, name, "test"
    path = Path(reference).expanduser()
    if not path.exists():
        raise ConfigError(f"--reference {reference}: use train, test or an existing PATH")
    dataset = call_domain(model.domain, "build_dataset", model.config, str(path.resolve()))
    return dataset, str(path.resolve()), "path"


def _mean_sd(runs: list[dict[str, float]]) -> tuple[dict[str, float], dict[str, float]]:
    keys = [k for k in runs[0] if all(k in r for r in runs)]
    means = {k: math.fsum(r[k] for r in runs) / len(runs) for k in keys}
    if len(runs) < 2:
        return means, {}
    return means, {k: statistics.stdev([r[k] for r in runs]) for k in keys}


def _chosen(names: list[str], wanted: Sequence[str], domain: str) -> list[str]:
    """The metrics `--metric` names, in the domain's order; a one-line error for any other."""
    unknown = [m for m in wanted if m not in names]
    if unknown:
        raise ConfigError(f"--metric {unknown[0]}: domain '{domain}' evaluates with"
                          f" {', '.join(names) or 'no named metric'}")
    return [m for m in names if m in wanted] if wanted else names


def evaluation(path: str | Path, *, n: int | None = None, device: str = "cpu",
               reference: str = "train", seeds: int = 1, metrics: Sequence[str] = (),
               host: PluginHost | None = None, weights: str = "ema") -> RunEvaluation:
    """Score a run's generator (its EMA weights, or the trained generator's own with
    `weights="raw"`) with its domain's default metrics and the extra ones it names for
    `ganx evaluate` (or only the `metrics` named, a subset of those), against
    `reference`, over `seeds` sample seeds (the run's seed, then the next ones). Appends the
    result to the run's metrics.jsonl."""
    from .api import load
    from .core.evaluation import EvaluationContext
    from .core.sampling import call_domain, has_model_metrics, run_evaluation
    from .plugins.host import get_host

    if seeds < 1:
        raise ConfigError(f"--eval-seeds {seeds}: use 1 or more")
    host = host or get_host()
    model = load(path, device=device, host=host, weights=weights)
    names = list(call_domain(model.domain, "default_metrics", model.config))
    names += [m for m in call_domain(model.domain, "evaluation_metrics", model.config)
              if m not in names]
    if not names and not has_model_metrics(model.domain):
        raise ConfigError(f"domain '{model.domain.name}' declares no metrics to evaluate")
    names = _chosen(names, metrics, model.domain.name)
    scorers = {name: host.metrics.get(name) for name in names}
    tc = model.train_config
    dataset, ref_name, split = reference_data(model, reference)
    run_dir, in_run = model.path.parent.parent, model.path.parent.name == "checkpoints"
    context = EvaluationContext(tc.data, run_dir / "evaluation" if in_run else None, model.step,
                                "evaluate")
    base = MetricProtocol(reference=ref_name, reference_split=split, generator=weights,
                          precision="fp32")
    seed_list = [tc.seed + i for i in range(seeds)]
    done = [run_evaluation(model.domain, model.config, model.generator, dataset, scorers,
                           n=n or tc.eval_samples, seed=seed, device=model.device,
                           batch_size=tc.batch_size, context=context, protocol=base)
            for seed in seed_list]
    means, sds = _mean_sd([e.values for e in done])
    protocol = done[0].protocol
    if seeds > 1:  # means over seeds are not comparable with single values
        protocol = dataclasses.replace(protocol, details={**protocol.details, "eval_seeds": seeds})
    result = RunEvaluation(means, protocol, seed_list, [e.values for e in done], sds)
    if in_run and (run_dir / "metrics.jsonl").exists():
        from .core.runlog import append_record

        extra = {k: v for k, v in result.to_dict().items() if k not in means}
        append_record(run_dir / "metrics.jsonl", model.step, "evaluate", {**means, **extra})
    return result
