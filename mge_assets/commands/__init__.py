"""The `mge` command families beyond the basics of `mge_assets.cli`, and what every command shares:
the instance the CLI uses and how a request file is submitted to it."""
