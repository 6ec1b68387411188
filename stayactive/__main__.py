"""``python -m stayactive`` runs the CLI."""

from stayactive.cli import main

main()
