"""The networks behind one interface: a batch of cut faces in, restored crops out.

Faces arrive already cut by their preset's crop plan (``engine.faces.crops``); an
engine only runs networks:

* :class:`AlignedFaceEngine`: SPARNet / SPARNetHD / the blind restorers on aligned
  faces (x1 or x8 alike: the crop plan made the input), batched; on the CPU one face
  per thread.
* :class:`RegionEngine`: CAGFace on a face region at the photo's resolution:
  component network -> Gaussian smoothing -> 6-channel block -> overlapping tiles -> x4.

Every engine returns, per face, the network's output crop (float32 [0, 1]) and on
request the attention maps and the hair / skin / other masks of the network's input
(from the component network, when installed: CAGFace needs it, SPARNet shows it).
Out-of-memory errors shrink the batch (or tile) and then move to the CPU through
:class:`engine.device.OomFallback`. ``ENGINES`` maps a preset's kind to its engine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .device import OomFallback, precision_context
from .faces.crops import FaceCrop
from .faces.detect import DetectedFace
from .model_choice import ModelPlan
from .models import ModelKind, Preset, get_preset
from .models.cagface import component_attention_block
from .models.parsing import (
    COMPONENT_NAMES,
    DEFAULT_PARSE_SIZE,
    ComponentSmoothing,
    component_maps,
    parse_size_of,
)
from .optimize import prepare_for_inference
from .options import PhotoOptions, RestoreOptions, RuntimeOptions
from .progress import CancelToken, ProgressCallback, Stage, check, part_of, report
from .results import AttentionMap
from .tiles import process_tiled
from .weights import WeightsInfo, load_model

ModelGetter = Callable[[torch.device], nn.Module]


@dataclass
class RunSettings:
    """How one photo's networks run (shared by the engines of a restoration)."""

    fallback: OomFallback  # device + batch size, shrinking on out-of-memory
    dtype: torch.dtype | None = None  # autocast dtype on CUDA, None = fp32
    attention: bool = False
    masks: bool = True
    channels_last: bool = False
    inference_mode: bool = True
    cpu_workers: int = 1  # CPU: faces restored at once, one torch thread each
    tile_size: int = 128
    tile_overlap: int = 16
    progress: ProgressCallback | None = None
    cancel: CancelToken | None = None


@dataclass
class PreparedFace:
    """A face cut by its crop plan, with the network input made from it."""

    face: DetectedFace
    crop: FaceCrop

    @property
    def tensor(self) -> torch.Tensor:
        """3 x H x W network input, RGB in [-1, 1], on the CPU."""
        return to_tensor(self.crop.pixels)


@dataclass
class RestoredFace:
    """An engine's output for one face."""

    crop: np.ndarray  # H x W x 3 float32 [0, 1]
    attention: list[AttentionMap] | None = None
    masks: dict[str, np.ndarray] | None = None
    seconds: float = 0.0  # this face's share of the network time


def no_autograd(run: RunSettings):
    """``torch.inference_mode`` (faster: no version counters), or plain ``no_grad``."""
    return torch.inference_mode() if run.inference_mode else torch.no_grad()


