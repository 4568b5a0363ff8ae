"""The error tree. Library errors are translated into these at the boundary (``raise … from``)::

    FeedbotError
    ├── ConfigError            the config file is missing, unreadable or invalid
    ├── StoreError             the database cannot be opened, migrated or written
    ├── FetchError             a source could not be fetched
    │   ├── BlockedAddressError    the target is a private/loopback address and the guard is on
    │   └── ResponseTooLargeError  the response exceeded the size cap
    ├── ParseError             a fetched document is not a feed we can read
    └── PublishError           the site, feeds or digest could not be written

A run records a result per source: one failing source never stops the others. The CLI turns any
``FeedbotError`` into one line on stderr and a non-zero exit.
"""


class FeedbotError(Exception):
    """Base of every error feedbot raises on purpose."""


class ConfigError(FeedbotError):
    """The configuration cannot be used; the message names the file, key and expectation."""


class StoreError(FeedbotError):
    """The database cannot be opened, migrated or written."""


class FetchError(FeedbotError):
    """A source could not be fetched."""


class BlockedAddressError(FetchError):
    """The target resolves to a non-public address while the address guard is on."""


class ResponseTooLargeError(FetchError):
    """The response body exceeded the configured size cap."""


class ParseError(FeedbotError):
    """A fetched document is not a feed feedbot can read."""


class PublishError(FeedbotError):
    """The site, the feeds or the digest could not be written."""
