"""``python -m roicast``: the command line."""

from roicast.cli import main

main()
