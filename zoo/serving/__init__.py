"""Everything around the SavedModels that TF Serving needs: warm-up records, its configuration files, a local
server speaking its REST and gRPC APIs (`zoo serve`), and a client for both."""

from zoo.serving.batching import Batcher
from zoo.serving.calls import ComputeGate
from zoo.serving.client import Client, RequestError
from zoo.serving.config import batching_parameters, model_server_config
from zoo.serving.limits import Limits
from zoo.serving.repository import ModelRepository, ServingError
from zoo.serving.rest import RestServer
from zoo.serving.server import ModelServer, serve
from zoo.serving.warmup import read_warmup_requests, write_warmup_requests

__all__ = ["Batcher", "Client", "ComputeGate", "Limits", "ModelRepository", "ModelServer", "RequestError", "RestServer", "ServingError",
           "batching_parameters", "model_server_config", "read_warmup_requests", "serve", "write_warmup_requests"]
