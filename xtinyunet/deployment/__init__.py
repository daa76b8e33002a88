"""A trained model's ONNX export and what running it costs on a CPU, and the deployment table."""
