"""Everything around the SavedModels that TF Serving needs: warm-up records, its configuration files, a local
server speaking its REST and gRPC APIs (`zoo serve`), and a client for both.

The names below are imported from their modules when first used, so that
exporting a model (which writes warm-up records) needs no gRPC.
"""

import importlib

_MODULES = {
    "Batcher": "batching", "ComputeGate": "calls", "Client": "client", "RequestError": "client",
    "batching_parameters": "config", "model_server_config": "config", "Limits": "limits",
    "ModelRepository": "repository", "ServingError": "errors", "RestServer": "rest", "ModelServer": "server",
    "serve": "server", "read_warmup_requests": "warmup", "write_warmup_requests": "warmup",
}


def __getattr__(name):
    if name in _MODULES:
        return getattr(importlib.import_module(f"zoo.serving.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'zoo.serving' has no attribute {name!r}")


__all__ = sorted(_MODULES)
