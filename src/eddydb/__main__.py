"""`python -m eddydb ...`: the same as the `eddydb` command (cli/main.py)."""
from eddydb.cli.main import main

if __name__ == "__main__":
    main()
