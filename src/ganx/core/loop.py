"""The step loop of one `Trainer.fit`: steps until the run's length, and at the intervals the
config sets reads losses back and checks them, writes samples, evaluates and snapshots."""

from __future__ import annotations

import logging
import math
import signal
import time
from typing import TYPE_CHECKING, Any

from .errors import GanxError, RunError, TrainingInterrupted
from .phases import Accumulator
from .runlog import RunLog
from .sampling import plugin_method

if TYPE_CHECKING:
    from .trainer import Trainer

log = logging.getLogger("ganx")


class StepLoop:
    """The step loop of one `fit`, with what it does at log, sample, eval and snapshot points."""

    def __init__(self, trainer: Trainer, runlog: RunLog) -> None:
        self.t, self.runlog = trainer, runlog
        self.acc = Accumulator()
        self.final_metrics: dict[str, float] = {}
        self.started, self.started_step = time.perf_counter(), trainer.state.step
        self.bar: Any = None
        if trainer.show_progress:
            from tqdm import tqdm

            self.bar = tqdm(total=trainer.cfg.steps, initial=trainer.state.step,
                            desc=trainer.plugin, unit="step", dynamic_ncols=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def run(self) -> None:
        t, first = self.t, True
        while t.state.step < t.cfg.steps:
            if t.signals.stop_requested(t.state.step, t.cfg.log_every, t.device):
                path = t._snapshot()
                raise TrainingInterrupted(t.signals.signum or signal.SIGTERM, str(path))
            if t.callbacks.run.stop_reason is not None:
                self._stop_early()
                return
            t.profiler.before_step(t.state.step)
            self._step(first)
            first = False
            t.profiler.after_step(t.state.step)
            if self.bar is not None:
                self.bar.update(1)
            self._after_step()

    def _step(self, first: bool) -> None:
        t = self.t
        try:
            if first:
                t._first_step(self.acc)
            else:
                t.train_step(self.acc)
        except Exception as exc:  # a plugin's bug: name the domain and its method
            method = plugin_method(exc, t.domain)
            if isinstance(exc, GanxError) or method is None:
                raise
            raise RunError(f"domain '{t.domain.name}' failed in {method} at step"
                           f" {t.state.step + 1}: {type(exc).__name__}: {exc}") from exc

    def _after_step(self) -> None:
        t, c = self.t, self.t.cfg
        step, at_end = t.state.step, t.state.step == c.steps
        if (step % c.log_every == 0 or at_end) and not self._log_point():
            return
        if step % c.sample_every == 0 or at_end:
            t.write_samples()
        if (c.eval_every > 0 and step % c.eval_every == 0) or (at_end and c.eval_every >= 0):
            self._evaluate()
        if step % c.checkpoint_every == 0 or at_end:
            if not t.nets.all_finite():
                t._rollback(step, "non-finite weights", self.runlog)
                return
            t._snapshot()
            t.rollbacks = 0

    def _log_point(self) -> bool:
        """Read the losses back and check them; False after a roll-back."""
        t = self.t
        values = self.acc.means(t.world)
        self.acc.clear()
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            t._rollback(t.state.step, f"non-finite {', '.join(bad)}", self.runlog)
            if self.bar is not None:
                self.bar.n = t.state.step
                self.bar.refresh()
            return False
        elapsed = time.perf_counter() - self.started
        values["samples_per_s"] = ((t.state.step - self.started_step) * t.cfg.batch_size
                                   / max(elapsed, 1e-9))
        kind = "pretrain" if t.state.step <= t.pretrain_steps else "train"
        t._record(self.runlog, kind, values)
        text = " ".join(f"{k}={v:.4g}" for k, v in values.items())
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
        else:
            log.info("step %d/%d %s", t.state.step, t.cfg.steps, text)
        return True

    def _evaluate(self) -> None:
        t = self.t
        evaluation = t.evaluate()
        self.final_metrics = evaluation.values if evaluation else {}
        if evaluation and self.final_metrics:
            t._record(self.runlog, "eval", self.final_metrics, evaluation.protocol)
            log.info("step %d eval %s", t.state.step,
                     " ".join(f"{k}={v:.4g}" for k, v in self.final_metrics.items()))

    def _stop_early(self) -> None:
        t = self.t
        reason = t.callbacks.run.stop_reason
        log.info("stopping at step %d: %s", t.state.step, reason)
        t._record(self.runlog, "event", {"event": "stopped", "reason": reason})
        t._snapshot()
