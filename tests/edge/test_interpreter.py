"""Backends, thread counts and the Edge TPU delegate (through a fake load_delegate: no TPU here)."""

import importlib.util
import shutil
import types

import numpy as np
import pytest

from tfedge.edge.card import strip_embedded
from tfedge.edge.classify import open_classifier
from tfedge.edge.interpreter import (
    BACKEND_ORDER,
    BACKENDS,
    Backend,
    check_threads,
    cpu_sibling,
    edgetpu_library,
    load_edgetpu_delegate,
    resolve_backend,
)
from tfedge.edge.tflite.edgetpu import COMPILED_OPERATOR, compiled_path, cpu_model_paths, ready_path
from tfedge.errors import DependencyError, ModelError, UsageError
from tfedge.main import main


def test_backends_are_tried_in_the_documented_order():
    assert BACKEND_ORDER == ("litert", "tflite-runtime", "tensorflow")
    installed = [name for name in BACKEND_ORDER if importlib.util.find_spec(BACKENDS[name][0].split(".")[0])]
    assert installed, "no interpreter installed"
    assert resolve_backend("auto").name == installed[0]  # the first one installed, in that order


@pytest.mark.parametrize("threads", [0, -1, 65, 10**6])
def test_negative_zero_and_absurd_threads_are_usage_errors(threads):
    with pytest.raises(UsageError, match="1 to 64"):
        check_threads(threads)


@pytest.mark.parametrize("system, library", [("Linux", "libedgetpu.so.1"), ("Darwin", "libedgetpu.1.dylib"),
                                             ("Windows", "edgetpu.dll")])
def test_edgetpu_library_per_operating_system(system, library):
    assert edgetpu_library(system) == library


def test_edgetpu_library_for_an_unknown_system_says_what_to_do():
    with pytest.raises(DependencyError, match="--fallback-cpu"):
        edgetpu_library("Plan9")


class FakeEdgeTpu:
    """A fake libedgetpu: records what load_delegate was asked for (no Edge TPU exists here)."""

    def __init__(self, present=True):
        self.present = present
        self.calls = []

    def load_delegate(self, library, options=None):
        self.calls.append((library, options))
        if not self.present:
            raise ValueError(f"Failed to load delegate from {library}")
        return types.SimpleNamespace(library=library)


def test_delegate_is_loaded_with_this_systems_library_and_device():
    fake = FakeEdgeTpu()
    backend = Backend("fake", "0", types.SimpleNamespace(load_delegate=fake.load_delegate))
    delegate = load_edgetpu_delegate(backend, device="usb:0", system="Darwin")
    assert delegate.library == "libedgetpu.1.dylib"
    assert fake.calls == [("libedgetpu.1.dylib", {"device": "usb:0"})]


def test_missing_runtime_gives_one_line_with_what_to_install():
    fake = FakeEdgeTpu(present=False)
    backend = Backend("fake", "0", types.SimpleNamespace(load_delegate=fake.load_delegate))
    with pytest.raises(DependencyError) as caught:
        load_edgetpu_delegate(backend, system="Linux")
    message = str(caught.value)
    assert "\n" not in message and "libedgetpu1-std" in message and "--fallback-cpu" in message


def edgetpu_pair(tmp_path, int8_model):
    """x.tflite (the real int8 model) and x_edgetpu.tflite, a file holding edgetpu-custom-op as a
    compiled model does (edgetpu_compiler is not available here)."""
    cpu = tmp_path / "x.tflite"
    shutil.copy(int8_model, cpu)
    compiled = tmp_path / "x_edgetpu.tflite"
    compiled.write_bytes(strip_embedded(cpu.read_bytes()) + COMPILED_OPERATOR.encode())
    return cpu, compiled


def test_open_classifier_passes_the_fake_delegate_to_the_interpreter(tflite_models, tmp_path, monkeypatch):
    _, compiled = edgetpu_pair(tmp_path, tflite_models["int8"])
    fake = FakeEdgeTpu()
    built = {}

    class FakeInterpreter:
        def __init__(self, **kwargs):
            built.update(kwargs)
            raise ValueError("fake interpreter: stop here")

    fake_backend = Backend("fake", "0", types.SimpleNamespace(load_delegate=fake.load_delegate,
                                                             Interpreter=FakeInterpreter))
    monkeypatch.setattr("tfedge.edge.classify.resolve_backend", lambda name: fake_backend)
    with pytest.raises(ModelError, match="fake interpreter"):
        open_classifier(compiled, num_threads=2, edgetpu=True)
    assert fake.calls[0][0] == edgetpu_library()
    assert built["experimental_delegates"][0].library == edgetpu_library()
    assert built["num_threads"] == 2


