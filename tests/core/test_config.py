from dataclasses import dataclass
from typing import Literal

import pytest

from ganx.core.config import (
    DomainConfig,
    TrainConfig,
    apply_settings,
    coerce,
    field_docs,
    parse_set_options,
    read_config_file,
    split_set_options,
)
from ganx.core.errors import ConfigError


@dataclass
class Demo(DomainConfig):
    size: int = 32
    mode: Literal["a", "b"] = "a"
    steps: int = 5  # shares a name with an engine field


def test_coerce_converts_command_line_strings():
    assert coerce("3", int, "k") == 3
    assert coerce("1e-4", float, "k") == 1e-4
    assert coerce("yes", bool, "k") is True
    assert coerce("0.5,0.9", tuple[float, float], "k") == (0.5, 0.9)
    assert coerce([0, 0.99], tuple[float, float], "k") == (0.0, 0.99)


@pytest.mark.parametrize(("value", "tp", "message"), [
    ("abc", float, "expected a number"),
    ("1.5", int, "expected an integer"),
    (True, int, "expected an integer"),
    ("maybe", bool, "expected true or false"),
    ("0.5", tuple[float, float], "expected 2 values"),
])
def test_coerce_rejects_wrong_types_naming_the_setting(value, tp, message):
    with pytest.raises(ConfigError, match=message) as info:
        coerce(value, tp, "--set g_lr")
    assert "--set g_lr" in str(info.value)


def test_literal_suggests_the_nearest_choice():
    with pytest.raises(ConfigError, match="did you mean 'bf16'"):
        coerce("bf61", Literal["auto", "fp32", "bf16", "fp16"], "precision")


def test_unknown_key_names_the_nearest():
    with pytest.raises(ConfigError, match="unknown key 'g_lrr'; did you mean 'g_lr'"):
        apply_settings(TrainConfig(), {"g_lrr": 1}, "config.toml [train]")


def test_set_routes_keys_and_requires_prefix_when_ambiguous():
    train, domain = split_set_options({"g_lr": "1e-3", "size": "64"}, TrainConfig, Demo)
    assert train == {"g_lr": "1e-3"} and domain == {"size": "64"}
    with pytest.raises(ConfigError, match=r"write train\.steps or domain\.steps"):
        split_set_options({"steps": "3"}, TrainConfig, Demo)
    train, domain = split_set_options({"domain.steps": "3"}, TrainConfig, Demo)
    assert domain == {"steps": "3"}
    with pytest.raises(ConfigError, match="did you mean 'size'"):
        split_set_options({"sise": "3"}, TrainConfig, Demo)


def test_parse_set_options_needs_key_value():
    assert parse_set_options(["a=1", "b = x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_set_options(["novalue"])


def test_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_config_file(bad)
    odd = tmp_path / "odd.toml"
    odd.write_text("[trian]\nsteps = 1\n")
    with pytest.raises(ConfigError, match="did you mean 'train'"):
        read_config_file(odd)


def test_field_docs_reads_the_docstring_under_each_field():
    docs = field_docs(TrainConfig)
    assert "r1_interval" in docs and "lazy" in docs["r1_interval"].lower()
