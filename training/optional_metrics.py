"""Metrics that need pretrained weights no one can download here: each takes a file path.

* LPIPS (SPARNetHD's metric): the ``lpips`` package (its linear heads ship in the
  wheel) plus a torchvision AlexNet state dict for the backbone (``--lpips-weights``).
* FID: pool-3 features of torchvision's Inception-v3 (``--fid-weights``: its state
  dict), Frechet distance of outputs vs targets. Not the TF-ported Inception of the
  FID paper: compare these numbers with each other only.
* Identity similarity: cosine similarity of face embeddings of output and target,
  with facenet-pytorch's InceptionResnetV1 (``--identity-weights``: its VGGFace2
  state dict; the paper used SphereFace, which has no packaged release).
* Landmark AUC: a TorchScript FAN (face-alignment's ``2DFAN4`` file,
  ``--landmark-weights``) on the aligned faces; NME normalised by the target's
  inter-ocular distance; AUC of the cumulative error curve up to 0.1.

Each ``make_*`` returns ``(metric or None, message)``: None with a one-line reason
when its package or weights are missing, so evaluation goes on without it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def make_fid(weights: str | None) -> tuple[Metric | None, str]:
    if reason := _need_file(weights, "FID", "--fid-weights"):
        return None, reason
    from torchvision.models import inception_v3

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


def make_identity(weights: str | None) -> tuple[Metric | None, str]:
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
        return {"identity": float((embed(outputs) * embed(targets)).sum(1).mean())}

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
    trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 has only trapz
    return float(trapezoid(curve, thresholds) / limit)


def make_landmarks(weights: str | None, limit: float = 0.1) -> tuple[Metric | None, str]:
    if reason := _need_file(weights, "landmark AUC", "--landmark-weights"):
        return None, reason
    fan = torch.jit.load(weights, map_location="cpu").eval()

    def points(images: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            maps = [fan(x) for x in _batches(images, 256)]
        maps = [m[-1] if isinstance(m, list | tuple) else m for m in maps]
        return heatmap_landmarks(torch.cat(maps), images.shape[1])

    def metric(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        pred, ref = points(outputs), points(targets)
        k = ref.shape[1]
        left, right = (slice(36, 42), slice(42, 48)) if k == 68 else (slice(0, 1), slice(1, 2))
        iod = np.linalg.norm(ref[:, left].mean(1) - ref[:, right].mean(1), axis=1)
        nme = np.linalg.norm(pred - ref, axis=2).mean(1) / np.maximum(iod, 1e-6)
        return {"landmark_auc": nme_auc(nme, limit), "landmark_nme": float(nme.mean())}

    return metric, f"landmark AUC (NME / inter-ocular, up to {limit})"
