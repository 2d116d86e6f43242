"""A figure job's work: draw each of its figures from its tables and save it."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from ..errors import UserError
from ..figures import FIGURE
from ..tables import read_table
from .style import note_experiment, save_figure

logger = logging.getLogger(__name__)


def draw_figures(
    figures: Sequence[Mapping[str, str]],
    tables: Mapping[str, str],
    pngs: Sequence[str],
    pdfs: Sequence[str],
) -> None:
    """Draw every figure (`target`, registry entry `draw`, `note` under its title) into its
    PNG and PDF, in order. A figure that fails is logged with its traceback and the others
    are still drawn; then the job fails naming each failed figure."""
    failed = []
    for figure, png, pdf in zip(figures, pngs, pdfs, strict=True):
        spec = FIGURE[figure["draw"]]
        try:
            drawn = spec.draw_function()(*[read_table(tables[t]) for t in spec.tables])
            note_experiment(drawn, figure["note"])
            save_figure(drawn, png, pdf)
        except Exception:
            logger.exception("figure %s failed", figure["target"])
            failed.append(figure["target"])
        else:
            logger.info("drew %s", figure["target"])
    if failed:
        raise UserError(f"{len(failed)} figure(s) failed: {', '.join(failed)} (tracebacks above)")
