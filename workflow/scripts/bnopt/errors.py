"""Errors whose message tells the user everything: jobs show them without a traceback."""


class UserError(Exception):
    """A problem of the user's inputs or machine (config, data, device, disk), not a bug.

    The message names the file, key or device concerned and what to do about it.
    """
