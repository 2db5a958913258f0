"""The torch side: kernel modules and their builder registry, measurements, whole networks, training, data.

Only this package imports torch. Its names load lazily (PEP 562), so that
``skanalyze.nn.data`` (numpy only) imports without torch.
"""

from ..core.lazy import lazy_exports

_PUBLIC = {
    "BUILDERS": "modules",
    "builds": "modules",
    "builder_of": "modules",
    "build_kernel": "modules",
    "build": "modules",
    "concrete_layers": "modules",
    "conv_layer": "modules",
    "dense_lines": "modules",
    "ChannelShuffle": "modules",
    "SSCModule": "modules",
    "SCCModule": "modules",
    "LineModule": "modules",
    "count_params": "measure",
    "count_macs": "measure",
    "MeasuredField": "measure",
    "measure_field": "measure",
    "field_probe_size": "measure",
    "verify": "measure",
    "build_network": "networks",
    "network_counts": "networks",
    "from_module": "importer",
    "apply": "rebuild",
    "Applied": "rebuild",
    "count_macs_meta": "measure",
    "Block": "networks",
    "ZeroPadShortcut": "networks",
    "Timing": "timing",
    "steady_allocator": "timing",
    "time_call": "timing",
    "time_module": "timing",
    "calibrate": "latency",
    "latency_report": "latency",
    "time_model": "model_latency",
}
__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC, globals())
