"""The snnc IR: types, ops, graphs, verifier, printer and file format (ARCHITECTURE §2)."""

from snnc.ir.graph import CycleError, Graph, GraphBuilder, Node
from snnc.ir.ops import (
    OPS,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv1d,
    Conv2d,
    Delay,
    Elementwise,
    Flatten,
    Input,
    Linear,
    MaxPool2d,
    Neuron,
    Op,
    Output,
    ReLU,
    Reshape,
    Scale,
    ShapeError,
    SumPool2d,
    infer_type,
)
from snnc.ir.quant import NumberFormat
from snnc.ir.types import FLOAT, SPIKE, Count, DType, Float, Int, Spike, TensorType, parse_dtype, parse_type
from snnc.ir.verify import verify, verify_or_raise

__all__ = [
    "OPS", "AvgPool2d", "BatchNorm", "Concat", "Conv1d", "Conv2d", "Count", "CycleError", "DType", "Delay",
    "Elementwise", "FLOAT", "Flatten", "Float", "Graph", "GraphBuilder", "Input", "Int", "Linear", "MaxPool2d",
    "Neuron", "Node", "NumberFormat", "Op", "Output", "ReLU", "Reshape", "SPIKE", "Scale", "ShapeError", "Spike",
    "SumPool2d", "TensorType", "infer_type", "parse_dtype", "parse_type", "verify", "verify_or_raise",
]
