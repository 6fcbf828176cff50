"""Torch encoders: ELSA checkpoints (both spaces), TorchScript and pickled modules."""

import numpy as np
import pytest
import torch

from elsa.datasets import load_fashion_mnist
from elsa.embeddings import TorchImageEncoder, embed_array, load_encoder
from elsa.exceptions import InputError, ParameterError
from elsa.ssl import TrainConfig, train
from elsa.ssl.trainer import load_checkpoint, model_from_checkpoint


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    images, _ = load_fashion_mnist("test")
    train(images[:128], TrainConfig(epochs=1, batch_size=64, width=4, projector_dim=24, image_size=16), folder,
          progress=False)
    return folder, images[:10]


def test_checkpoint_embeds_in_both_spaces_as_the_model_does(trained):
    folder, images = trained
    model = model_from_checkpoint(load_checkpoint(folder))
    for space, dim in (("embedding", 32), ("projector", 24)):
        encoder = load_encoder(str(folder), space=space)
        assert isinstance(encoder, TorchImageEncoder) and encoder.image_size == 16
        emb = embed_array(images, encoder, progress=False, use_cache=False)
        assert emb.vectors.shape == (10, dim)
        batch = torch.from_numpy(np.stack([encoder.prepare(im) for im in images]))
        with torch.no_grad():
            expected = model.embed(batch, space).numpy()
        np.testing.assert_allclose(emb.vectors, expected, atol=1e-5)
    assert load_encoder(str(folder)).fingerprint != load_encoder(str(folder), space="projector").fingerprint


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 5, 3)

    def forward(self, x):
        return self.conv(x)  # a feature map: the encoder averages it over space


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script/save, used here to make the file
def test_torchscript_exported_and_pickled_modules(tmp_path):
    module = Tiny().eval()
    torch.jit.save(torch.jit.script(module), tmp_path / "tiny.ts")
    torch.save(module, tmp_path / "tiny.pt")
    image = np.arange(12 * 12 * 3, dtype=np.uint8).reshape(12, 12, 3)
    scripted = load_encoder(str(tmp_path / "tiny.ts"), image_size=12, mean=(0.5,), std=(0.25,))
    x = (image.astype(np.float32) / 255 - 0.5) / 0.25
    with torch.no_grad():
        expected = module(torch.from_numpy(x.transpose(2, 0, 1)[None].copy())).mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(scripted.embed_prepared(scripted.prepare(image)[None]), expected, atol=1e-5)
    example = torch.zeros(2, 3, 12, 12)
    program = torch.export.export(module, (example,), dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    torch.export.save(program, tmp_path / "tiny.pt2")
    exported = load_encoder(str(tmp_path / "tiny.pt2"), image_size=12, mean=(0.5,), std=(0.25,))
    np.testing.assert_allclose(exported.embed_prepared(exported.prepare(image)[None]), expected, atol=1e-5)
    with pytest.raises(InputError, match="only with --allow-pickle"):
        load_encoder(str(tmp_path / "tiny.pt"), image_size=12)
    pickled = load_encoder(str(tmp_path / "tiny.pt"), image_size=12, mean=(0.5,), std=(0.25,), allow_pickle=True)
    np.testing.assert_allclose(pickled.embed_prepared(pickled.prepare(image)[None]), expected, atol=1e-5)
    with pytest.raises(ParameterError, match="needs an ELSA training checkpoint"):
        load_encoder(str(tmp_path / "tiny.ts"), space="projector")
