"""The torch side: devices, tensor files, running the real module, reconciling it with the model, tracing models."""
