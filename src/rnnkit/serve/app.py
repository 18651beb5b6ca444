"""The studio's web application (FastAPI on Starlette; ``rnnkit serve`` runs it with uvicorn).

    GET  /                                 the page (every asset ships in rnnkit/serve/static)
    GET  /api/runs                         the runs: task, model, steps, best validation figures
    GET  /api/runs/{id}/curves?since=N     metrics.jsonl records from line N (the page polls)
    GET  /api/runs/{id}/write?prime=...    a char model writing: server-sent events, one per
                                           character, {"char", "p", "top"}; then "done"
    POST /api/runs/{id}/predict            by the run's task: a translation and its attention,
                                           labels, tags, a caption, a forecast and baselines
    POST /api/runs/{id}/neurons            {"text", "layer", "kind", "unit"}: one unit's
                                           activation over the text, the unit that best tracks
                                           each feature of the text, gate saturation per unit
                                           (a recurrent run on text: charlm, classify (of
                                           vectors too: frames as CSV lines), tag, seq2seq's
                                           encoder; caption's decoder writing the text for
                                           image "test_index" or "image", a PNG)
    POST /api/runs/{id}/gradients          {"text", "loss": "last"|"sum"}: ||dL/ds_t|| of the
                                           task's loss for every step, cell and state part
                                           (those runs, and forecast on its last test window)
    GET  /api/runs/{id}/validation?start=&length=&seed=
                                           a piece of the run's own validation split as text
                                           (charlm, classify, tag, seq2seq): a char model's
                                           characters start..start+length, another's
                                           example ``start``; no start: one drawn at random
                                           with ``seed``

A bad request gets a 4xx with ``{"error": "..."}``, which the page shows; the server goes on.
A run whose folder has gone is a 410; one that lacks a file its model needs (vocab.json) a 409.
At most ``MAX_GENERATIONS`` generations run at once (a 429 beyond); a generation stops when
its page closes the stream.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from rnnkit.serve import (
    decoding,
    forecasts,
    neurons,
    predictions,
    reading,
    tracing,
    validation,
    write,
)
from rnnkit.serve.runs import RunIndex
from rnnkit.training import checkpoint
from rnnkit.training.devices import inference_device, resolve_device

STATIC = Path(__file__).parent / "static"
MAX_GENERATIONS = 8
MAX_GRADIENT_STEPS = 1000  # steps the Gradients view runs forward and back through
TRACES_KEPT = 4  # texts whose traces stay in memory, so picking another unit is instant


def _loaders() -> dict:
    from rnnkit.tasks import caption_runs, charlm_runs, classify_runs, seq2seq_runs, tag_runs

    return {
        "caption": caption_runs.load_run,
        "charlm": charlm_runs.load_run,
        "seq2seq": seq2seq_runs.load_run,
        "classify": classify_runs.load_run,
        "tag": tag_runs.load_run,
        "forecast": forecasts.load_run,
    }


LOADERS = _loaders()
PREDICTORS = {  # task -> (run, request body, the run's cache) -> the answer
    "seq2seq": lambda run, body, _: predictions.translation(
        run, body.get("text"), body.get("beam", 5)
    ),
    "classify": lambda run, body, _: predictions.classification(run, body.get("text")),
    "tag": lambda run, body, _: predictions.tagging(run, body.get("text")),
    "caption": predictions.captioning,
    "forecast": forecasts.forecast,
}


INSIDE_TASKS = reading.TEXT_TASKS + ("caption",)  # Neurons and Gradients (caption: decoder)


class RequestError(Exception):
    """A request the studio refuses: its status and the message the page shows."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Studio:
    """The runs, their loaded models and traced texts (in memory, per process)."""

    def __init__(self, index: RunIndex, device: str = "cpu"):
        self.index, self.device = index, device
        self.loaded: dict[str, object] = {}
        self.caches: dict[str, dict] = {}  # per run: what a view keeps (a caption run's images)
        self.stamps: dict[str, tuple] = {}  # per run: its files' times and sizes when loaded
        self.traces: OrderedDict[tuple[str, str], tuple] = OrderedDict()  # -> (run, Traced)
        self.lock = threading.Lock()
        # A recorded pass (Neurons, Gradients) swaps its layer's forward for a while: no other
        # pass through a layer (a generation's prime, in a worker thread) may run meanwhile.
        self.recording = threading.Lock()
        self.generations = threading.BoundedSemaphore(MAX_GENERATIONS)

    def path(self, run_id: str) -> Path:
        try:
            return self.index.path(run_id)
        except KeyError:
            raise RequestError(404, f"no run {run_id!r} in this studio") from None

    def present(self, run_id: str) -> Path:
        """The folder of ``run_id``; a 410 once it no longer holds a run."""
        path = self.path(run_id)
        if not (path / "config.json").is_file():
            raise RequestError(410, f"{path} no longer holds a run (moved or deleted since)")
        return path

    def run(self, run_id: str, *tasks: str):
        """The run loaded once (its task's ``load_run``); a 400 for a run of a task the view
        does not show. A view loads it once a request and uses that one throughout (a run
        still training may save a newer best meanwhile)."""
        path = self.present(run_id)
        task = self.index.task(run_id)
        if task not in tasks:
            wanted = " or ".join([", ".join(tasks[:-1]), tasks[-1]] if len(tasks) > 1 else tasks)
            raise RequestError(400, f"this view needs a {wanted} run; {run_id} is a {task} run")
        with self.lock:
            self._forget_if_changed(run_id, path)
            if run_id not in self.loaded:
                self.loaded[run_id] = self._load(run_id, path, task)
            return self.loaded[run_id]

    def _load(self, run_id: str, path: Path, task: str):
        """The run's model on the studio's device, read without writing a file (another
        process may be training the run); a file the run lacks is a 409 naming it."""
        try:
            with inference_device(self.device), checkpoint.read_only():
                return LOADERS[task](path)
        except OSError as error:
            self.present(run_id)  # the folder went meanwhile: a 410
            if isinstance(error, FileNotFoundError) and error.filename:
                said = f"{error.filename} is missing"
            else:
                said = " ".join(str(error).split())
            raise RequestError(409, f"run {run_id} cannot be opened: {said}") from None

    def _forget_if_changed(self, run_id: str, path: Path) -> None:
        """Drop what was loaded and kept for ``run_id`` once its config.json or checkpoints
        change (a run still training saves a new best; a folder replaced by another run)."""
        files = ("config.json", "checkpoints/best.safetensors", "checkpoints/last.safetensors")
        stamp = tuple(
            (s.st_mtime_ns, s.st_size) if (s := _stat(path / name)) else None for name in files
        )
        if self.stamps.setdefault(run_id, stamp) != stamp:
            self.stamps[run_id] = stamp
            self.loaded.pop(run_id, None)
            self.caches.pop(run_id, None)
            for key in [key for key in self.traces if key[0] == run_id]:
                del self.traces[key]

    def char_model(self, run_id: str):
        return self.run(run_id, "charlm")

    def reading(self, run_id: str, body: dict, for_loss: bool = False) -> tuple:
        """The run loaded, and how its model reads ``body["text"]`` (a run of a recurrent
        task on text; a caption run's decoder, writing it for the image of ``body``; a
        forecasting run for the Gradients view): record that run's model, no other."""
        tasks = INSIDE_TASKS + (("forecast",) if for_loss else ())
        run = self.run(run_id, *tasks)
        task, text = self.index.task(run_id), body.get("text")
        if task != "forecast":
            if not isinstance(text, str) or not text:
                raise RequestError(400, 'give some text to trace as {"text": "..."}')
            if len(text) > neurons.MAX_TEXT:
                raise ValueError(f"the text has {len(text)} characters; at most {neurons.MAX_TEXT}")
        if task == "caption":
            pixels = predictions.caption_image(run, body, self.caches.setdefault(run_id, {}))
            return run, decoding.read(run, text, pixels, for_loss)
        return run, reading.read(run, task, text, for_loss)

    def validation(self, run_id: str) -> validation.ValidationSplit:
        """The run's validation split, rebuilt once from the data its config.json records."""
        run = self.run(run_id, *reading.TEXT_TASKS)
        cache = self.caches.setdefault(run_id, {})
        if "validation" not in cache:
            cache["validation"] = validation.open_split(run, self.index.task(run_id))
        return cache["validation"]

    def trace(self, run_id: str, body: dict) -> tracing.Traced:
        run, read = self.reading(run_id, body)
        given = [body.get(name) for name in ("text", "test_index", "image")]
        key = (run_id, json.dumps(given, sort_keys=True))  # (fields a run ignores may be lists)
        with self.lock:
            kept = self.traces.get(key)
            if kept is not None and kept[0] is run:  # (not a model replaced since)
                self.traces.move_to_end(key)
                return kept[1]
        with self.recording:
            traced = tracing.trace(run.model, read)
        with self.lock:
            self.traces[key] = (run, traced)
            while len(self.traces) > TRACES_KEPT:
                self.traces.popitem(last=False)
        return traced


