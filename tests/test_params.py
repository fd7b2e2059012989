import pytest

from bmlib.book.params import (Bool, Choice, Device, Float, Int, IntList, ParameterError, ParamSpec,
                          Params, standard_params)


def spec() -> ParamSpec:
    return ParamSpec(**standard_params(), EPOCHS=Int(minimum=1, maximum=100),
                     LR=Float(minimum=0.0, maximum=1.0), FAST=Bool(), SIZES=IntList(minimum=1))


def good() -> dict:
    return dict(PROFILE="full", SEED=0, DEVICE="auto", EPOCHS=3, LR=0.1, FAST=False,
                SIZES=[1, 2])


def test_valid_values_pass_and_are_read_only():
    params = spec().validate(good())
    assert isinstance(params, Params)
    assert params.EPOCHS == 3 and params["LR"] == 0.1 and params.SIZES == (1, 2)
    with pytest.raises(AttributeError):
        params.EPOCHS = 4
    assert set(params) == set(good())


@pytest.mark.parametrize("name,value,fragments", [
    ("EPOCHS", "3", ["EPOCHS='3'", "type str", "allowed an int", "1 <= EPOCHS <= 100"]),
    ("EPOCHS", 3.0, ["EPOCHS=3.0", "type float", "allowed an int"]),
    ("EPOCHS", True, ["EPOCHS=True", "type bool"]),
    ("EPOCHS", 0, ["EPOCHS=0 is out of range", "1 <= EPOCHS <= 100"]),
    ("EPOCHS", 101, ["EPOCHS=101 is out of range"]),
    ("SEED", -1, ["SEED=-1 is out of range", "SEED >= 0" if False else "0 <= SEED"]),
    ("LR", 1.5, ["LR=1.5 is out of range", "0.0 <= LR <= 1.0"]),
    ("LR", float("nan"), ["LR=nan", "finite"]),
    ("LR", "fast", ["LR='fast'", "allowed a number"]),
    ("PROFILE", "fast", ["PROFILE='fast' is not allowed", "'full', 'smoke'"]),
    ("DEVICE", "tpu", ["DEVICE='tpu' is not a known device", "'cuda:N'"]),
    ("DEVICE", 0, ["DEVICE=0 is not a known device"]),
    ("FAST", 1, ["FAST=1", "True or False"]),
    ("SIZES", [], ["SIZES=[] is too short"]),
    ("SIZES", [1, 0], ["SIZES item 0 is out of range"]),
    ("SIZES", [1, "2"], ["SIZES=[1, '2'] holds '2'"]),
    ("SIZES", 3, ["SIZES=3", "list of ints"]),
])
def test_bad_values_name_parameter_value_and_allowed(name, value, fragments):
    values = good() | {name: value}
    with pytest.raises(ParameterError) as info:
        spec().validate(values)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_missing_parameter_is_named():
    values = good()
    del values["EPOCHS"]
    with pytest.raises(ParameterError, match="parameter EPOCHS is missing"):
        spec().validate(values)


def test_unknown_names_list_what_exists():
    with pytest.raises(ParameterError, match="unknown parameter.*EPOCH.*this chapter has"):
        spec().check_names(["EPOCH"])


def test_choice_is_type_strict():
    with pytest.raises(ParameterError):
        Choice((1, 2)).check("X", 1.0)
    assert Choice(("a", "b")).check("X", "a") == "a"


def test_device_spec_accepts_indexed_cuda():
    assert Device().check("DEVICE", "cuda:1") == "cuda:1"


def test_describe_lists_every_parameter():
    assert set(spec().describe()) == set(good())


def test_range_accepts_an_ordered_triple_and_names_a_bad_one():
    from bmlib.book.params import ParameterError, Range

    spec = Range(minimum=0, maximum=1)
    assert spec.check("SHARE", [0.2, 0.5, 0.9]) == (0.2, 0.5, 0.9)
    for bad, match in [([0.5, 0.2, 0.9], "low <= most likely"), ([0.1, 0.2], "three numbers"),
                       ([0.1, 0.2, 1.5], "SHARE"), ("0.1,0.2,0.3", "three numbers"),
                       ([0.3, 0.3, 0.3], "low < high")]:
        with pytest.raises(ParameterError, match=match):
            spec.check("SHARE", bad)


def test_date_accepts_iso_dates_only():
    from bmlib.book.params import Date, ParameterError

    assert Date().check("AS_OF", "2026-11-30") == "2026-11-30"
    for bad in ("2026-13-01", "30/11/2026", 20261130):
        with pytest.raises(ParameterError, match="is not a date"):
            Date().check("AS_OF", bad)
