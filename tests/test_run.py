"""The runner and report: devices (with mocks where there is no GPU), memory guard, reconcile."""

from __future__ import annotations

import pytest
import torch

from rnnshape.engine import report as report_mod
from rnnshape.engine import run
from rnnshape.engine.report import MemoryRefused, inspect_layer
from rnnshape.model.shapes import Request, TensorArg
from rnnshape.model.spec import LayerSpec, parse_constructor


def _req(text: str, shape: tuple[int, ...], hidden=None, cell=None) -> Request:
    return Request(parse_constructor(text), TensorArg(shape),
                   TensorArg(hidden) if hidden else None, TensorArg(cell) if cell else None)


def test_auto_is_cpu_without_accelerators(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert run.resolve_device("auto") == "cpu"
    assert run.available_devices() == ["cpu", "meta"]


def test_auto_prefers_cuda_then_mps(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert run.resolve_device("auto") == "cuda"
    assert run.resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(run.DeviceError, match="cuda:2.*available: cpu, meta, cuda, cuda:0, cuda:1, mps"):
        run.resolve_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert run.resolve_device("auto") == "mps"


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "tpu", "", "cuda:-1"])
def test_unknown_device_names_are_usage_errors(name: str) -> None:
    with pytest.raises(run.DeviceError, match="unknown device"):
        run.resolve_device(name)


