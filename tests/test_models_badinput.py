"""Models page: hostile and unusual input gets a clear TorchstartError (never a traceback)."""

from __future__ import annotations

import pytest
import torch

from tests.test_models import _plain, run_code
from tests.test_models_page import PAGE, metric
from torchstart.errors import TorchstartError
from torchstart.model_code import model_code
from torchstart.model_spec import LayerSpec, ModelSpec, check_class_name, check_spec, parse_shape


def test_leading_zeros_do_not_count_as_digits() -> None:
    # int() counts them against Python's 4,300-digit limit: the page raised a ValueError it did not catch.
    assert parse_shape("0" * 4400 + "28, 028") == (28, 28)


def test_a_shape_number_with_thousands_of_digits_is_refused() -> None:
    with pytest.raises(TorchstartError, match="between 1 and 65,536; the input shape has a 5,000-digit number"):
        parse_shape("9" * 5000)
    with pytest.raises(TorchstartError, match="between 1 and 65,536; the input shape has a 6-digit number"):
        parse_shape("2, 100000")
    assert parse_shape("0002, 65536") == (2, 65536)  # leading zeros are not digits of size


@pytest.mark.parametrize("name", ["super", "print", "tuple", "object", "__builtins__", "__name__", "__Net__"])
def test_builtin_class_names_are_refused(name: str) -> None:
    # "class super(nn.Module)" breaks super().__init__(); print/tuple and a module-level __builtins__ (whose
    # class statement made the Show code fail with "type '__builtins__' is not subscriptable") break the rest.
    with pytest.raises(TorchstartError, match="a Python built-in or a __dunder__ name .*; pick another class name"):
        check_class_name(name)


def test_a_class_name_python_would_rewrite_is_refused() -> None:
    with pytest.raises(TorchstartError, match="it reads it as 'Model'"):
        check_class_name("\uff2dodel")  # fullwidth M: Python's parser turns it into a plain M


def test_show_code_of_a_model_without_parameters_runs() -> None:
    spec = ModelSpec("JustReLU", (3,), (LayerSpec.of("ReLU"),))
    assert check_spec(spec).total_params == 0
    assert "model" in run_code(model_code(spec, 0, 2, 0))


def test_page_with_no_parameters_says_so(open_page) -> None:
    at = open_page(PAGE)
    first = at.session_state["models.stack"][0]["id"]
    at.selectbox(key="models.new_kind").set_value("ReLU")
    at.button(key="models.add").click().run()
    at.button(key=f"models.remove.{first}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at, "Parameters") == "0"
    assert any("has no parameters" in box.value for box in at.info)


@pytest.mark.parametrize("key, value, message", [
    ("models.input_shape", "9" * 5000, "5,000-digit number"),
    ("models.class_name", "super", "Python built-in"),
])
def test_page_shows_errors_for_bad_shape_and_name(open_page, key: str, value: str, message: str) -> None:
    at = open_page(PAGE)
    at.text_input(key=key).set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]
    assert message in at.error[0].value


L = LayerSpec.of

# (layers, input shape, the message in the singular): one channel or feature is not "1 channels".
ONE_OF_A_KIND = [
    ((L("Conv2d", in_channels=3, out_channels=8, kernel_size=3),), (1, 28, 28),
     "Layer 1: Conv2d(3 → 8, 3×3) receives 1 channel from the input. Set its in_channels to 1"),
    ((L("BatchNorm2d", num_features=2),), (1, 4, 4),
     "Layer 1: BatchNorm2d(2) receives 1 channel from the input. Set its num_features to 1"),
    ((L("Linear", in_features=4, out_features=2),), (1,),
     "Layer 1: Linear(4 → 2) receives 1 feature from the input. Set its in_features to 1"),
    ((L("BatchNorm1d", num_features=4),), (1,),
     "Layer 1: BatchNorm1d(4) receives 1 feature from the input. Set its num_features to 1"),
    ((L("Conv2d", in_channels=1, out_channels=8, kernel_size=3),), (1,),
     "Layer 1: Conv2d(1 → 8, 3×3) needs an image shaped channels × height × width, but receives 1 feature "
     "from the input"),
    ((L("Linear", in_features=4, out_features=2),), (1, 1),
     "Put a Flatten before it to get 1 feature, or set its in_features to 1"),
]


@pytest.mark.parametrize("layers, shape, message", ONE_OF_A_KIND, ids=lambda v: None)
def test_one_channel_or_feature_reads_in_the_singular(layers, shape, message: str) -> None:
    with pytest.raises(TorchstartError) as err:
        check_spec(ModelSpec("Bad", shape, layers))
    assert message in str(err.value)
    assert "1 channels" not in str(err.value) and "1 features" not in str(err.value)
    with pytest.raises(RuntimeError):  # torch refuses the same stack: the message is about a real problem
        _plain(layers).eval()(torch.zeros(2, *shape))
