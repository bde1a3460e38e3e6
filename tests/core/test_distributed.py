"""Scale-out on the CPU: two gloo processes train in lockstep and match one process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from ganx.core.checkpoint import list_snapshots, load_checkpoint

from ..conftest import TOY_SMALL, run_ganx

OPTIONS = {"steps": 20, "batch_size": 32, "device": "cpu", "precision": "fp32", "log_every": 5,
           "sample_every": 10, "checkpoint_every": 10, "eval_every": -1}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, world: int, port: int, run_dir: str, out: str) -> None:
    """One process of a two-process job: train the toy domain, save this rank's weights."""
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from ganx.api import _loss, plan_run
    from ganx.core.trainer import Trainer
    from ganx.plugins import engine
    from ganx.plugins.host import PluginHost
    from ganx_toy import plugin as toy_plugin

    host = PluginHost()
    host.register_plugin(engine, "engine")
    host.register_plugin(toy_plugin, "toy")
    plan = plan_run("toy", settings=TOY_SMALL, options={**OPTIONS, "run_dir": run_dir},
                    host=host)
    trainer = Trainer(plan.domain, plan.domain_config, plan.train, run_dir=plan.run_dir,
                      loss=_loss(host, plan.train.loss), plugin="toy")
    trainer.fit()
    torch.save({"G": trainer.G.state_dict(), "D": trainer.D.state_dict()},
               Path(out) / f"rank{rank}.pt")


def test_two_gloo_ranks_stay_identical_and_match_one_process(tmp_path):
    mp.spawn(_rank_main, args=(2, free_port(), str(tmp_path / "ddp"), str(tmp_path)), nprocs=2)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    for net in ("G", "D"):
        for name, tensor in r0[net].items():
            assert torch.equal(tensor, r1[net][name]), f"ranks differ in {net}.{name}"
    # only rank 0 wrote, once
    assert [s for s, _ in list_snapshots(tmp_path / "ddp" / "checkpoints")] == [20, 10, 0]
    rows = (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()
    assert len([r for r in rows if '"kind": "train"' in r]) == 4

    import ganx

    single = ganx.train("toy", run_dir=str(tmp_path / "single"), settings=TOY_SMALL, **OPTIONS)
    one = load_checkpoint(single.checkpoint)
    for net in ("G", "D"):
        for name, tensor in one[net].items():
            torch.testing.assert_close(r0[net][name], tensor, rtol=1e-4, atol=1e-5,
                                       msg=f"{net}.{name}: 2 processes vs 1")


@pytest.mark.skipif(sys.platform != "linux", reason="torchrun test uses Linux process groups")
def test_nproc_runs_torchrun_then_resume_on_a_different_world_size(tmp_path):
    run = tmp_path / "run"
    args = ["--plugin", "toy", "--device", "cpu", "--precision", "fp32", "--batch-size", "32",
            "--set", "n_points=512", "--set", "hidden=16", "--set", "depth=2",
            "--set", "log_every=5", "--set", "checkpoint_every=10", "--set", "eval_every=-1",
            "--run-dir", str(run), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # --nproc re-runs the command under torchrun --standalone
    done = subprocess.run([sys.executable, "-m", "ganx", "train", "--nproc", "2", *args,
                           "--steps", "10"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("run dir:") == 1  # rank 0 reports
    resumed = run_ganx("train", *args, "--steps", "20", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert load_checkpoint(run / "checkpoints" / "step-00000020.pt")["step"] == 20


def test_batch_that_does_not_split_over_ranks_is_a_clear_error():
    from ganx.core.data import make_source
    from ganx.core.errors import ConfigError

    with pytest.raises(ConfigError, match="batch_size 33 does not split evenly over 2"):
        make_source(torch.zeros(64, 2), 33, torch.device("cpu"), 0, 0, 10, shard=(0, 2))


def test_each_rank_takes_its_part_of_the_global_batch():
    from ganx.core.data import make_source

    data = torch.arange(64).float().unsqueeze(1)
    whole = make_source(data, 8, torch.device("cpu"), 3, 0, 10).next()[0]
    parts = [make_source(data, 8, torch.device("cpu"), 3, 0, 10, shard=(r, 2)).next()[0]
             for r in (0, 1)]
    assert torch.equal(torch.cat(parts), whole)
