"""`python -m snapinfra_db` runs the command line (same as the `snapinfra-db` script)."""

from snapinfra_db.cli import main

main()
