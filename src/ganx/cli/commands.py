"""The built-in subcommands. Each imports torch (through ganx.api) only inside its body."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import click

from ganx.core.config import TrainConfig
from ganx.core.metric_protocol import GENERATOR_WEIGHTS
from ganx.plugins.host import get_host

from .compare import compare
from .plugin_cmd import plugin as plugin_group
from .report_cmd import report
from .tools_cmds import TOOLS

_DEFAULTS = TrainConfig()


@click.command()
@click.option("--plugin", "-p", help="Domain to train, as listed by `ganx plugins`.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="TOML file with [train] and [domain] tables (and optionally plugin = ...).")
@click.option("--set", "set_pairs", multiple=True, metavar="KEY=VALUE",
              help="Set an engine or domain field, e.g. --set g_lr=1e-4; repeatable. "
                   "Prefix train. or domain. when both have the field.")
@click.option("--data", help="Training data: a path or a dataset name the domain knows.  "
                             "[default: the domain's default dataset]")
@click.option("--steps", type=int, help=f"Total generator steps.  [default: {_DEFAULTS.steps}]")
@click.option("--batch-size", type=int, help=f"Batch size.  [default: {_DEFAULTS.batch_size}]")
@click.option("--device", help="auto, cpu, cuda, cuda:N or mps.  [default: auto]")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
              help="Autocast precision.  [default: auto]")
@click.option("--seed", type=int, help=f"Random seed.  [default: {_DEFAULTS.seed}]")
@click.option("--run-dir", type=click.Path(file_okay=False),
              help="Run directory.  [default: runs/<plugin>-<timestamp>]")
@click.option("--init", "init", type=click.Path(),
              help="Fine-tune: start G, D and G_ema from this run directory or snapshot (same "
                   "architecture; fresh optimizers, step 0).  [default: random initialisation]")
@click.option("--resume", is_flag=True,
              help="Continue from the newest snapshot in --run-dir (or the newest run of the "
                   "plugin), up to --steps in total.")
@click.option("--profile", "profile_steps", type=int,
              help="Profile this many steps (after the first) into RUN/profile/ and print where "
                   "step time goes.  [default: off]")
@click.option("--nproc", type=int,
              help="Train with this many processes on this machine (runs torchrun; one per GPU)."
                   "  [default: 1]")
@click.option("--dry-run", is_flag=True, help="Print the resolved config as TOML and exit.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar.  [default: on when stderr is a terminal]")
def train(plugin, config_file, set_pairs, data, steps, batch_size, device, precision, seed,
          run_dir, init, resume, profile_steps, nproc, dry_run, progress) -> None:
    """Train a GAN for a domain plugin."""
    if nproc is not None and nproc < 1:
        raise click.BadParameter(f"{nproc}: use 1 or more processes", param_hint="--nproc")
    if nproc and nproc > 1 and "RANK" not in os.environ and not dry_run:
        _exec_torchrun(nproc)
    from ganx.api import plan_run, run_plan
    from ganx.core.config import parse_set_options

    settings = parse_set_options(set_pairs)
    options = {"steps": steps, "batch_size": batch_size, "device": device,
               "precision": precision, "seed": seed, "run_dir": run_dir, "data": data,
               "profile_steps": profile_steps, "init": init}
    plan = plan_run(plugin, config_file=config_file, settings=settings, options=options,
                    resume=resume)
    if dry_run:
        click.echo(plan.to_toml(), nl=False)
        return
    result = run_plan(plan, show_progress=progress)
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 reports
        return
    click.echo(f"run dir: {result.run_dir}")
    click.echo(f"snapshot: {result.checkpoint}")
    for key, value in result.metrics.items():
        click.echo(f"{key}: {value:.4g}")
    from ganx.report import write_report

    try:
        click.echo(f"report: {write_report(result.run_dir)}")
    except Exception as exc:  # the run is safe on disk; a report can be made later
        click.echo(f"report: not written ({type(exc).__name__}: {exc}); try `ganx report"
                   f" {result.run_dir}`", err=True)


@click.command()
@click.argument("run", type=click.Path())
@click.option("-n", "count", type=int, default=64, help="Number of samples.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Output folder.  [default: RUN/generated]")
@click.option("--seed", type=int, default=0, help="Seed: the same seed writes the same bytes.")
@click.option("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--set", "set_pairs", multiple=True, metavar="KEY=VALUE",
              help="Change a domain field for sampling, e.g. --set label=3; repeatable.")
@click.option("--label", type=int, help="Class to sample from a class-conditional run "
                                         "(same as --set label=N).")
@click.option("--prompt", help="Text runs: every sample continues this text "
                                 "(same as --set prompt=TEXT).")
@click.option("--temperature", type=float, help="Text runs: softmax temperature, 0 is greedy "
                                                "(same as --set temperature=T).")
@click.option("--top-k", "top_k", type=int, help="Text runs: sample among the K likeliest tokens, "
                                                 "0 for all (same as --set top_k=K).")
@click.option("--input", "source", type=click.Path(),
              help="Restoration runs: restore this file or folder instead of sampling.")
@click.option("--truncation", "psi", type=float,
              help="Truncation trick: move each latent toward the mean by PSI (1 is off, 0 the "
                   "mean); in w toward its tracked mean with a mapping network (arch=stylegan2),"
                   " else toward zero.  [default: 1]")
def sample(run, count, out, seed, device, set_pairs, label, prompt, temperature, top_k,
           source, psi) -> None:
    """Draw samples from a run directory (newest snapshot) or a snapshot file, using G_ema."""
    import ganx
    from ganx.core.config import parse_set_options

    if count < 1:
        raise click.BadParameter("must be at least 1", param_hint="-n")
    settings: dict[str, object] = dict(parse_set_options(set_pairs))
    # shorthands for domain fields; a domain without the field rejects it by name
    shorthands = {"label": label, "prompt": prompt, "temperature": temperature, "top_k": top_k}
    settings.update({key: value for key, value in shorthands.items() if value is not None})
    model = ganx.load(run, device=device, settings=settings)
    default_out = Path(run) / "generated" if Path(run).is_dir() else Path(run).parent / "generated"
    if source:
        paths = model.restore(source, Path(out) if out else default_out)
    elif psi is not None:
        from ganx.tools.latent import write_truncated

        paths = write_truncated(model, Path(out) if out else default_out, count, seed=seed,
                                psi=psi)
    else:
        paths = model.write_samples(Path(out) if out else default_out, count, seed=seed)
    for path in paths:
        click.echo(str(path))


@click.command()
@click.argument("run", type=click.Path())
@click.option("-n", "count", type=int, default=None,
              help="Samples to score.  [default: the run's eval_samples]")
@click.option("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--reference", default="train", show_default=True, metavar="train|test|PATH",
              help="Real data to compare with: the run's training data, its held-out test split"
                   " (where the data has one) or a folder/dataset the domain reads.")
@click.option("--eval-seeds", "eval_seeds", type=int, default=1, show_default=True,
              help="Repeat the sampling with this many seeds and print mean ± sd.")
@click.option("--metric", "metric_names", multiple=True, metavar="NAME",
              help="Only this metric (repeatable), e.g. image-fid without the slower"
                   " image-memorisation.  [default: all the domain's]")
@click.option("--weights", type=click.Choice(GENERATOR_WEIGHTS), default="ema",
              show_default=True,
              help="The generator's moving average (ema) or the trained generator's own weights"
                   " (raw): compare the two to see what the EMA adds.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: the values, their protocol (and every seed's values).")
def evaluate(run, count, device, reference, eval_seeds, metric_names, weights, as_json) -> None:
    """Score a trained run with its domain's metrics, saying how they were measured."""
    import ganx

    result = ganx.evaluation(run, n=count, device=device, reference=reference, seeds=eval_seeds,
                             metrics=metric_names, weights=weights)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    for key, value in result.values.items():
        spread = f" ± {result.sd[key]:.2g}" if key in result.sd else ""
        click.echo(f"{key}: {value:.4g}{spread}")
    seeds = f" (seeds {', '.join(map(str, result.seeds))})" if len(result.seeds) > 1 else ""
    click.echo(f"protocol: {result.protocol.summary()}{seeds}")


