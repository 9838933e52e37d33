"""torchstart: the PyTorch core behind the playground. Never imports streamlit."""

from torchstart.errors import TorchstartError

__all__ = ["TorchstartError"]
