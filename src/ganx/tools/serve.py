"""`ganx serve`: a local page and a JSON API for a trained run (FastAPI + uvicorn).

Every response is made by the domain's own sample writer (pictures, WAV clips, text lines) in a
temporary folder and sent inline, so the page shows what `ganx sample` writes. Clients choose
numbers only (seed, n, frames, truncation, class) and, for text runs, a prompt: never a path,
module or file name. Sizes are capped (`MAX_N`, `MAX_FRAMES`, `MAX_PROMPT`) with a 400 and a
one-line message. One lock serialises the model, and every result depends on the request alone
(the latents come from the seed), so concurrent requests never mix and a seed always gives the
same bytes."""

from __future__ import annotations

import base64
import dataclasses
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganx.core.calls import call_domain
from ganx.core.errors import GanxError

from .interpolate import hold_class, interpolate
from .latent import conditional_labels, decode, refuse_restoration, seed_latents

if TYPE_CHECKING:
    from ganx.api import TrainedGenerator

__all__ = ["MAX_FRAMES", "MAX_N", "MAX_PROMPT", "Demo", "make_app", "serve"]

MAX_N = 64
MAX_FRAMES = 32
MAX_PROMPT = 200
MAX_SEED = 2**31 - 1
MIME = {".png": "image/png", ".wav": "audio/wav"}


class BadRequest(ValueError):
    """A request outside the caps: answered with 400 and this message."""


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise BadRequest(message)


class Demo:
    """The model behind the page: requests in, the domain writer's files out."""

    def __init__(self, model: TrainedGenerator) -> None:
        refuse_restoration(model, "ganx serve")
        self.model = model
        self.held = hold_class(model)  # an interpolation keeps one class
        self.lock = threading.Lock()
        labels = conditional_labels(model, 1)
        self.num_classes = int(getattr(model.config, "num_classes", 0)) if labels is not None \
            else 0
        self.text = hasattr(model.config, "prompt")
        folder = model.path.parent.parent if model.path.parent.name == "checkpoints" \
            else model.path.parent
        self.report = folder / "report.html"

    def info(self) -> dict[str, Any]:
        m = self.model
        return {"domain": m.domain.name, "step": m.step, "classes": self.num_classes,
                "text": self.text, "report": self.report.is_file(), "max_n": MAX_N,
                "max_frames": MAX_FRAMES, "max_prompt": MAX_PROMPT,
                "mapping": hasattr(m.generator, "w_avg")}

    def _model(self, prompt: str) -> TrainedGenerator:
        if not prompt:
            return self.model
        _check(self.text, "prompt: this run does not take a prompt (text runs only)")
        _check(len(prompt) <= MAX_PROMPT, f"prompt: at most {MAX_PROMPT} characters")
        return dataclasses.replace(self.model, config=dataclasses.replace(  # type: ignore[call-arg]
            self.model.config, prompt=prompt))

    def _labels(self, label: int, n: int) -> torch.Tensor | None:
        if label < 0 or not self.num_classes:
            _check(label < 0, "label: this run is not class-conditional")
            return None
        _check(label < self.num_classes, f"label: use 0 to {self.num_classes - 1}")
        return torch.full((n,), label, dtype=torch.long)

    def grid(self, seed: int, n: int, psi: float, label: int = -1,
             prompt: str = "") -> dict[str, list[str]]:
        _check(0 <= seed <= MAX_SEED, f"seed: use 0 to {MAX_SEED}")
        _check(1 <= n <= MAX_N, f"n: use 1 to {MAX_N}")
        _check(0.0 <= psi <= 1.0, "truncation: use 0 to 1")
        model = self._model(prompt)
        labels = self._labels(label, n)
        with self.lock:
            z = seed_latents(model, n, seed)
            samples = decode(model, z, labels=labels, psi=psi, seed=seed).cpu()
            return self._written(model, samples)

    def path(self, a: int, b: int, frames: int, psi: float) -> dict[str, list[str]]:
        _check(min(a, b) >= 0 and max(a, b) <= MAX_SEED, f"seeds: use 0 to {MAX_SEED}")
        _check(2 <= frames <= MAX_FRAMES, f"frames: use 2 to {MAX_FRAMES}")
        _check(0.0 <= psi <= 1.0, "truncation: use 0 to 1")
        with self.lock:
            samples = interpolate(self.held, [str(a), str(b)], frames, psi=psi)
            return self._written(self.held, samples)

    @staticmethod
    def _written(model: TrainedGenerator, samples: torch.Tensor) -> dict[str, list[str]]:
        """The domain writer's pictures, clips (as data URIs) and text lines."""
        out: dict[str, list[str]] = {"pictures": [], "clips": [], "lines": []}
        with tempfile.TemporaryDirectory() as tmp:
            paths = call_domain(model.domain, "write_samples", model.config, samples, Path(tmp),
                                "grid")
            for path in sorted(Path(p) for p in paths):
                if path.suffix in MIME:
                    data = base64.b64encode(path.read_bytes()).decode("ascii")
                    key = "pictures" if path.suffix == ".png" else "clips"
                    out[key].append(f"data:{MIME[path.suffix]};base64,{data}")
                elif path.suffix == ".txt":
                    out["lines"] += path.read_text(encoding="utf-8").splitlines()
        return out