def to_tensor(image01: np.ndarray) -> torch.Tensor:
    """H x W x 3 float [0, 1] -> 3 x H x W float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image01.transpose(2, 0, 1))) * 2 - 1


def from_tensor(batch: torch.Tensor) -> list[np.ndarray]:
    """B x 3 x H x W in [-1, 1] -> list of H x W x 3 float32 [0, 1]."""
    x = ((batch.float().clamp(-1, 1) + 1) * 0.5).permute(0, 2, 3, 1).cpu().numpy()
    return list(x.astype(np.float32))


def mask_dicts(components: torch.Tensor) -> list[dict[str, np.ndarray]]:
    """N x 3 x H x W component maps -> per face {"hair"|"skin"|"other": H x W float32}."""
    comp = components.float().cpu().numpy().astype(np.float32)
    return [{name: face[i] for i, name in enumerate(COMPONENT_NAMES)} for face in comp]


class Engine:
    """Common interface: ``restore`` a list of prepared faces."""

    def __init__(
        self,
        name: str,
        preset: Preset,
        model: ModelGetter,
        components: ModelGetter | None = None,
        parse_size: int = DEFAULT_PARSE_SIZE,
    ) -> None:
        self.name = name  # the weights' name
        self.preset = preset
        self.model = model
        self.components = components  # the component network, when installed
        self.parse_size = parse_size
        self.smoothing = ComponentSmoothing()
        if preset.needs_components and components is None:
            raise ValueError(f"{preset.name} needs the component network")

    def _components(self, x: torch.Tensor, device: torch.device) -> torch.Tensor:
        """Smoothed (hair, skin, other) maps of network inputs in [-1, 1]: N x 3 x H x W."""
        assert self.components is not None
        return component_maps(self.components(device), self.smoothing, x, self.parse_size)

    def restore(self, faces: list[PreparedFace], run: RunSettings) -> list[RestoredFace]:
        raise NotImplementedError


class AlignedFaceEngine(Engine):
    """SPARNet / SPARNetHD / blind restorers on aligned faces, batched."""

    def __init__(self, *args, stages: list[str] | None = None, **kw) -> None:
        super().__init__(*args, **kw)
        self.stages = stages or []

    def _forward(
        self, batch: list[PreparedFace], device: torch.device, run: RunSettings
    ) -> list[RestoredFace]:
        net = self.model(device)
        x = torch.stack([f.tensor for f in batch]).to(device)
        if run.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        start = time.perf_counter()
        with no_autograd(run), precision_context(device, run.dtype):
            if run.attention:
                y, maps = net(x, return_attention=True)
            else:
                y, maps = net(x), []
        masks: list[dict[str, np.ndarray] | None] = [None] * len(batch)
        if run.masks and self.components is not None:
            with no_autograd(run):  # what the network was given, segmented (float32: small)
                masks = list(mask_dicts(self._components(x.float(), device)))
        crops = from_tensor(y)
        per_face = (time.perf_counter() - start) / len(batch)
        out = []
        for i, crop in enumerate(crops):
            attention = None
            if run.attention:
                labels = self.stages or ["fau"] * len(maps)
                attention = [
                    AttentionMap(stage, j, m[i, 0].float().cpu().numpy().astype(np.float32))
                    for j, (stage, m) in enumerate(zip(labels, maps, strict=True))
                ]
            out.append(RestoredFace(crop, attention, masks[i], per_face))
        return out

    def restore(self, faces: list[PreparedFace], run: RunSettings) -> list[RestoredFace]:
        """Faces of one working side go through together; each side is its own batch."""
        sides = sorted({f.crop.pixels.shape[0] for f in faces})
        if len(sides) == 1:
            return self._restore_same_side(faces, run)
        groups = [[i for i, f in enumerate(faces) if f.crop.pixels.shape[0] == s] for s in sides]
        return restore_in_groups(
            groups, run, lambda mine: self._restore_same_side([faces[i] for i in mine], run)
        )

    def _restore_same_side(self, faces: list[PreparedFace], run: RunSettings) -> list[RestoredFace]:
        if run.fallback.device.type == "cpu" and run.cpu_workers > 1 and len(faces) > 1:
            return self._restore_in_parallel(faces, run)
        results: list[RestoredFace] = []
        while len(results) < len(faces):
            check(run.cancel)
            first = len(results)

            def step(device: torch.device, size: int, first: int = first) -> list[RestoredFace]:
                return self._forward(faces[first : first + size], device, run)

            results.extend(run.fallback.run(step))
            report(run.progress, Stage.RESTORE, len(results), len(faces), self.preset.name)
        return results

    def _restore_in_parallel(
        self, faces: list[PreparedFace], run: RunSettings
    ) -> list[RestoredFace]:
        """CPU: several faces at once, one thread each, instead of one face on all threads.

        Torch's intra-op threads meet at a barrier after every operation; SPARNet runs
        hundreds of mid-sized operations per face, so when another program holds a core
        every barrier waits for a descheduled thread (measured here: 12 s per face on two
        threads vs 2 s on one). Faces are independent: giving each worker one whole face
        needs no barrier and uses every core.
        """
        device = run.fallback.device
        self.model(device)  # load once, before the workers ask for it
        size = run.fallback.size
        chunks = [faces[i : i + size] for i in range(0, len(faces), size)]
        outputs: list[list[RestoredFace] | None] = [None] * len(chunks)

        def work(chunk: list[PreparedFace]) -> list[RestoredFace]:
            check(run.cancel)
            return self._forward(chunk, device, run)

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        done = 0
        try:
            with ThreadPoolExecutor(run.cpu_workers, thread_name_prefix="revive-face") as pool:
                futures = {pool.submit(work, chunk): k for k, chunk in enumerate(chunks)}
                try:
                    for future in as_completed(futures):
                        k = futures[future]
                        outputs[k] = future.result()
                        done += len(chunks[k])
                        report(run.progress, Stage.RESTORE, done, len(faces), self.preset.name)
                        check(run.cancel)
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        finally:
            torch.set_num_threads(threads)
        return [face for chunk in outputs for face in (chunk or [])]


def restore_in_groups(
    groups: list[list[int]],
    run: RunSettings,
    restore: Callable[[list[int]], list[RestoredFace]],
) -> list[RestoredFace]:
    """Faces restored group by group (indices into one list), back in that list's order,
    with one progress count over all of them."""
    total = sum(len(g) for g in groups)
    out: list[RestoredFace | None] = [None] * total
    progress, done = run.progress, 0
    for mine in groups:
        run.progress = part_of(progress, done, total)
        try:
            results = restore(mine)
        finally:
            run.progress = progress
        for i, result in zip(mine, results, strict=True):
            out[i] = result
        done += len(mine)
    return [r for r in out if r is not None]


class RegionEngine(Engine):
    """CAGFace x4 on a square face region at the photo's resolution, in overlapping tiles."""

    def _one(self, face: PreparedFace, device: torch.device, tile: int, run: RunSettings):
        net = self.model(device)
        x = face.tensor[None].to(device)
        start = time.perf_counter()
        with no_autograd(run), precision_context(device, run.dtype):
            components = self._components(x, device)
            block = component_attention_block(x, components)
            if run.channels_last:
                block = block.contiguous(memory_format=torch.channels_last)
            y = process_tiled(
                block,
                net,
                tile=tile,
                overlap=run.tile_overlap,
                scale=self.preset.scale,
                multiple=self.preset.input_multiple,
                batch=run.fallback.size,
                cancel=run.cancel,
            )
        masks = mask_dicts(components)[0] if run.masks else None
        crop = from_tensor(y)[0]
        return RestoredFace(crop, None, masks, time.perf_counter() - start)

    def restore(self, faces: list[PreparedFace], run: RunSettings) -> list[RestoredFace]:
        tiles = OomFallback(run.fallback.device, run.tile_size, "tile size", minimum=16)
        results = []
        for face in faces:
            check(run.cancel)

            def step(device: torch.device, tile: int, face: PreparedFace = face) -> RestoredFace:
                run.fallback.device = device
                return self._one(face, device, tile, run)

            results.append(tiles.run(step))
            report(run.progress, Stage.RESTORE, len(results), len(faces), self.preset.name)
        run.fallback.warnings.extend(w for w in tiles.warnings if w not in run.fallback.warnings)
        tiles.warnings.clear()
        return results


