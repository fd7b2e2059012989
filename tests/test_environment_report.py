from bmlib.book.environment_report import (
    BOOK_TOOLS,
    hardware_report,
    installed_version,
    missing_tools,
    tool_versions,
)


def test_versions_are_read_from_installed_metadata():
    import numpy
    import torch

    assert installed_version("numpy") == numpy.__version__
    assert installed_version("torch") == torch.__version__
    assert installed_version("no-such-distribution-bmlib") is None


def test_tool_table_keeps_order_and_reports_missing():
    rows = tool_versions({"numpy": "maths", "no-such-distribution-bmlib": "none"})
    assert [r.name for r in rows] == ["numpy", "no-such-distribution-bmlib"]
    assert missing_tools(rows) == ["no-such-distribution-bmlib"]
    assert [r.name for r in tool_versions()] == list(BOOK_TOOLS)


def test_hardware_report_is_consistent_with_torch():
    import torch

    report = hardware_report()
    assert report.cpu_count >= 1
    assert report.cuda_available == torch.cuda.is_available()
    assert len(report.gpu_names) == (torch.cuda.device_count() if report.cuda_available else 0)


def test_gpu_names_are_read_by_bmlib_core_device(monkeypatch):
    import torch

    import bmlib.core.device as device_module

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(device_module, "gpu_names", lambda: ("Example GPU",))
    report = hardware_report()
    assert report.cuda_available and report.gpu_names == ("Example GPU",)
