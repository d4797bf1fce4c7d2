"""Everything around the SavedModels that TF Serving needs."""

from zoo.serving.rest import ModelRepository, RestServer, serve
from zoo.serving.warmup import read_warmup_requests, write_warmup_requests

__all__ = ["ModelRepository", "RestServer", "read_warmup_requests", "serve", "write_warmup_requests"]
