"""Items -> float32 embeddings: the built-in ONNX encoder, folder decoding, caching."""

from .encoder import EMBEDDING_DIM, OnnxImageEncoder, builtin_model_path
from .images import IMAGE_EXTENSIONS, Skipped, find_images
from .pipeline import Embeddings, embed_array, embed_folder

__all__ = [
    "EMBEDDING_DIM",
    "IMAGE_EXTENSIONS",
    "Embeddings",
    "OnnxImageEncoder",
    "Skipped",
    "builtin_model_path",
    "embed_array",
    "embed_folder",
    "find_images",
]
