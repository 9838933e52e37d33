"""One declarative table of the playground's pages: the frame and the home map both read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    """A page of the app: where its script is, its URL path and what it teaches."""

    script: str
    title: str
    icon: str
    url_path: str
    concepts: tuple[str, ...]
    summary: str


HOME = PageInfo(
    script="pages/home.py",
    title="Home",
    icon=":material/home:",
    url_path="",
    concepts=(),
    summary="What the playground is and where each concept lives.",
)

CONCEPT_PAGES: tuple[PageInfo, ...] = (
    PageInfo("pages/tensors.py", "Tensors", ":material/grid_on:", "tensors",
             ("Tensors",),
             "Build a tensor, see its shape, dtype, strides and storage, and transform it."),
    PageInfo("pages/autograd.py", "Autograd", ":material/account_tree:", "autograd",
             ("Autograd", "Gradients and backprop", "Dynamic computation graphs"),
             "Type an expression and see the real grad_fn graph with values and gradients."),
    # Data before Models: a model's first and last layers are sized to the data it will train on.
    PageInfo("pages/data.py", "Data", ":material/table_chart:", "data",
             ("Custom datasets", "Data loading"),
             "Turn a CSV into a Dataset and watch a DataLoader batch it."),
    PageInfo("pages/models.py", "Models", ":material/layers:", "models",
             ("nn.Module",),
             "Stack layers into an nn.Module and read its summary and parameters."),
    PageInfo("pages/training.py", "Training", ":material/trending_down:", "training",
             ("A full training loop",),
             "Train a model live, stop, continue, and download the .pth."),
    PageInfo("pages/optimizers.py", "Optimizers", ":material/route:", "optimizers",
             ("Optimizers",),
             "Race torch.optim optimizers across a loss landscape."),
    PageInfo("pages/checkpoints.py", "Checkpoints", ":material/save:", "checkpoints",
             ("Saving and loading",),
             "Save a state_dict, load a .pth safely and look inside it."),
    PageInfo("pages/device.py", "Device", ":material/memory:", "device",
             ("CUDA and devices",),
             "See the hardware PyTorch finds, move tensors, time a matmul."),
)

ALL_PAGES: tuple[PageInfo, ...] = (HOME, *CONCEPT_PAGES)


def page_for_concept(concept: str) -> PageInfo:
    """The page that teaches ``concept`` (exact name as listed in ``CONCEPT_PAGES``)."""
    for page in CONCEPT_PAGES:
        if concept in page.concepts:
            return page
    raise KeyError(concept)