def _exec_torchrun(nproc: int) -> None:
    """Replace this process with `torchrun --nproc-per-node N -m ganx train ...` (the same
    arguments, less --nproc), so signals reach torchrun and its workers directly."""
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            args.append(arg)
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc-per-node", str(nproc), "-m", "ganx", *args]
    sys.stdout.flush()
    os.execv(sys.executable, argv)


@click.command()
@click.option("--plugin", "-p", required=True, help="Domain whose default step to time.")
@click.option("--set", "set_pairs", multiple=True, metavar="KEY=VALUE",
              help="Set an engine or domain field, as for train; repeatable.")
@click.option("--data", help="Training data, as for train.  [default: the domain's default]")
@click.option("--batch-size", type=int, help="Batch size.  [default: the domain's]")
@click.option("--device", help="auto, cpu, cuda, cuda:N or mps.  [default: auto]")
@click.option("--steps", type=int, default=20, show_default=True,
              help="Timed steps per loop and round.")
@click.option("--warmup", type=int, default=5, show_default=True,
              help="Untimed steps per loop first.")
@click.option("--rounds", type=int, default=3, show_default=True,
              help="Interleaved rounds; the median round counts.")
@click.option("--precision", "precisions", multiple=True,
              type=click.Choice(["fp32", "bf16", "fp16"]),
              help="Engine precisions to time; repeatable.  [default: all the device supports]")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Also write the table (Markdown) to this file.")