def make_app(demo: Demo) -> Any:
    """The FastAPI application: `/` (the page), `/api/info`, `/api/grid`, `/api/grid.png`,
    `/api/interpolate`, `/report` (the run's report, when written)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

    from .serve_page import PAGE

    app = FastAPI(title="ganx serve", docs_url=None, redoc_url=None, openapi_url=None)

    def refused(request: Request, exc: Exception) -> JSONResponse:  # a one-line 400
        return JSONResponse({"error": str(exc)}, status_code=400)

    for error in (BadRequest, GanxError):
        app.add_exception_handler(error, refused)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        return demo.info()

    @app.get("/api/grid")
    def grid(seed: int = 0, n: int = 16, truncation: float = 1.0, label: int = -1,
             prompt: str = "") -> dict[str, list[str]]:
        return demo.grid(seed, n, truncation, label, prompt)

    @app.get("/api/grid.png")
    def grid_png(seed: int = 0, n: int = 16, truncation: float = 1.0,
                 label: int = -1) -> Response:
        pictures = demo.grid(seed, n, truncation, label)["pictures"]
        _check(bool(pictures), "grid.png: this run's samples are not pictures; use /api/grid")
        return Response(base64.b64decode(pictures[0].split(",", 1)[1]), media_type="image/png")

    @app.get("/api/interpolate")
    def path(a: int = 0, b: int = 1, frames: int = 8,
             truncation: float = 1.0) -> dict[str, list[str]]:
        return demo.path(a, b, frames, truncation)

    @app.get("/report", response_model=None)
    def report() -> FileResponse | JSONResponse:
        if not demo.report.is_file():
            return JSONResponse({"error": "no report yet: run `ganx report RUN`"},
                                status_code=404)
        return FileResponse(demo.report, media_type="text/html")

    return app


def serve(model: TrainedGenerator, host: str, port: int) -> int:
    """Serve until SIGINT or SIGTERM: uvicorn stops taking connections, finishes the requests in
    flight and returns; the signal's number is returned (0 if none came)."""
    import contextlib
    import signal

    import uvicorn

    received: list[int] = []

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Any:  # uvicorn's own re-raises the signal on the way out
            def stop(signum: int, frame: Any) -> None:
                received.append(signum)
                self.should_exit = True

            previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for s, handler in previous.items():
                    signal.signal(s, handler)

    config = uvicorn.Config(make_app(Demo(model)), host=host, port=port, log_level="warning",
                            timeout_graceful_shutdown=5)
    Server(config).run()
    return received[0] if received else 0
