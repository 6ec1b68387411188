"""``stayactive validate …``: validation against the simulator's ground truth, from scratch."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Validate analytics against simulated ground truth; print measured errors.",
    no_args_is_help=True,
)
