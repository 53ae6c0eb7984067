"""Explain a link prediction with PyG's CaptumExplainer on the pair's computation subgraph.

Captum (heavy) is imported only here. PyG 2.8.1's ``CaptumHeteroModel`` passes
hetero edge masks through a sigmoid (``set_hetero_masks`` without
``apply_sigmoid=False``, see pyg-team/pytorch_geometric#8496), so the function
Captum integrates is not the model; ``_fix_pyg_hetero_masks`` corrects that.
"""

from __future__ import annotations

import copy
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from reelgraph.bundle.loader import Bundle
from reelgraph.graphs.hetero import RATES, REV_RATES
from reelgraph.jobs.records import ExplainMethod
from reelgraph.models.encoder import EncoderConfig, node_stats
from reelgraph.models.pair import LinkModel
from worker import batched_ig
from worker.subgraph import Adjacency, PairSubgraph, computation_subgraph

EdgeType = tuple[str, str, str]


def _fix_pyg_hetero_masks() -> None:
    from torch_geometric.explain.algorithm import captum as pyg_captum

    original = pyg_captum.set_hetero_masks
    if getattr(original, "reelgraph_fixed", False):
        return

    def set_hetero_masks(model: nn.Module, mask_dict: Any, edge_index_dict: Any, apply_sigmoid: bool = True) -> None:
        original(model, mask_dict, edge_index_dict, apply_sigmoid=False)  # masks are already in [0, 1]

    set_hetero_masks.reelgraph_fixed = True  # type: ignore[attr-defined]
    pyg_captum.set_hetero_masks = set_hetero_masks


class SubgraphLinkModel(nn.Module):
    """The link model as a function of subgraph inputs Captum can attribute.

    ``x_dict['user']`` are users' layer-0 states (ID embedding + statistics),
    ``x_dict['movie']`` movies' raw features (genres, year); movie embeddings
    and statistics are fixed extras. Returns the pair's logit, shape ``(1,)``.
    """

    def __init__(self, model: LinkModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, x_dict: dict[str, Tensor], edge_index_dict: dict[EdgeType, Tensor], movie_extra: Tensor, pair: Tensor
    ) -> Tensor:
        enc = self.model.encoder
        h0 = {"user": x_dict["user"], "movie": enc.movie_lin(x_dict["movie"]) + movie_extra}
        h = enc(h0, edge_index_dict)
        out: Tensor = self.model.decoder(h["user"][pair[0]], h["movie"][pair[1]])
        return out


@dataclass(frozen=True)
class Attribution:
    """Raw attributions of one explanation, on subgraph-local indices."""

    logit: float
    subgraph: PairSubgraph
    user_attr: Tensor
    movie_attr: Tensor
    edge_attr: dict[EdgeType, Tensor]

    @property
    def total(self) -> float:
        """Sum of every attribution (≈ f(x) − f(baseline) for IG)."""
        parts = [self.user_attr.sum(), self.movie_attr.sum(), *(e.sum() for e in self.edge_attr.values())]
        return float(sum(parts))