def bench(plugin, set_pairs, data, batch_size, device, steps, warmup, rounds, precisions,
          out) -> None:
    """Time the domain's training step in ganx and in a textbook loop, side by side."""
    import torch

    from ganx.api import bench as run
    from ganx.core.config import parse_set_options

    options = {"batch_size": batch_size, "device": device, "data": data}
    rows = run(plugin, settings=parse_set_options(set_pairs), steps=steps, warmup=warmup,
               rounds=rounds, precisions=tuple(precisions) or ("fp32", "bf16", "fp16"),
               report=lambda line: click.echo(line, err=True), **options)
    from ganx.core.bench import format_table
    from ganx.core.device import resolve_device

    dev = resolve_device(device or "auto")
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else \
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    title = (f"ganx bench --plugin {plugin}: {dev} ({where}), torch {torch.__version__},"
             f" {steps} steps x {rounds} rounds")
    table = format_table(rows, title)
    click.echo(table)
    if out:
        Path(out).write_text(table + "\n", encoding="utf-8")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def plugins(as_json) -> None:
    """List installed plugins: distribution, version, what they register, load errors."""
    infos = list(get_host().loaded())
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in infos], indent=2))
        return
    if not infos:
        click.echo("no plugins installed")
        return
    for info in infos:
        click.echo(f"{info.name}  ({info.distribution} {info.version})".rstrip())
        if info.error:
            click.echo(f"  error: {info.error}")
            continue
        for label, names in (("domains", info.domains), ("losses", info.losses),
                             ("metrics", info.metrics), ("callbacks", info.callbacks),
                             ("hooks", info.hooks)):
            if names:
                click.echo(f"  {label}: {', '.join(names)}")
        if info.load_seconds >= 0.01:
            click.echo(f"  load time: {info.load_seconds:.2f} s")
        for warning in info.warnings:
            click.echo(f"  warning: {warning}")


@click.command()
def info() -> None:
    """Show the environment: versions, devices, and what precision `auto` would pick."""
    import torch

    import ganx
    from ganx.core.device import resolve_device
    from ganx.core.precision import auto_precision

    click.echo(f"ganx {ganx.__version__}")
    click.echo(f"python {platform.python_version()} ({sys.executable})")
    click.echo(f"torch {torch.__version__}")
    click.echo(f"platform {platform.platform()}")
    click.echo(f"cpu threads {torch.get_num_threads()}")
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            click.echo(f"cuda:{i} {torch.cuda.get_device_name(i)}")
    else:
        click.echo("cuda not available")
    click.echo(f"mps {'available' if torch.backends.mps.is_available() else 'not available'}")
    device = resolve_device("auto")
    precision, reason = auto_precision(device)
    click.echo(f"device auto -> {device}")
    click.echo(f"precision auto -> {precision} ({reason})")
    click.echo(f"GANX_HOME {os.environ.get('GANX_HOME', '~/.cache/ganx (unset)')}")
    click.echo(f"plugins {', '.join(get_host().plugins) or 'none'}")


ALL = [train, sample, evaluate, bench, plugins, info]


@click.group()
def data() -> None:
    """Inspect the datasets the installed domains know."""


@data.command("list")
@click.option("--plugin", "-p", help="Only this domain.")
def data_list(plugin) -> None:
    """List named datasets per domain and whether each is usable on this machine."""
    host = get_host()
    names = [plugin] if plugin else host.domains.names()
    for name in names:
        domain = host.domain(name)
        for dataset, description, missing in domain.datasets():
            status = "available" if missing is None else f"missing: {missing}"
            click.echo(f"{name}  {dataset}  [{status}]  {description}")


@data.command("prepare")
@click.argument("name")
@click.option("--plugin", "-p", help="The domain that knows NAME.  [default: any that does]")
@click.option("--set", "set_pairs", multiple=True, metavar="KEY=VALUE",
              help="Domain settings of the dataset, e.g. --set digits_clips=8000; repeatable.")
def data_prepare(name: str, plugin: str | None, set_pairs: tuple[str, ...]) -> None:
    """Make a named dataset ready in the ganx cache now rather than on first use (e.g. synthesise
    spoken-digits), through the domain's optional `prepare_dataset(name, cfg)`."""
    from ganx.core.calls import call_domain
    from ganx.core.config import apply_settings, parse_set_options
    from ganx.core.domain import Domain
    from ganx.core.errors import ConfigError, did_you_mean

    host = get_host()
    known: list[str] = []
    for domain_name in [plugin] if plugin else host.domains.names():
        domain = host.domain(domain_name)
        if type(domain).prepare_dataset is Domain.prepare_dataset:
            continue
        listed = [entry[0] for entry in call_domain(domain, "datasets")]
        known += listed
        if name in listed:
            cfg = apply_settings(domain.Config(), parse_set_options(set_pairs), "--set")
            click.echo(str(call_domain(domain, "prepare_dataset", name, cfg)))
            return
    raise ConfigError(f"no installed domain prepares a dataset named {name!r}"
                      f"{did_you_mean(name, known)} (preparable: {', '.join(known) or 'none'})")


ALL.append(data)

ALL += [report, compare, plugin_group]
ALL += TOOLS
