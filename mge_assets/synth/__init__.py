"""The offline synthesizer: spec-driven code from Jinja2 templates, answering like a model would."""
