"""Figures for an explanation: signed attribution bars and the induced subgraph of influential ratings.

matplotlib and networkx are imported lazily, only when plots are asked for.
"""

from __future__ import annotations

from reelgraph.jobs.records import ExplanationResult
from reelgraph.plotting import png, pyplot


def attribution_png(result: ExplanationResult, user_id: int, movie_id: int) -> bytes:
    """Top users and movies by signed attribution, largest |score| on top."""
    items = [(f"user {u.user_id}", u.score) for u in result.top_users]
    items += [(f"movie {m.movie_id}: {m.title[:30]}", m.score) for m in result.top_movies]
    items.sort(key=lambda kv: abs(kv[1]))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(items) + 1.2))
    ax.barh(
        [k for k, _ in items], [v for _, v in items], color=["tab:green" if v >= 0 else "tab:red" for _, v in items]
    )
    ax.set_xlabel("attribution to the logit")
    ax.set_title(f"Why user {user_id} → movie {movie_id} (p = {result.probability:.3f})")
    return png(fig)


def subgraph_png(result: ExplanationResult, user_id: int, movie_id: int, max_edges: int = 60) -> bytes:
    """The ratings above the threshold as a graph; edge width ∝ |score|, colour = sign."""
    import networkx as nx

    edges = sorted(result.subgraph_edges, key=lambda e: -abs(e.score))[:max_edges]
    g = nx.Graph()
    for e in edges:
        g.add_edge(f"u{e.user_id}", f"m{e.movie_id}", score=e.score)
    g.add_node(f"u{user_id}")
    g.add_node(f"m{movie_id}")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    pos = nx.spring_layout(g, seed=0)
    colours = [
        "tab:red"
        if n == f"u{user_id}"
        else "tab:orange"
        if n == f"m{movie_id}"
        else "tab:green"
        if n.startswith("u")
        else "turquoise"
        for n in g.nodes
    ]
    top = max((abs(d["score"]) for *_, d in g.edges(data=True)), default=1.0) or 1.0
    nx.draw_networkx(
        g,
        pos,
        ax=ax,
        node_color=colours,
        node_size=220,
        font_size=6,
        width=[0.5 + 3 * abs(d["score"]) / top for *_, d in g.edges(data=True)],
        edge_color=["tab:green" if d["score"] >= 0 else "tab:red" for *_, d in g.edges(data=True)],
    )
    ax.set_title(f"Induced subgraph (red: user {user_id}, orange: movie {movie_id})")
    ax.axis("off")
    return png(fig)
