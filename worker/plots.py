"""Figures for an explanation: signed contribution bars and the subgraph of the paths that carry the score.

For the ranking model (the default method): the bars are the user's named
ratings (title, stars) and the popularity part; the graph joins the user, the
named rated movies, the co-raters and the target. For the Captum methods: top
users and movies, and the induced subgraph of influential ratings.
matplotlib and networkx are imported lazily, only when plots are asked for.
"""

from __future__ import annotations

from typing import Any

from reelgraph.jobs.records import Driver, ExplainMethod, ExplanationResult, GlobalSummary
from reelgraph.plotting import png, pyplot

GREEN, RED, GREY = "tab:green", "tab:red", "0.6"
MAX_CO_RATERS = 8  # co-raters drawn in the graph
_BOX = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85}


def _num(v: float) -> str:
    """Signed, readable at any scale: +1.23, +0.0042."""
    return f"{v:+.2f}" if abs(v) >= 0.01 or v == 0 else f"{v:+.2g}"


def _short(title: str, n: int = 32) -> str:
    return title if len(title) <= n else title[: n - 1] + "…"


def attribution_png(result: ExplanationResult, user_id: int, movie_id: int) -> bytes:
    """Signed contributions to the logit, largest |score| on top."""
    if result.method == ExplainMethod.RANKING:
        return _ranking_bars(result, user_id)
    return _captum_bars(result, user_id, movie_id)


def subgraph_png(result: ExplanationResult, user_id: int, movie_id: int, max_edges: int = 60) -> bytes:
    """The paths that carry the score; edge width ∝ |contribution|, green positive, red negative."""
    if result.method == ExplainMethod.RANKING:
        return _ranking_graph(result, user_id)
    return _captum_subgraph(result, user_id, movie_id, max_edges)


def _ranking_bars(result: ExplanationResult, user_id: int) -> bytes:
    items = [(f"{_short(r.title)} ★{r.stars:g}", r.score) for r in result.because_you_rated]
    rest = result.rated_total - sum(r.score for r in result.because_you_rated)
    items += [("your other ratings", rest), ("popularity", result.popularity)]
    items.sort(key=lambda kv: abs(kv[1]))
    fig, ax = _signed_bars(items)
    for i, (_, v) in enumerate(items):
        ax.annotate(_num(v), (v, i), xytext=(3 if v >= 0 else -3, 0), textcoords="offset points",
                    ha="left" if v >= 0 else "right", va="center", fontsize=8)  # fmt: skip
    f = result.logit_fidelity
    ax.set_xlabel("share of the logit (green raises it, red lowers it)")
    ax.set_title(
        f"Why {_short(result.title, 40)} for user {user_id}: logit {result.logit:.2f}, p = {result.probability:.2f}\n"
        f"logit change when removing the named {f.k}: {_num(-f.deletion_drop)}; {f.k} random: {_num(-f.random_drop)}",
        fontsize=10,
    )
    return png(fig)


def rating_png(result: ExplanationResult, user_id: int) -> bytes:
    """A rating prediction: the named ratings that raise and lower the stars (leave-one-out shares)."""
    r = result.rating
    assert r is not None
    items = [(f"{_short(m.title)} ★{m.stars:g}", m.score) for m in result.because_you_rated + r.lowered_by]
    items.sort(key=lambda kv: kv[1])
    fig, ax = _signed_bars(items)
    ax.set_xlabel("stars the rating adds (green) or takes away (red): prediction minus prediction without it")
    f = r.fidelity
    who = "your ratings" if user_id <= 0 else f"user {user_id}"
    ax.set_title(
        f"Why {r.stars:.1f}★ for {_short(result.title, 40)} ({who})\n"
        f"stars change when removing the named {f.k}: {_num(-f.deletion_drop)}; {f.k} random: {_num(-f.random_drop)}",
        fontsize=10,
    )
    return png(fig)


def _signed_bars(items: list[tuple[str, float]]) -> tuple[Any, Any]:
    """A horizontal bar per (label, value): green raises, red lowers, a line at zero."""
    fig, ax = pyplot().subplots(figsize=(8, 0.36 * len(items) + 1.6))
    ax.barh([k for k, _ in items], [v for _, v in items], color=[GREEN if v >= 0 else RED for _, v in items])
    ax.axvline(0, color="0.3", linewidth=0.8)
    return fig, ax