class PairExplainer:
    """Explains ``logit(user, movie)`` of a bundle's link model.

    Node statistics and layer-0 states are computed once on the full graph, so
    the subgraph sees exactly the inputs the full model does.
    """

    def __init__(self, bundle: Bundle, device: str = "cpu") -> None:
        _fix_pyg_hetero_masks()
        g = bundle.graph
        cfg = EncoderConfig(**bundle.manifest.models["link"].config)
        self.model = LinkModel(cfg)
        self.model.load_state_dict(bundle.model_weights("link"))
        self.model.eval()
        self.movie_x = g.movie_x
        self.edges = g.message_edges()
        self.adjacency = Adjacency.build(g.edge_index, cfg.num_users, cfg.num_movies)
        enc = self.model.encoder
        with torch.no_grad():
            stats = node_stats(self.edges, cfg.num_users, cfg.num_movies)
            self.user_state = enc.user_emb.weight + enc.user_stats(stats["user"])
            self.movie_extra = enc.movie_emb.weight + enc.movie_stats(stats["movie"])
        self.wrapped = SubgraphLinkModel(self.model)
        # Batched IG runs on ``device``; Captum's step-by-step methods and fidelity
        # re-scoring (a few small forward passes) stay on the CPU copy.
        # Captum sets explain masks on the shared model's modules: one such run at a time.
        self.lock = threading.Lock()
        self.device = torch.device(device)
        self._ig_model = self.model if self.device.type == "cpu" else copy.deepcopy(self.model).to(self.device)

    def inputs(self, sub: PairSubgraph) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """(x_dict, extra kwargs) of the wrapped model for ``sub``."""
        x_dict = {"user": self.user_state[sub.users].clone(), "movie": self.movie_x[sub.movies].clone()}
        return x_dict, {"movie_extra": self.movie_extra[sub.movies], "pair": sub.pair}

    def logit(self, user: int, movie: int, full_graph: bool = False) -> float:
        """The model's logit for contiguous indices, on the subgraph (or the full graph)."""
        if full_graph:
            with self.lock, torch.no_grad():  # no explain masks from a concurrent Captum run
                return float(self.model(self.movie_x, self.edges, torch.tensor([[user], [movie]]))[0])
        sub = computation_subgraph(self.adjacency, user, movie)
        x, extra = self.inputs(sub)
        with self.lock, torch.no_grad():
            return float(self.wrapped(x, sub.edge_index_dict, **extra)[0])

    def attribute(
        self, user: int, movie: int, method: ExplainMethod = ExplainMethod.INTEGRATED_GRADIENTS, n_steps: int = 50
    ) -> Attribution:
        """Captum attributions of node inputs and edges for one pair (contiguous indices)."""
        return self.attribute_on(computation_subgraph(self.adjacency, user, movie), method, n_steps)

    def attribute_on(
        self,
        sub: PairSubgraph,
        method: ExplainMethod = ExplainMethod.INTEGRATED_GRADIENTS,
        n_steps: int = 50,
        batched: bool = True,
    ) -> Attribution:
        """Attributions on a given subgraph.

        Integrated Gradients runs every step in one pass (``worker.batched_ig``,
        equal to Captum's) when the model allows and ``batched``; otherwise, and
        for the other methods, PyG's ``CaptumExplainer`` runs step by step.
        ``whole_graph`` with ``batched=False`` is Captum on the full graph (the slow reference).
        """
        if batched and method is ExplainMethod.INTEGRATED_GRADIENTS and batched_ig.supported(self.model):
            return self._batched_ig(sub, n_steps)
        return self._captum(sub, method, n_steps)

    def _batched_ig(self, sub: PairSubgraph, n_steps: int) -> Attribution:
        x, extra = self.inputs(sub)
        inputs = batched_ig.IGInputs(
            user_state=x["user"],
            movie_x=x["movie"],
            movie_extra=extra["movie_extra"],
            rates=sub.edge_index_dict[RATES],
            rev=sub.edge_index_dict[REV_RATES],
            user=int(sub.pair[0, 0]),
            movie=int(sub.pair[1, 0]),
        )
        r = batched_ig.integrated_gradients(self._ig_model, inputs.to(self.device), n_steps)
        edge_attr = {et: a.cpu() for et, a in r.edge_attr.items()}
        return Attribution(r.logit, sub, r.user_attr.cpu(), r.movie_attr.cpu(), edge_attr)

    def _captum(self, sub: PairSubgraph, method: ExplainMethod, n_steps: int) -> Attribution:
        from torch_geometric.explain import Explainer
        from torch_geometric.explain.algorithm import CaptumExplainer

        x, extra = self.inputs(sub)
        kwargs = {"n_steps": n_steps} if method is ExplainMethod.INTEGRATED_GRADIENTS else {}
        explainer = Explainer(
            model=self.wrapped,
            algorithm=CaptumExplainer(method.value, **kwargs),
            explanation_type="model",
            node_mask_type="attributes",
            edge_mask_type="object",
            model_config={"mode": "regression", "task_level": "edge", "return_type": "raw"},
        )
        with self.lock, warnings.catch_warnings():
            # Gradient methods switch requires_grad on for us; Captum says so each call.
            warnings.filterwarnings("ignore", message="Input Tensor .* did not already require gradients")
            # GuidedBackprop / Deconvolution announce their temporary ReLU hooks.
            warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU activations")
            explanation = explainer(x, sub.edge_index_dict, index=0, **extra)
            with torch.no_grad():
                logit = float(self.wrapped(x, sub.edge_index_dict, **extra)[0])
        return Attribution(
            logit=logit,
            subgraph=sub,
            user_attr=explanation["user"].node_mask.detach(),
            movie_attr=explanation["movie"].node_mask.detach(),
            edge_attr={et: explanation[et].edge_mask.detach() for et in (RATES, REV_RATES)},
        )


def baseline_logit(explainer: PairExplainer, sub: PairSubgraph) -> float:
    """f(baseline) as IG sees it: attributed inputs zero, every edge mask 0.

    A zero mask silences an edge's message but, with mean aggregation, still
    counts it in the denominator; this is the function Captum integrates.
    """
    from torch_geometric.explain.algorithm.utils import clear_masks, set_hetero_masks

    x, extra = explainer.inputs(sub)
    zeros = {k: torch.zeros_like(v) for k, v in x.items()}
    masks = {et: torch.zeros(ei.shape[1]) for et, ei in sub.edge_index_dict.items()}
    set_hetero_masks(explainer.wrapped, masks, sub.edge_index_dict, apply_sigmoid=False)
    try:
        with torch.no_grad():
            return float(explainer.wrapped(zeros, sub.edge_index_dict, **extra)[0])
    finally:
        clear_masks(explainer.wrapped)


__all__ = ["Attribution", "PairExplainer", "baseline_logit"]
