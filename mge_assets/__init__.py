"""MGE, the Masterplan Generation Engine: a request in, a generated and measured project out."""
