"""Run callbacks: a plugin observes every run (records, snapshots, start and end), can stop it
early with a snapshot, and a failing callback never costs the run."""

from __future__ import annotations

import json

import pytest

import ganx
from ganx.core.callbacks import Callback
from ganx.plugins.hookspecs import hookimpl
from ganx_toy import plugin as toy_plugin

from ..conftest import SMALL, TOY_SMALL


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_run_start(self, run, step):
        self.events.append(("start", run.plugin, step, run.device, run.precision))

    def on_record(self, run, step, kind, values):
        self.events.append(("record", step, kind, sorted(values)))

    def on_snapshot(self, run, step, path):
        self.events.append(("snapshot", step, path.name))

    def on_run_end(self, run, step, error):
        self.events.append(("end", step, error))


class StopWhenLossIsLow(Callback):
    """Early stopping on a logged value: asks the run to stop at the first log point."""

    def on_record(self, run, step, kind, values):
        if kind == "train" and values["loss_d"] < 100:
            run.request_stop(f"loss_d {values['loss_d']:.3f} below 100")


class Broken(Callback):
    def on_record(self, run, step, kind, values):
        raise ZeroDivisionError("observer bug")


def callbacks_plugin(**factories):
    class CallbackPlugin:
        @staticmethod
        @hookimpl
        def ganx_register_callbacks(register):
            for name, factory in factories.items():
                register(name, factory)

    return CallbackPlugin


def test_a_callback_sees_every_record_snapshot_start_and_end(host_with, tmp_path):
    made: list[Recorder] = []

    def factory():
        made.append(Recorder())
        return made[-1]

    host = host_with((toy_plugin, "toy"), (callbacks_plugin(recorder=factory), "ganx-rec"))
    ganx.train("toy", host=host, run_dir=str(tmp_path / "run"), settings=TOY_SMALL, **SMALL)
    (recorder,) = made
    events = recorder.events
    assert events[0] == ("start", "toy", 0, "cpu", "fp32")
    assert events[-1] == ("end", 20, None)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text()
            .splitlines()]
    assert [(e[1], e[2]) for e in events if e[0] == "record"] == [
        (r["step"], r["kind"]) for r in rows]
    snapshots = [e for e in events if e[0] == "snapshot"]
    assert snapshots[0] == ("snapshot", 0, "step-00000000.pt") and snapshots[-1][1] == 20


def test_a_callback_can_stop_the_run_with_a_snapshot(host_with, tmp_path):
    host = host_with((toy_plugin, "toy"), (callbacks_plugin(stop=StopWhenLossIsLow), "ganx-stop"))
    result = ganx.train("toy", host=host, run_dir=str(tmp_path / "run"), settings=TOY_SMALL,
                        **SMALL)
    assert result.step == SMALL["log_every"]
    assert result.stopped_early is not None and "below 100" in result.stopped_early
    assert result.checkpoint.name == f"step-{SMALL['log_every']:08d}.pt"
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text()
            .splitlines()]
    assert rows[-1]["kind"] == "event" and rows[-1]["event"] == "stopped"


def test_a_failing_callback_is_named_and_left_out(host_with, tmp_path, caplog):
    recorder = Recorder()
    host = host_with((toy_plugin, "toy"),
                     (callbacks_plugin(broken=Broken, recorder=lambda: recorder), "ganx-obs"))
    with caplog.at_level("WARNING", logger="ganx"):
        result = ganx.train("toy", host=host, run_dir=str(tmp_path / "run"),
                            settings=TOY_SMALL, **SMALL)
    assert result.step == SMALL["steps"]
    failures = [r.getMessage() for r in caplog.records if "failed in" in r.getMessage()]
    assert failures == ["plugin 'ganx-obs': callback 'broken' failed in on_record during a run"
                        " of domain 'toy' (ZeroDivisionError: observer bug); left out for the"
                        " rest of this run"]
    assert recorder.events[-1][0] == "end"  # the other callback kept going


@pytest.mark.parametrize("installed", [True, False])
def test_tensorboard_is_a_callback_of_the_engine_plugin(host_with, tmp_path, monkeypatch,
                                                        installed):
    from ganx.core import tensorboard

    host = host_with((toy_plugin, "toy"))
    assert host.callbacks.get("tensorboard") is tensorboard.TensorBoardCallback
    if not installed:  # as without the optional extra
        import builtins

        real_import = builtins.__import__

        def no_tensorboard(name, *args, **kwargs):
            if name == "torch.utils.tensorboard":
                raise ImportError("No module named 'tensorboard'")
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    ganx.train("toy", host=host, run_dir=str(tmp_path / "run"), settings=TOY_SMALL, **SMALL)
    events = list((tmp_path / "run" / "tensorboard").glob("events.*"))
    assert bool(events) is installed
