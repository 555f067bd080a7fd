"""`python -m landrelease`: the command line."""

from landrelease.cli import main

main()
