"""Figures people read: every numeric axis of every panel has at least 4 labelled ticks, no
tick label leaves its figure, and a learning rate tried at only two values is a table, not
a two-point curve."""
from __future__ import annotations

import pytest
from matplotlib.category import StrCategoryLocator
from matplotlib.ticker import FixedFormatter, FixedLocator

import optbench
from optbench.report import build_report, report_figures
from optbench.report.content import Table


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    # mgh04's gaps stay near 1e12 (all its ticks within one decade before), a 3-value and a
    # 2-value learning-rate grid
    return optbench.run_suite(problems="mgh04-brown-badly-scaled,rosenbrock", optimizers="gd[lr=[1e-6,1e-5,1e-4]],"
                              "adam[lr=[1e-2,1e-1]]", max_steps=10, spectrum=False,
                              db=tmp_path_factory.mktemp("figs") / "r.sqlite")


def _categorical(axis) -> bool:
    """Ticks placed at categories (problems, optimizers): their count is the data's."""
    locator = axis.get_major_locator()
    return (isinstance(locator, StrCategoryLocator) or isinstance(axis.get_major_formatter(), FixedFormatter)
            or (axis.get_scale() == "linear" and isinstance(locator, FixedLocator)))


def _labelled_ticks(ax, name: str, renderer):
    axis = ax.xaxis if name == "x" else ax.yaxis
    lo, hi = sorted(ax.get_xlim() if name == "x" else ax.get_ylim())
    slack = 1e-9 * max(abs(lo), abs(hi))
    return [label for loc, label in zip(axis.get_majorticklocs(), axis.get_ticklabels())
            if lo - slack <= loc <= hi + slack and label.get_visible() and label.get_text()]


def test_every_panel_has_four_ticks_inside_the_figure(results):
    problems = []
    for fid, fig in report_figures(results).items():
        renderer = fig.canvas.get_renderer()
        fig.draw(renderer)
        for i, ax in enumerate(fig.axes):
            if ax.get_label() == "<colorbar>" or not ax.axison:
                continue
            for name in "xy":
                labels = _labelled_ticks(ax, name, renderer)
                for label in labels:
                    box = label.get_window_extent(renderer)
                    if box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > fig.bbox.width + 0.5 or box.y1 > fig.bbox.height + 0.5:
                        problems.append(f"{fid} panel {i}: {name} label {label.get_text()!r} is cut by the edge")
                if not _categorical(ax.xaxis if name == "x" else ax.yaxis) and len(labels) < 4:
                    problems.append(f"{fid} panel {i} ({ax.get_title()!r}): {len(labels)} {name} ticks")
    assert not problems, "\n".join(problems)


def test_two_learning_rates_make_a_table_three_a_curve(results):
    report, _ = build_report(results)
    section = next(s for s in report.sections if s.id == "lr")
    tables = [b for b in section.blocks if isinstance(b, Table)]
    assert len(tables) == 1 and set(tables[0].frame["optimizer"]) == {"adam"}
    assert sorted(set(tables[0].frame["learning_rate"])) == ["0.01", "0.1"]
    figures = [b for b in section.blocks if not isinstance(b, Table)]
    legend = figures[0].figure.legends[0]
    names = {t.get_text() for t in legend.get_texts()}
    assert "gd" in names and not any(n.startswith("adam") for n in names)