def test_unavailable_device_lists_the_available_ones(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(run.DeviceError, match="available: cpu, meta.*--device meta"):
        run.resolve_device("cuda")


def test_cuda_free_memory_is_read_from_the_driver(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (123, 456))
    assert run.free_memory_bytes("cuda:0") == 123
    assert run.free_memory_bytes("meta") is None


def test_a_run_above_max_memory_is_refused_before_any_allocation(monkeypatch) -> None:
    def must_not_run(*args, **kwargs):
        raise AssertionError("torch was called although the run was refused")

    monkeypatch.setattr(run, "run_forward", must_not_run)
    req = _req("nn.LSTM(1000, 1000)", (1000, 64, 1000))
    with pytest.raises(MemoryRefused) as info:
        inspect_layer(req, device="cpu", max_memory=10 * 1024**2)
    assert "--device meta" in str(info.value) and "nothing was allocated" in str(info.value)


def test_absurd_sizes_work_on_meta_and_dry_run() -> None:
    req = _req("nn.GRU(10, 20)", (10_000_000, 64, 10))
    meta = inspect_layer(req, device="meta")
    dry = inspect_layer(req, dry_run=True)
    expected = tuple(torch.nn.GRU(10, 20, device="meta")(torch.empty(3, 64, 10, device="meta"))[0].shape)
    assert meta.tensors["output"].shape == (10_000_000,) + expected[1:]
    assert dry.tensors["output"].shape == meta.tensors["output"].shape
    assert meta.ok and dry.ok


def test_memory_estimate_covers_parameters_and_tensors() -> None:
    req = _req("nn.LSTM(10, 20)", (5, 3, 10))
    rep = inspect_layer(req, device="cpu")
    module = torch.nn.LSTM(10, 20)
    params = sum(p.numel() for p in module.parameters()) * 4
    out, (h, c) = module(torch.randn(5, 3, 10))
    tensors = (5 * 3 * 10 + out.numel() + h.numel() + c.numel()) * 4
    assert rep.memory_bytes >= params + tensors


def test_reconcile_flags_a_model_that_disagrees_with_torch(monkeypatch) -> None:
    """If the model were wrong, the report must say so rather than trust it."""
    real_predict = report_mod.predict

    def wrong_predict(req):
        pred = real_predict(req)
        from rnnshape.model.shapes import Dim, TensorInfo

        pred.tensors["output"] = TensorInfo("output", (Dim(99, "seq_len"),))
        return pred

    monkeypatch.setattr(report_mod, "predict", wrong_predict)
    rep = inspect_layer(_req("nn.RNN(10, 20)", (5, 1, 10)), device="cpu")
    assert [d.code for d in rep.diagnoses] == ["model-disagrees"]
    assert rep.tensors["output"].shape == (5, 1, 20)  # torch's shape is what is shown


def test_torch_warnings_and_parameters_come_from_the_real_module() -> None:
    req = _req("nn.LSTM(10, 20, num_layers=2, proj_size=5, bidirectional=True)", (4, 2, 10))
    rep = inspect_layer(req, device="cpu")
    module = torch.nn.LSTM(10, 20, num_layers=2, proj_size=5, bidirectional=True)
    assert rep.parameters == [(n, tuple(p.shape)) for n, p in module.named_parameters()]
    assert rep.parameter_count == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_dtypes_are_reported_from_torch(dtype: str) -> None:
    spec = LayerSpec(mode="gru", input_size=4, hidden_size=3, given=frozenset({"input_size", "hidden_size"}))
    rep = inspect_layer(Request(spec, TensorArg((2, 1, 4)), dtype=dtype), device="cpu")
    assert rep.ok
    assert {t.dtype for t in rep.tensors.values()} == {dtype}


@pytest.mark.parametrize("text, shape", [
    ("nn.LSTM(10, 100_000_000_000)", (5, 1, 10)),
    ("nn.GRU(10, 20)", (99_999_999_999_999, 99_999_999_999, 10)),
])
@pytest.mark.parametrize("device", ["meta", "dry"])
def test_tensors_torch_cannot_address_are_refused_everywhere(text, shape, device) -> None:
    """torch itself refuses these on every device ("Storage size calculation overflowed")."""
    spec = parse_constructor(text)
    with pytest.raises(RuntimeError, match="overflow"):
        module = getattr(torch.nn, spec.class_name)(**spec.ctor_kwargs(), device="meta")
        module(torch.empty(shape, device="meta"))
    with pytest.raises(report_mod.TooLarge, match="2\\^63 bytes"):
        inspect_layer(_req(text, shape), device="meta", dry_run=device == "dry")


@pytest.mark.parametrize("message, dtype", [
    ("\"addmm_impl_cpu_\" not implemented for 'Half'", "float16"),
    ("\"LSTM\" not implemented for 'BFloat16'", "bfloat16"),
])
def test_a_device_without_half_kernels_is_a_clear_diagnosis(monkeypatch, message, dtype) -> None:
    """Older CPU builds had no float16 RNN kernels: say so, do not blame the shapes or crash."""
    def no_half(req, device, tensors=None, repeat=0, window=False):
        result = run.RunResult(device=device, engine="torch (cpu)")
        result.exception, result.exception_stage = RuntimeError(message), "forward"
        return result

    monkeypatch.setattr(run, "run_forward", no_half)
    spec = LayerSpec(mode="lstm", input_size=4, hidden_size=3, given=frozenset({"input_size", "hidden_size"}))
    rep = inspect_layer(Request(spec, TensorArg((2, 1, 4)), dtype=dtype), device="cpu")
    assert [d.code for d in rep.diagnoses] == ["dtype-unsupported"]
    assert "--dtype float32" in rep.diagnoses[0].fix


# --------------------------------------------------------------------------- the fast engine


@pytest.mark.parametrize("text, shape, dtype, device", [
    ("nn.LSTM(10, 20, batch_first=True)", (4, 1000, 10), "float32", "cpu"),  # the window, not 1000 steps
    ("nn.GRU(64, 128, num_layers=2, bidirectional=True)", (50, 32, 64), "float64", "cpu"),
    ("nn.LSTM(2048, 2048)", (5, 3, 2048), "float32", "meta"),  # 128 MB of weights
    ("nn.LSTM(10, 20)", (5, 3, 10), "float16", "meta"),  # half kernels may be missing on a cpu
    ("nn.GRUCell(10, 20)", (3, 10), "float32", "cpu"),
])
def test_fast_engine_puts_small_layers_on_the_cpu(text, shape, dtype, device) -> None:
    req = Request(parse_constructor(text), TensorArg(shape), dtype=dtype)
    assert run.fast_device(req) == device
    report = inspect_layer(req, device="fast")
    assert report.device == device and report.engine.endswith("the fast engine")
    full = inspect_layer(req, device="cpu") if dtype != "float16" else None
    if full is not None:  # the window is stretched back: torch's full run gives the same shapes
        assert {n: t.shape for n, t in report.tensors.items()} == {n: t.shape for n, t in full.tensors.items()}


def test_tiny_layers_run_on_one_thread_and_the_count_is_restored(monkeypatch) -> None:
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    calls: list[int] = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (calls.append(n), real(n)))
    try:
        report = inspect_layer(_req("nn.LSTM(10, 20)", (5, 3, 10)), device="cpu")
        assert report.ok and calls == [1, 2] and torch.get_num_threads() == 2
        calls.clear()
        inspect_layer(_req("nn.LSTM(256, 512)", (2, 16, 256)), device="cpu")  # not tiny: torch's pool
        assert calls == []
    finally:
        real(saved)


def test_fast_engine_restores_torchs_init_and_onednn() -> None:
    import torch

    uniform, enabled = torch.nn.init.uniform_, torch._C._get_mkldnn_enabled()
    report = inspect_layer(_req("nn.GRU(10, 20, num_layers=2)", (7, 3, 10)), device="fast")
    assert report.ok and report.device == "cpu"
    assert torch.nn.init.uniform_ is uniform and torch._C._get_mkldnn_enabled() == enabled
    assert torch.nn.GRU(2, 3).weight_ih_l0.abs().sum() > 0  # a layer built after it is initialised again
    bad = inspect_layer(_req("nn.GRU(10, 20)", (7, 3, 12)), device="fast")  # torch's checks still run
    assert [d.code for d in bad.diagnoses if d.is_error] == ["input-size-mismatch"]