ENGINES: dict[ModelKind, type[Engine]] = {
    ModelKind.RESTORER: AlignedFaceEngine,
    ModelKind.TINY_FACE: AlignedFaceEngine,
    ModelKind.REGION: RegionEngine,
}


# --- the models a restoration runs: loaded once, one engine per planned weight set -----


class ModelCache:
    """Weights loaded once (CPU, fp32), then one prepared copy per device and fast path,
    called through the runtime chosen for it (``engine.runtimes``: torch or ONNX Runtime)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str, nn.Module] = {}
        self._ready: dict[tuple, nn.Module] = {}
        self._called: dict[tuple, nn.Module] = {}

    def get(self, info: WeightsInfo, device: torch.device, runtime: RuntimeOptions) -> nn.Module:
        r = runtime
        flags = (r.fold_batchnorm, r.subpixel_upconv, r.channels_last, r.compile)
        called_key = (str(info.manifest), str(device), *flags, r.network_runtime)
        with self._lock:
            if called_key not in self._called:
                torch_net = self._prepared(info, device, r)
                self._called[called_key] = torch_net
                if r.network_runtime != "torch" and not (r.compile or r.channels_last):
                    from .runtimes.choice import preset_network

                    self._called[called_key] = preset_network(
                        get_preset(info.preset),
                        [str(f["sha256"]) for f in info.files],
                        torch_net,
                        device,
                        r.network_runtime,
                        recipe=f"fold{int(r.fold_batchnorm)}-subpixel{int(r.subpixel_upconv)}",
                    )
            return self._called[called_key]

    def _prepared(self, info: WeightsInfo, device: torch.device, r: RuntimeOptions) -> nn.Module:
        """The torch network with its fast paths (the caller holds the lock)."""
        flags = (r.fold_batchnorm, r.subpixel_upconv, r.channels_last, r.compile)
        key = (str(info.manifest), str(device), *flags)
        if key not in self._ready:
            base_key = str(info.manifest)
            if base_key not in self._loaded:
                self._loaded[base_key] = load_model(info)
            self._ready[key] = prepare_for_inference(
                self._loaded[base_key],
                device,
                fold=r.fold_batchnorm,
                subpixel=r.subpixel_upconv,
                channels_last=r.channels_last,
                compile=r.compile,
            )
        return self._ready[key]

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()
            self._ready.clear()
            self._called.clear()


@dataclass
class EngineSet:
    """The engines of one restoration: ``main`` for most faces, ``tiny`` for tiny ones."""

    main: Engine
    tiny: Engine | None

    def all(self) -> list[Engine]:
        return [self.main] if self.tiny is None else [self.main, self.tiny]

    def pick(self, face: DetectedFace, photo: PhotoOptions) -> Engine:
        if self.tiny is not None and face.eye_distance < photo.tiny_face_eye_distance:
            return self.tiny
        return self.main


def build_engine(
    info: WeightsInfo, plan: ModelPlan, o: RestoreOptions, cache: ModelCache
) -> Engine:
    """The engine of one planned weight set (its kind's class), loading through ``cache``."""
    preset = get_preset(info.preset)

    def model(device: torch.device, info: WeightsInfo = info) -> nn.Module:
        return cache.get(info, device, o.runtime)

    parts, parse_size = None, DEFAULT_PARSE_SIZE
    if plan.components is not None:
        components = plan.components
        parse_size = parse_size_of(components.card)

        def parts(device: torch.device) -> nn.Module:
            return cache.get(components, device, o.runtime)

    stages = None
    if o.runtime.attention and preset.capabilities.returns_attention:
        stages = preset.build().attention_stages()  # type: ignore[operator]
    engine_class = ENGINES[preset.kind]
    extra = {"stages": stages} if stages is not None else {}
    return engine_class(info.name, preset, model, components=parts, parse_size=parse_size, **extra)


def build_engines(plan: ModelPlan, o: RestoreOptions, cache: ModelCache) -> EngineSet:
    """The engines of one restoration, from the plan the restorer made once."""
    tiny = build_engine(plan.tiny, plan, o, cache) if plan.tiny is not None else None
    return EngineSet(build_engine(plan.main, plan, o, cache), tiny)