def create_app(index: RunIndex, device: str = "cpu") -> FastAPI:
    """The studio over the runs of ``index``, their models opened on ``device`` (a name
    ``rnnkit.training.devices.resolve_device`` knows; a missing device is a ValueError)."""
    resolve_device(device)
    app = FastAPI(title="rnnkit studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.studio = Studio(index, device)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(RequestError)
    async def refused(_request: Request, error: RequestError):
        return JSONResponse({"error": str(error)}, status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def malformed(_request: Request, error: RequestValidationError):
        wrong = error.errors()[0]  # a query parameter that is not a number, as the page shows
        name, given = wrong["loc"][-1], wrong.get("input")
        return JSONResponse({"error": f"{name}: {wrong['msg']}, got {given!r}"}, status_code=400)

    @app.exception_handler(ValueError)
    async def invalid(_request: Request, error: ValueError):
        return JSONResponse({"error": str(error)}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def unrouted(request: Request, error: StarletteHTTPException):  # 404, 405
        said = f"{error.detail}: {request.method} {request.url.path}"
        return JSONResponse({"error": said}, status_code=error.status_code)

    return app


router = APIRouter()


def _studio(request: Request) -> Studio:
    return request.app.state.studio


@router.get("/")
def page():
    return FileResponse(STATIC / "index.html")


@router.get("/api/runs")
def runs(request: Request):
    index = _studio(request).index
    return {"runs": [index.summary(run_id) for run_id in index.ids()]}


@router.get("/api/runs/{run_id}/curves")
def curves(request: Request, run_id: str, since: int = 0):
    studio = _studio(request)
    studio.present(run_id)
    if since < 0:
        raise RequestError(400, f"since must be >= 0, got {since}")
    return studio.index.curves(run_id, since)


@router.get("/api/runs/{run_id}/write")
def write_text(
    request: Request,
    run_id: str,
    prime: str = "",
    length: int = 300,
    temperature: float = 0.8,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
):
    studio = _studio(request)
    run = studio.char_model(run_id)
    write.check_request(prime, length, seed)
    if not studio.generations.acquire(blocking=False):
        raise RequestError(
            429, f"{MAX_GENERATIONS} generations are running; try again when one ends"
        )
    try:
        options = {"temperature": temperature, "top_k": top_k, "top_p": top_p, "seed": seed}
        said = write.characters(run.model, run.vocab, prime, length, **options)
        with studio.recording:  # the prime runs the layer (later steps run its cells)
            first = next(said)  # a bad option fails here, as a 400, before the stream starts
    except Exception:
        studio.generations.release()
        raise
    return StreamingResponse(
        write.events(first, said, studio.generations), media_type="text/event-stream"
    )


@router.post("/api/runs/{run_id}/neurons")
async def neuron_view(request: Request, run_id: str):
    studio = _studio(request)
    body = await _json_body(request)
    traced = studio.trace(run_id, body)
    layer, kind, unit = body.get("layer", 0), body.get("kind", "h"), body.get("unit", 0)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (layer, unit)):
        raise RequestError(400, "layer and unit must be integers")
    values = traced.unit(layer, kind, unit)
    return {
        "pieces": traced.pieces,
        "level": traced.level,
        "layers": traced.layers,
        "cells": traced.cells,
        "units": traced.units,
        "kinds": list(traced.kinds),
        "activation": {
            "layer": layer,
            "kind": kind,
            "unit": unit,
            "values": [round(float(v), 4) for v in values],
        },
        "features": neurons.best_units(traced),
        "features_note": neurons.features_note(traced),
        "saturation": neurons.saturation(traced),
    }


@router.post("/api/runs/{run_id}/gradients")
async def gradient_view(request: Request, run_id: str):
    """The norm of the loss's gradient with respect to every step's state (the picture of
    ``rnnkit diagnose gradients``) for the text given, or a forecasting run's last window."""
    studio = _studio(request)
    body = await _json_body(request)
    how = reading.check_loss(body.get("loss", "last"))
    run, read = studio.reading(run_id, body, for_loss=True)
    if len(read.pieces) > MAX_GRADIENT_STEPS:
        raise ValueError(f"the input has {len(read.pieces)} steps; at most {MAX_GRADIENT_STEPS}")
    with studio.recording:
        flow = tracing.gradients(run.model, read, how)
    return {"task": studio.index.task(run_id), **flow}


@router.get("/api/runs/{run_id}/validation")
def validation_piece(
    request: Request,
    run_id: str,
    start: int | None = None,
    length: int | None = None,
    seed: int | None = None,
):
    """A piece of the run's own validation split, as text for the Neurons view."""
    return _studio(request).validation(run_id).take(start, length, seed)


@router.post("/api/runs/{run_id}/predict")
async def predict_view(request: Request, run_id: str):
    """A translation with its attention, a classifier's labels as the input is read, or a
    tagger's tags, by the run's task."""
    studio = _studio(request)
    body = await _json_body(request)
    run = studio.run(run_id, *PREDICTORS)
    task = studio.index.task(run_id)
    cache = studio.caches.setdefault(run_id, {})
    return {"task": task, **PREDICTORS[task](run, body, cache)}


def _stat(path: Path):
    try:
        return path.stat()
    except OSError:
        return None


async def _json_body(request: Request) -> dict:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):  # (nested 1,000 deep)
        raise RequestError(400, "the request body must be JSON") from None
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    try:  # JSON's \ud800 escapes decode to lone surrogates, which no answer can encode
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise RequestError(400, "the request holds a lone surrogate, not a character") from None
    return body