def _ranking_graph(result: ExplanationResult, user_id: int) -> bytes:
    """User (left) → named rated movies → co-raters → target (right)."""
    plt = pyplot()
    chains = result.chains
    people = result.co_raters[:MAX_CO_RATERS]
    fig, ax = plt.subplots(figsize=(11, max(4.5, 0.75 * max(len(chains), len(people)) + 1.5)))
    y_movie = {c.movie_id: _spread(i, len(chains)) for i, c in enumerate(chains)}
    y_person = {p.user_id: _spread(i, len(people)) for i, p in enumerate(people)}
    top = max([abs(c.score) for c in chains] + [abs(p.score) for p in people] + [1e-9])

    def width(v: float) -> float:
        return 0.6 + 5.0 * abs(v) / top

    user_xy, target_xy = (0.0, 0.0), (3.0, 0.0)
    for c in chains:
        xy = (1.0, y_movie[c.movie_id])
        colour = GREEN if c.score >= 0 else RED
        _edge(ax, user_xy, xy, width(c.score), colour)  # your rating
        _edge(ax, xy, target_xy, width(c.score), colour, rad=-0.25, alpha=0.35)  # the learned edge B
        ax.text(xy[0], xy[1] + 0.17, f"{_short(c.title, 28)} ★{c.stars:g}", ha="center", fontsize=8, bbox=_BOX)
        ax.text(xy[0], xy[1] - 0.24, f"{_num(c.score)} · {c.co_raters} co-raters", ha="center", fontsize=7,
                color="0.3", bbox=_BOX)  # fmt: skip
    for p in people:
        xy = (2.0, y_person[p.user_id])
        for m in p.movie_ids:
            if m in y_movie:
                _edge(ax, (1.0, y_movie[m]), xy, 0.6, GREY, alpha=0.6)
        _edge(ax, xy, target_xy, width(p.score), GREEN if p.score >= 0 else RED)
        ax.text(xy[0], xy[1] + 0.15, f"user {p.user_id}: ★{p.target_stars:g} for it", ha="center", fontsize=7,
                bbox=_BOX)  # fmt: skip
    ax.scatter([1.0] * len(chains), list(y_movie.values()), s=160, c="turquoise", zorder=3, edgecolors="0.3")
    ax.scatter([2.0] * len(people), list(y_person.values()), s=90, c="khaki", zorder=3, edgecolors="0.3")
    ax.scatter([user_xy[0]], [user_xy[1]], s=420, c="tab:blue", zorder=3)
    ax.scatter([target_xy[0]], [target_xy[1]], s=420, c="tab:orange", zorder=3)
    ax.text(user_xy[0], user_xy[1] - 0.35, f"user {user_id}\n(you)", ha="center", va="top", fontsize=9)
    ax.text(target_xy[0], target_xy[1] - 0.35, f"{_short(result.title, 30)}\np = {result.probability:.2f}",
            ha="center", va="top", fontsize=9)  # fmt: skip
    top_y = (max(len(chains), len(people), 1) - 1) / 2 + 0.6
    for x, label in ((1.0, "because you rated"), (2.0, f"people with your taste ({result.co_raters_total} in all)")):
        ax.text(x, top_y, label, ha="center", fontsize=9, weight="bold")
    ax.set_title(
        "Paths to the recommendation: you → rated movie → co-raters → target; faint arcs are the learned\n"
        "co-rating edges B (what the model scores with); width ∝ |contribution|, green raises, red lowers",
        fontsize=9,
    )
    ax.set_xlim(-0.5, 3.5)
    ax.set_ylim(-top_y - 0.2, top_y + 0.3)
    ax.axis("off")
    return png(fig)


def _spread(i: int, n: int) -> float:
    """Vertical position of item i of n, centred on 0, one unit apart."""
    return (n - 1) / 2 - i


def _edge(ax: Any, a: tuple[float, float], b: tuple[float, float], width: float, colour: str,
          rad: float = 0.0, alpha: float = 0.8) -> None:  # fmt: skip
    ax.annotate("", xy=b, xytext=a, arrowprops={"arrowstyle": "-|>", "lw": width, "color": colour, "alpha": alpha,
                "shrinkA": 9, "shrinkB": 9, "connectionstyle": f"arc3,rad={rad}"})  # fmt: skip


def _captum_bars(result: ExplanationResult, user_id: int, movie_id: int) -> bytes:
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


def _captum_subgraph(result: ExplanationResult, user_id: int, movie_id: int, max_edges: int) -> bytes:
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


def global_png(summary: GlobalSummary) -> bytes:
    """Three bar panels: the rated movies, their genres and their decades that carry the most recommendations."""
    plt = pyplot()
    panels: list[tuple[str, list[Driver]]] = [
        ("rated movies", summary.movies),
        ("genres of the rated movies", summary.genres),
        ("decades of the rated movies", summary.years),
        ("co-rater groups behind them", summary.co_rater_groups),
    ]
    rows = max(len(d) for _, d in panels) or 1
    fig, axes = plt.subplots(1, 4, figsize=(20, 0.32 * rows + 1.8))
    for ax, (label, drivers) in zip(axes, panels, strict=True):
        items = list(reversed(drivers))
        ax.barh([_short(d.name, 30) for d in items], [d.share for d in items],
                color=[GREEN if d.share >= 0 else RED for d in items])  # fmt: skip
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("summed share of the logit")
        ax.tick_params(axis="y", labelsize=8)
    fig.suptitle(
        f"What drives {summary.pairs} recommendations to {summary.users} users (named ratings' shares, summed)",
        fontsize=11,
    )
    fig.tight_layout()
    return png(fig)
