"""Items -> float32 embeddings: the built-in ONNX encoder, user ONNX and torch models, folder decoding, caching."""

from .choose import load_encoder
from .encoder import EMBEDDING_DIM, ImageEncoder, OnnxImageEncoder, builtin_model_path
from .images import IMAGE_EXTENSIONS, Skipped, find_images, load_image_array
from .pipeline import Embeddings, embed_array, embed_folder
from .torch_encoder import SPACES, TorchImageEncoder  # imports torch only when used

__all__ = [
    "EMBEDDING_DIM",
    "ImageEncoder",
    "SPACES",
    "TorchImageEncoder",
    "IMAGE_EXTENSIONS",
    "Embeddings",
    "OnnxImageEncoder",
    "Skipped",
    "builtin_model_path",
    "embed_array",
    "embed_folder",
    "find_images",
    "load_encoder",
    "load_image_array",
]
