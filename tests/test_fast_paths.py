"""Fast paths compute the same function; device choice; out-of-memory fallback; upscaling."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from engine.device import OomFallback, autocast_dtype, resolve_device
from engine.enlarge import upscale
from engine.errors import DeviceError
from engine.models import create_model
from engine.models.blocks import ConvLayer
from engine.optimize import (
    SubpixelUpConv,
    count_batchnorms,
    fold_batchnorm,
    prepare_for_inference,
    rewrite_up_convolutions,
)
from tests.tiny_models import one_torch_thread


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


def _randomise_batchnorm(net: torch.nn.Module) -> None:
    """Trained-looking statistics, so that folding has something to fold."""
    gen = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=gen) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=gen) - 0.5)


@pytest.mark.parametrize("preset", ["sparnet_x8_tiny", "components_tiny"])
def test_folding_batchnorm_keeps_the_outputs(preset):
    torch.manual_seed(0)
    net = create_model(preset)
    _randomise_batchnorm(net)
    folded = fold_batchnorm(net)
    assert count_batchnorms(folded) < count_batchnorms(net)
    assert count_batchnorms(net) > 0  # the original is left alone
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.inference_mode():
        if preset.startswith("sparnet"):
            (y0, maps0), (y1, maps1) = net(x, True), folded(x, True)
            for a, b in zip(maps0, maps1, strict=True):
                torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
        else:
            y0, y1 = net(x), folded(x)
    torch.testing.assert_close(y0, y1, atol=1e-5, rtol=1e-4)


def test_folding_needs_eval_mode():
    with pytest.raises(ValueError):
        fold_batchnorm(create_model("sparnet_x8_tiny").train())


def test_prepared_models_are_frozen_and_channels_last_is_the_same_function():
    net = create_model("sparnethd_tiny")
    fast = prepare_for_inference(net, torch.device("cpu"), channels_last=True)
    assert not any(p.requires_grad for p in fast.parameters())
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.inference_mode():
        torch.testing.assert_close(
            fast(x.contiguous(memory_format=torch.channels_last)), net(x), atol=1e-5, rtol=1e-4
        )


def test_device_choice():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cuda", "mps", "cpu")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            resolve_device("cuda")
    assert autocast_dtype(torch.device("cpu"), "fp16") is None  # half only on CUDA
    assert autocast_dtype(torch.device("cuda"), "fp32") is None
    assert autocast_dtype(torch.device("cuda"), "auto") == torch.float16


def test_out_of_memory_halves_the_batch_then_moves_to_the_cpu():
    calls = []

    def step(device, size):
        calls.append((device.type, size))
        if device.type == "cuda":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        if size > 2:
            raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried... out of memory")
        return "done"

    fb = OomFallback(torch.device("cuda"), 8)
    assert fb.run(step) == "done"
    assert calls == [
        ("cuda", 8),
        ("cuda", 4),
        ("cuda", 2),
        ("cuda", 1),
        ("cpu", 8),
        ("cpu", 4),
        ("cpu", 2),
    ]
    assert any("continuing on the CPU" in w for w in fb.warnings)
    assert fb.device.type == "cpu" and fb.size == 2  # later steps start from there


def test_other_errors_are_not_swallowed():
    def step(device, size):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        OomFallback(torch.device("cpu"), 4).run(step)


def test_out_of_memory_on_the_cpu_at_size_one_is_a_device_error():
    def step(device, size):
        raise RuntimeError("out of memory")

    with pytest.raises(DeviceError, match="out of memory even on the CPU"):
        OomFallback(torch.device("cpu"), 2).run(step)


@pytest.mark.parametrize("scale", [2, 4])
def test_upscaling_in_strips_equals_one_resize(scale):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 65535, (101, 37, 3), dtype=np.uint16)
    whole = cv2.resize(image, (37 * scale, 101 * scale), interpolation=cv2.INTER_LANCZOS4)
    np.testing.assert_array_equal(upscale(image, scale, rows_per_strip=16), whole)
    assert upscale(image, 1) is image


@pytest.mark.parametrize("norm", ["none", "bn", "in"])
@pytest.mark.parametrize("size", [(7, 9), (1, 1), (16, 16)])
def test_subpixel_up_convolution_is_the_same_layer(norm, size):
    torch.manual_seed(0)
    layer = ConvLayer(6, 5, 3, "up", norm_type=norm, act_type="leakyrelu").eval()
    if norm == "bn":
        _randomise_batchnorm(layer)
    x = torch.randn(2, 6, *size)
    with torch.inference_mode():
        expected, got = layer(x), SubpixelUpConv(layer)(x)
    assert got.shape == (2, 5, 2 * size[0], 2 * size[1])
    # InstanceNorm over a 2x2 map divides by a tiny deviation: allow its rounding.
    torch.testing.assert_close(got, expected, atol=1e-4 if norm == "in" else 1e-5, rtol=1e-5)


@pytest.mark.parametrize("preset", ["sparnethd_tiny", "sparnet_x8_tiny"])
def test_rewriting_every_up_convolution_keeps_outputs_and_attention(preset):
    torch.manual_seed(1)
    net = create_model(preset)
    fast = rewrite_up_convolutions(net)
    n_up = sum(isinstance(m, ConvLayer) and m.scale == "up" for m in net.modules())
    assert n_up > 5 and sum(isinstance(m, SubpixelUpConv) for m in fast.modules()) == n_up
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.inference_mode():
        (y0, maps0), (y1, maps1) = net(x, True), fast(x, True)
    torch.testing.assert_close(y1, y0, atol=1e-5, rtol=1e-4)
    for a, b in zip(maps0, maps1, strict=True):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-4)
