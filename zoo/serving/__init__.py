"""Everything around the SavedModels that TF Serving needs."""

from zoo.serving.warmup import read_warmup_requests, write_warmup_requests

__all__ = ["read_warmup_requests", "write_warmup_requests"]