def test_real_runtime_missing_here_exits_8_with_what_to_install(capsys, tflite_models, tmp_path):
    _, compiled = edgetpu_pair(tmp_path, tflite_models["int8"])
    code = main(["run", str(compiled), "--edgetpu", "--source", str(tmp_path), "--headless"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 8
    assert "libedgetpu.so.1" in err[-1] and "libedgetpu1-std" in err[-1]


def test_fallback_cpu_runs_the_sibling_model(capsys, tflite_models, tmp_path, fashion_dir):
    _, compiled = edgetpu_pair(tmp_path, tflite_models["int8"])
    code = main(["run", str(compiled), "--edgetpu", "--fallback-cpu", "--source", str(fashion_dir / "test"),
                 "--headless", "--max-frames", "3"])
    captured = capsys.readouterr()
    assert code == 0
    assert "--fallback-cpu: running x.tflite on the CPU" in captured.err
    assert '"frames": 3' in captured.out.splitlines()[-1]


def test_edgetpu_model_without_edgetpu_is_a_clear_model_error(capsys, tflite_models, tmp_path):
    _, compiled = edgetpu_pair(tmp_path, tflite_models["int8"])
    code = main(["run", str(compiled), "--source", str(tmp_path), "--headless"])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 4 and "compiled for the Edge TPU" in line and "--edgetpu" in line


def test_edgetpu_flag_on_a_cpu_model_is_refused(capsys, tflite_models, tmp_path):
    code = main(["run", str(tflite_models["int8"]), "--edgetpu", "--source", str(tmp_path), "--headless"])
    assert code == 4 and "not compiled for the Edge TPU" in capsys.readouterr().err


def test_cpu_sibling_must_exist(tmp_path):
    with pytest.raises(ModelError, match="needs the CPU model m.tflite or m_edgetpu_ready.tflite"):
        cpu_sibling(tmp_path / "m_edgetpu.tflite")


@pytest.mark.parametrize("name", ["m.tflite", "m_edgetpu_ready.tflite"])
def test_cpu_sibling_follows_coral_and_tfedge_convert_names(tmp_path, name):
    (tmp_path / name).write_bytes(b"model")
    assert cpu_sibling(tmp_path / "m_edgetpu.tflite") == tmp_path / name


def test_edgetpu_file_names_follow_the_compiler_and_tfedge_convert(tmp_path):
    model = tmp_path / "model.tflite"
    assert compiled_path(model) == tmp_path / "model_edgetpu.tflite"
    assert compiled_path(model, ".log") == tmp_path / "model_edgetpu.log"
    assert ready_path(compiled_path(model)) == tmp_path / "model_edgetpu_ready.tflite"
    assert cpu_model_paths(compiled_path(model)) == [model, tmp_path / "model_edgetpu_ready.tflite"]
    assert cpu_model_paths(model) == [] and cpu_sibling(model) == model


def test_backend_and_version_printed_once_at_start(capsys, tflite_models, fashion_dir):
    code = main(["run", str(tflite_models["int8"]), "--source", str(fashion_dir / "test"), "--headless",
                 "--max-frames", "2", "--threads", "2"])
    err = capsys.readouterr().err
    backend = resolve_backend("auto")
    # with more than 2 cores the line also says where the threads run (tests/edge/test_cores.py)
    assert code == 0 and err.count(f"on {backend.name} {backend.version} (threads: 2") == 1


def reference_kernel_scores(backend, model_content: bytes, tensor: np.ndarray) -> np.ndarray:
    """The model's scores from TFLite's reference kernels, dequantized here by hand.

    BUILTIN_REF runs the plain, unoptimised kernels, not the optimised and XNNPACK paths that
    `Classifier` gets, so this is a second computation even where only one backend is installed.
    """
    interpreter = backend.module.Interpreter(
        model_content=model_content,
        experimental_op_resolver_type=backend.module.OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
    interpreter.invoke()
    output = interpreter.get_output_details()[0]
    raw = interpreter.get_tensor(output["index"])[0]
    scale, zero_point = output["quantization"]
    return (raw.astype(np.float64) - zero_point) * scale if scale else raw.astype(np.float64)


# Reference and optimised kernels round int8 differently: up to 6 output steps (1/256 each) measured
# on random inputs on x86; a wrong kernel or dequantization is off by far more.
KERNEL_TOLERANCE = {"int8": 8 / 256, "float32": 1e-5}


@pytest.mark.parametrize("quant", ["int8", "float32"])
def test_each_available_backend_gives_the_reference_kernels_scores(tflite_models, fashion_dir, quant):
    from tfedge.edge.classify import Classifier
    from tfedge.edge.interpreter import available_backends
    from tfedge.edge.preprocess import decode_image

    frame = decode_image(sorted((fashion_dir / "test").rglob("*.png"))[0])
    scores = []
    for backend in available_backends():
        classifier = Classifier(tflite_models[quant], 1, backend)
        tensor = classifier.prepare(frame)
        got = classifier.classify(tensor=tensor).scores
        reference = reference_kernel_scores(backend, classifier.model.content, tensor)
        assert classifier.card.outputs == "probabilities" and reference.sum() == pytest.approx(1, abs=0.02)
        np.testing.assert_allclose(got, reference, atol=KERNEL_TOLERANCE[quant], err_msg=str(backend))
        scores.append(got)
    assert scores, "no interpreter backend installed"
    for other in scores[1:]:  # where several backends are installed, they agree with each other too
        np.testing.assert_allclose(other, scores[0], atol=1e-6)


@pytest.mark.parametrize("threads", ["-2", "0", "1000"])
def test_run_refuses_negative_and_absurd_threads_before_opening_anything(capsys, tflite_models, threads):
    code = main(["run", str(tflite_models["int8"]), "--threads", threads, "--source", "/nonexistent"])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and f"--threads {threads} is out of range; use 1 to 64" in line
