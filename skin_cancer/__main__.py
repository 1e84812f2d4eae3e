"""`python -m skin_cancer ...` is the same as the `skin-cancer` command."""

from .cli import main

raise SystemExit(main())
