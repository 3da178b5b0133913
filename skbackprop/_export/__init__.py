"""Helpers of the ONNX export (:mod:`skbackprop.onnx`)."""
