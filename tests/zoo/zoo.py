"""The real zoos: every torchvision classification constructor and timm models of many families, each
checked against independent oracles (sum(p.numel()), FlopCounterMode, and the real fvcore, ptflops and
thop). Used by tests/zoo/test_zoo.py and by benchmarks/zoo_table.py (the table in docs/model-import.md)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import warnings

import torch
from torch.utils.flop_counter import FlopCounterMode

# timm models of diverse families: CNNs, NAS nets, NFNets, transformers and hybrids
TIMM = [
    "resnet50d",
    "efficientnet_b0",
    "mobilenetv3_large_100",
    "mixnet_s",
    "dm_nfnet_f0",
    "coat_lite_tiny",
    "vit_small_patch16_224",
    "deit_tiny_patch16_224",
    "swin_tiny_patch4_window7_224",
    "convnext_tiny",
    "regnety_008",
    "tresnet_m",
    "hrnet_w18_small",
    "ecaresnet50d",
    "crossvit_tiny_240",
    "levit_128",
    "mobilevit_s",
    "efficientformer_l1",
    "edgenext_small",
    "maxvit_tiny_tf_224",
    "ghostnet_100",
    "rexnet_100",
    "resnest14d",
    "dla34",
    "cspdarknet53",
    "densenet121",
    "inception_v3",
    "repvgg_a2",
    "poolformer_s12",
    "mixer_b16_224",
    "res2net50_14w_8s",
    "lcnet_050",
    "twins_svt_small",
    "xcit_tiny_12_p16_224",
    "mobileone_s0",
    "fastvit_t8",
    "efficientvit_b0",
    "tiny_vit_5m_224",
    "convit_tiny",
]
SMALL = 30_000_000  # models up to this many parameters also run the peers that need a real forward


def torchvision_names() -> list[str]:
    """Every torchvision classification constructor."""
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


def build(zoo: str, name: str, device: str = "meta"):
    """The model, built on ``device``, in eval mode, and its input size (a constructor that computes with
    tensors, as torchvision's RegNets do, is built on the CPU and then moved to meta)."""
    try:
        return _build(zoo, name, device)
    except NotImplementedError:
        model, shape = _build(zoo, name, "cpu")
        return model.to(device), shape


def _build(zoo: str, name: str, device: str):
    with torch.device(device):
        if zoo == "torchvision":
            import torchvision

            model = torchvision.models.get_model(name, weights=None)
            size = 299 if name == "inception_v3" else 224
        else:
            import timm

            model = timm.create_model(name, pretrained=False)
            size = model.default_cfg.get("input_size", (3, 224, 224))[-1]
    return model.eval(), (1, 3, size, size)


def fingerprint(model) -> dict:
    """Every tensor of the state dict: device, dtype, shape and a hash of its values (meta: no values)."""
    out = {}
    for k, t in model.state_dict(keep_vars=True).items():
        data = (
            b""
            if t.device.type == "meta"
            else t.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes()
        )
        out[k] = (str(t.device), str(t.dtype), tuple(t.shape), hashlib.sha1(data).hexdigest(), id(t))
    return out


def quiet():
    """A context that silences the peers' prints and warnings."""
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    return stack


def flop_counter(model, shape, device="meta") -> int:
    """FlopCounterMode's total for one forward pass (no grad)."""
    x = torch.zeros(shape, device=device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


def peer(name: str, model, shape, device="meta"):
    """The real peer's total on the model (eval mode), or the exception it raised."""
    x = torch.zeros(shape, device=device)
    try:
        with quiet():
            if name == "torch":
                return flop_counter(model, shape, device)
            if name == "fvcore":
                from fvcore.nn import FlopCountAnalysis

                counter = FlopCountAnalysis(model, x)
                counter.unsupported_ops_warnings(False)
                counter.uncalled_modules_warnings(False)
                return counter.total()
            if name in ("ptflops", "ptflops-aten"):
                import ptflops

                backend = {"backend": "aten"} if name == "ptflops-aten" else {}
                macs, _ = ptflops.get_model_complexity_info(
                    model, tuple(shape[1:]), as_strings=False, print_per_layer_stat=False, **backend
                )
                if macs is None:
                    raise RuntimeError("ptflops returned None (its forward failed)")
                return macs
            import thop

            total, _ = thop.profile(model, inputs=(x,), verbose=False)
            for m in model.modules():  # older thop releases leave their counters behind
                for attr in ("total_ops", "total_params"):
                    m._buffers.pop(attr, None)
            return int(total)
    except Exception as err:  # noqa: BLE001 - a peer that fails is reported, not hidden
        return err
