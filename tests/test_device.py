import platform

import pytest
import torch

from bmlib.core.device import DeviceUnavailableError, is_valid_device_spec, select_device


def test_auto_picks_an_available_device():
    choice = select_device("auto")
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
        else "cpu")
    assert choice.device.type == expected
    assert choice.dtype == torch.float32
    assert choice.name


def test_cpu_has_no_autocast_by_default_and_bf16_on_request():
    assert select_device("cpu").autocast_dtype is None
    with select_device("cpu").autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    mixed = select_device("cpu", precision="bf16")
    assert mixed.autocast_dtype == torch.bfloat16
    with mixed.autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_explicit_cuda_without_gpu_is_a_clear_error_not_a_fallback():
    with pytest.raises(DeviceUnavailableError, match="no CUDA GPU.*DEVICE='auto' or 'cpu'"):
        select_device("cuda")


def test_unknown_device_names_the_choices():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        select_device("tpu")
    assert not is_valid_device_spec("cuda:x")
    assert is_valid_device_spec("cuda:0")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; none here")
def test_cuda_choice_uses_bf16_autocast_where_supported():
    choice = select_device("cuda")
    assert choice.device.type == "cuda"
    if torch.cuda.is_bf16_supported():
        assert choice.autocast_dtype == torch.bfloat16


def test_precision_is_decided_from_the_hardware_with_a_reason(monkeypatch):
    import bmlib.core.device as device_module

    cpu = torch.device("cpu")
    monkeypatch.setattr(device_module, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    dtype, reason = device_module.decide_precision(cpu, "auto")
    assert dtype is None and "no bf16 matrix units" in reason and "avx2" in reason
    monkeypatch.setattr(device_module, "cpu_flags", lambda: frozenset({"amx_bf16", "avx2"}))
    monkeypatch.setattr(device_module, "bf16_cpu_speedup", lambda: 1.6)
    dtype, reason = device_module.decide_precision(cpu, "auto")
    assert dtype == torch.bfloat16 and "1.60x faster" in reason
    monkeypatch.setattr(device_module, "bf16_cpu_speedup", lambda: 0.8)
    dtype, reason = device_module.decide_precision(cpu, "auto")
    assert dtype is None and "0.80x" in reason
    assert device_module.decide_precision(cpu, "float32") == (None, "float32 requested")
    assert device_module.decide_precision(cpu, "bf16")[0] == torch.bfloat16
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        device_module.decide_precision(cpu, "fp8")


def test_choice_names_its_precision():
    choice = select_device("cpu", precision="bf16")
    assert choice.precision == "bf16" and "requested" in choice.precision_reason
    assert select_device("cpu").precision == "float32"


def test_bf16_check_measures_a_ratio():
    ratio = __import__("bmlib.core.device", fromlist=["x"]).bf16_cpu_speedup(repeats=1)
    assert ratio > 0


def test_hardware_name_and_flags_come_from_cpuinfo(tmp_path, monkeypatch):
    import bmlib.core.device as device_module

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Example CPU @ 2.0GHz \n"
                       "flags\t\t: fpu avx2 amx_bf16\nmodel name\t: second core\n")
    monkeypatch.setattr(device_module, "_CPUINFO", str(cpuinfo))
    assert device_module.cpu_name() == "Example CPU @ 2.0GHz"
    assert device_module.cpu_flags() == frozenset({"fpu", "avx2", "amx_bf16"})
    threads = torch.get_num_threads()
    assert select_device("cpu").name == f"Example CPU @ 2.0GHz ({threads} threads)"
    monkeypatch.setattr(device_module, "_CPUINFO", str(tmp_path / "absent"))
    assert device_module.cpu_flags() == frozenset()
    assert device_module.cpu_name() == (platform.processor() or platform.machine())


def test_gpu_names_match_torch():
    from bmlib.core.device import gpu_names

    names = gpu_names()
    assert len(names) == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    assert all(isinstance(n, str) and n for n in names)
