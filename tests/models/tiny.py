"""A tiny hand-built ONNX classifier whose output is known in closed form, for tests of the model plumbing."""

from __future__ import annotations

from pathlib import Path

SIZE = 8


def write_onnx(path: Path, size: int = SIZE, channel: int | None = None) -> Path:
    """logit = mean of the input over channel `channel` (all channels when None) and all pixels."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, size, size])
    y = helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["batch"])
    nodes, src = [], "input"
    if channel is not None:
        nodes.append(helper.make_node("Constant", [], ["idx"], value=helper.make_tensor("v", TensorProto.INT64,
                                                                                        [1], [channel])))
        nodes.append(helper.make_node("Gather", ["input", "idx"], ["picked"], axis=1))
        src = "picked"
    nodes.append(helper.make_node("Constant", [], ["axes"], value=helper.make_tensor("a", TensorProto.INT64, [3],
                                                                                     [1, 2, 3])))
    nodes.append(helper.make_node("ReduceMean", [src, "axes"], ["logit"], keepdims=0))
    model = helper.make_model(helper.make_graph(nodes, "mean", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path
