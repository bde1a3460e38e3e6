"""`ganx serve` under load: requests per second and p50/p95 latency of the grid endpoint
(`/api/grid.png`, a PNG grid of `--n` samples from a seed) at 1, 8 and 32 concurrent clients on
the CPU, side by side with calling `generate` directly in one process (the serving overhead as
a ratio of median latencies). The server runs as `ganx serve` in its own process on loopback;
the clients are threads of this process. Each request asks for a different seed.

    python benchmarks/serve_load.py --run runs/fashion --requests 64
    python benchmarks/serve_load.py --train-steps 200 --out benchmarks/results/serve-load-cpu.md
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cli_runner import publish


def machine() -> str:
    """CPU model and whether it has native bf16 (avx512_bf16), from /proc/cpuinfo."""
    model, flags = platform.processor() or platform.machine(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("", platform.machine()):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    except OSError:
        pass
    bf16 = "avx512_bf16" in flags.split()
    return f"{model}, {os.cpu_count()} logical CPUs, avx512_bf16 {'yes' if bf16 else 'no'}"


def train_run(steps: int, folder: Path) -> Path:
    import ganx

    run = folder / "run"
    ganx.train("image", steps=steps, batch_size=32, device="cpu", run_dir=str(run),
               sample_every=steps, checkpoint_every=steps, eval_every=-1,
               settings={"width": 32})
    return run


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_server(run: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "ganx", "serve", str(run), "--port",
                                str(port)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("ganx serve did not start")


def load(base: str, clients: int, requests: int, n: int) -> tuple[float, list[float]]:
    """Wall-clock requests/s and per-request latencies (s) of `requests` grid requests."""
    def one(seed: int) -> float:
        start = time.perf_counter()
        with urllib.request.urlopen(f"{base}/api/grid.png?seed={seed}&n={n}", timeout=300) as r:
            r.read()
        return time.perf_counter() - start

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(clients)))  # warm-up, one request per client
        start = time.perf_counter()
        latencies = list(pool.map(one, range(1000, 1000 + requests)))
        wall = time.perf_counter() - start
    return requests / wall, latencies


def direct(run: Path, requests: int, n: int) -> tuple[float, list[float]]:
    import ganx

    model = ganx.load(run)
    for seed in range(5):  # warm-up
        model.generate(n, seed=seed)
    latencies = []
    start = time.perf_counter()
    for seed in range(1000, 1000 + requests):
        t = time.perf_counter()
        model.generate(n, seed=seed)
        latencies.append(time.perf_counter() - t)
    return requests / (time.perf_counter() - start), latencies


def serve_rows(run: Path, args: argparse.Namespace, base_p50: float) -> list[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = start_server(run, port)
    rows = []
    try:
        for clients in args.clients:
            rate, lat = load(f"http://127.0.0.1:{port}", clients, args.requests, args.n)
            p50 = statistics.median(lat)
            rows.append(f"| ganx serve /api/grid.png | {clients} | {rate:.1f} |"
                        f" {p50 * 1e3:.1f} | {percentile(lat, 0.95) * 1e3:.1f} |"
                        f" {p50 / base_p50:.2f} |")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="A trained run  [default: train one]")
    parser.add_argument("--train-steps", type=int, default=200,
                        help="Steps of the image run trained when --run is not given")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=64, help="Timed requests per level")
    parser.add_argument("--n", type=int, default=16, help="Samples per grid")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads in the server and in the direct calls")
    parser.add_argument("--out", type=Path, help="Also write the Markdown table here")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the server inherits it
    import torch

    torch.set_num_threads(args.threads)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run or train_run(args.train_steps, Path(tmp))
        rows, base_p50 = [], 0.0
        for when in ("before", "after"):  # the direct calls bracket the server's, for noise
            if when == "after":
                rows += serve_rows(run, args, base_p50)
            rate, lat = direct(run, args.requests, args.n)
            base_p50 = base_p50 or statistics.median(lat)
            rows.insert(0 if when == "before" else len(rows),
                        f"| generate in process ({when} the server) | 1 | {rate:.1f} |"
                        f" {statistics.median(lat) * 1e3:.1f} |"
                        f" {percentile(lat, 0.95) * 1e3:.1f} |"
                        f" {statistics.median(lat) / base_p50:.2f} |")
    title = (f"ganx serve load, grid of {args.n} samples, {args.requests} requests per level:"
             f" {machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads,"
             f" 1-minute load average {load_before:.1f} at the start")
    table = "\n".join([title, "", "| path | clients | requests/s | p50 ms | p95 ms |"
                       " p50 / first direct p50 |", "|---|---|---|---|---|---|", *rows])
    publish(table, args.out)


if __name__ == "__main__":
    main()
