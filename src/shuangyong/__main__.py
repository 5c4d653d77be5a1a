"""``python -m shuangyong`` runs the command line."""

from shuangyong.cli import main

main()
