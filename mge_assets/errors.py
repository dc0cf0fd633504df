"""The errors MGE raises on purpose: each names the problem and what to do about it."""


class MgeError(Exception):
    """Base of every error MGE raises deliberately; its message is meant for the user."""


class RequestError(MgeError):
    """A request document that cannot be accepted (malformed, unknown setting, unservable)."""


class SettingsError(MgeError):
    """A setting of MGE itself (environment, resource config) that is missing or wrong."""


class UnsafePathError(MgeError):
    """A path, usually given by a model, that would leave the directory it must stay in."""


class ModelOutputError(MgeError):
    """A model answer that cannot be used: empty, garbled, or not in the asked-for format."""


class ModelUnavailableError(MgeError):
    """The model API could not be reached or kept failing after the allowed retries."""


class BudgetExceededError(MgeError):
    """A model call was refused because it could push spend past the request's hard cap."""
