"""Typed settings, loaded from TOML, with errors that name the file, the key and the expectation.

Every setting has a default and a description; ``feedbot init`` writes a commented starter file and
the README's configuration reference is checked against these models by the tests.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from feedbot.errors import ConfigError
from feedbot.links.canonical import DEFAULT_TRACKING_PARAMETERS
from feedbot.tagging.taxonomy import DEFAULT_TOPICS, TopicSettings

CONFIG_ENV = "FEEDBOT_CONFIG"
DATABASE_ENV = "DATABASE_URL"
DEFAULT_CONFIG_NAME = "feedbot.toml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(_Model):
    """How feedbot talks to the network. One client with this policy serves every request."""

    timeout_seconds: float = Field(20.0, gt=0, description="Total time allowed for one response.")
    connect_timeout_seconds: float = Field(10.0, gt=0, description="Time allowed to connect.")
    max_connections: int = Field(64, ge=1, description="Open connections at once, all hosts.")
    max_per_host: int = Field(4, ge=1, description="Requests in flight at once to one host.")
    max_response_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest response body read, after decompression."
    )
    retries: int = Field(2, ge=0, le=10, description="Retries after a timeout, 5xx or 429.")
    backoff_seconds: float = Field(0.5, ge=0, description="First retry delay; doubles each try.")
    max_retry_after_seconds: float = Field(
        60.0, ge=0, description="Longest Retry-After honoured within one run; longer is a failure."
    )
    max_redirects: int = Field(10, ge=0, le=30, description="Redirects followed per request.")
    min_host_interval_seconds: float = Field(
        0.1, ge=0, description="Least time between the starts of two requests to one host."
    )
    allow_private_networks: bool = Field(
        False,
        description="Allow loopback, private and link-local targets (off: refused as unsafe).",
    )
    contact_url: str = Field(
        "https://github.com/feedbot/feedbot",
        description="Where site owners can reach whoever runs this feedbot (in the User-Agent).",
    )
    user_agent: str = Field(
        "feedbot/{version} (+{contact})",
        description="User-Agent header; {version} and {contact} (contact_url) are filled in.",
    )


class LinkSettings(_Model):
    """How shared links are followed, canonicalized and read."""

    resolve: bool = Field(
        True, description="Follow every link to its article and read the page's metadata."
    )
    max_hops: int = Field(10, ge=1, le=30, description="Redirect hops followed per link.")
    page_bytes: int = Field(
        512 * 1024, ge=4096, description="Most of an article page read for its metadata."
    )
    tracking_parameters: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TRACKING_PARAMETERS),
        description="Query parameters removed from URLs; a trailing * makes a prefix (utm_*).",
    )
    retry_hours: float = Field(
        1.0, gt=0, description="Wait before retrying a link that failed; doubles each time."
    )
    workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Processes resolving a large backlog (0: one per core, at most 4).",
    )
    max_attempts: int = Field(
        6, ge=1, description="Tries before a failing link is left as it is (shown unresolved)."
    )


class SettingError(ValueError):
    """A bad value of one key inside a table whose keys are validated late (a source's
    kind-specific settings): :func:`_describe` adds the key to the location."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


GENERAL_SOURCE_KEYS = ("weight", "interval_minutes")  # checked against SourceSettings in tests


class SourceSettings(_Model):
    """One source to ingest. Besides these keys, a source takes the settings of its kind (see
    :mod:`feedbot.sources`), validated by the kind's own model."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(min_length=1, description="Unique display name of the source.")
    kind: str = Field(
        "feed",
        description="Source kind: 'feed' (RSS, Atom, JSON), 'arxiv', 'crossref', 'mastodon', "
        "'bluesky', 'page', 'x-archive', 'x-paste'.",
    )
    url: str | None = Field(
        None,
        description="The source's http(s) URL (a feed's URL; optional for kinds that build it).",
    )
    topics: list[str] = Field(
        default_factory=list, description="Topic ids every item of this source belongs to."
    )
    weight: float = Field(
        1.0,
        ge=0,
        le=100,
        description="How much the source's share counts when ranking the digest (2: twice).",
    )
    interval_minutes: float | None = Field(
        None, gt=0, description="How often to fetch it; default: schedule.interval_minutes."
    )
    _options: Any = PrivateAttr(None)

    @property
    def general(self) -> dict[str, Any]:
        """The settings every kind has beyond name, kind, URL and topics (``weight``,
        ``interval_minutes``…) that differ from their default: what an export must carry."""
        return self.model_dump(include=set(GENERAL_SOURCE_KEYS), exclude_defaults=True)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @model_validator(mode="before")
    @classmethod
    def _kind_settings(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        from feedbot.sources import registry

        kinds = registry()
        name = data.get("kind", "feed")
        kind = kinds.get(name) if isinstance(name, str) else None
        if kind is None:
            raise SettingError(
                "kind", f"unknown source kind {name!r}; known kinds are {', '.join(kinds)}"
            )
        common = set(cls.model_fields)
        extra = {key: value for key, value in data.items() if key not in common}
        if kind.options is None:
            if extra:
                key = next(iter(extra))
                raise SettingError(key, f"unknown setting for {_a(name)} source")
            options = None
        else:
            try:
                options = kind.options.model_validate(extra)
            except ValidationError as e:
                first = e.errors(include_url=False)[0]
                key = ".".join(str(part) for part in first["loc"])
                message = first["msg"].removeprefix("Value error, ")
                if first["type"] == "extra_forbidden":
                    message = f"unknown setting for {_a(name)} source"
                elif first["type"] == "missing":
                    message = f"required for {_a(name)} source"
                raise SettingError(key, message) from None
        data = {key: value for key, value in data.items() if key in common}
        if options is not None:
            data |= options.model_dump(mode="json", exclude_defaults=True)
        if not data.get("url") and (options is None or options.default_url() is None):
            raise SettingError("url", f"required for {_a(name)} source")
        return data

    @model_validator(mode="after")
    def _keep_options(self) -> SourceSettings:
        kind = _source_kind(self.kind)
        if kind.options is not None:
            self._options = kind.options.model_validate(self.model_extra or {})
        return self

    @property
    def options(self) -> dict[str, Any]:
        """The kind's settings, as JSON (defaults included); empty for kinds without any."""
        return self._options.model_dump(mode="json") if self._options is not None else {}

    @property
    def location(self) -> str:
        """The source's URL: ``url``, or the one its kind builds from its settings."""
        if self.url:
            return self.url
        built = self._options.default_url() if self._options is not None else None
        assert built, "validated sources have a URL"
        return str(built)


def _http_url(value: str | None) -> str | None:
    if value is not None and not re.match(r"^https?://[^\s/]+", value, re.IGNORECASE):
        raise ValueError("expected an http:// or https:// URL")
    return value


def _a(kind: str) -> str:
    """``'feed'`` → ``a 'feed'``; ``'arxiv'`` → ``an 'arxiv'``."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind!r}"


def _source_kind(name: str) -> Any:
    from feedbot.sources import registry

    return registry()[name]


class ResearchSettings(_Model):
    """DOIs and arXiv ids: where they are resolved to citations. The base URLs are settings so
    tests (and mirrors) can point elsewhere."""

    resolve: bool = Field(True, description="Turn DOIs and arXiv ids into full citations.")
    doi_base_url: str = Field(
        "https://doi.org", description="DOI resolver (content negotiation, CSL-JSON)."
    )
    crossref_base_url: str = Field(
        "https://api.crossref.org", description="Crossref REST API (fallback and search)."
    )
    arxiv_base_url: str = Field(
        "https://export.arxiv.org/api/query", description="arXiv API query endpoint (Atom)."
    )
    mailto: str | None = Field(
        None, description="Contact e-mail sent to Crossref: its 'polite pool' for identified users."
    )
    arxiv_interval_seconds: float = Field(
        3.0, ge=0, description="Least time between two arXiv API requests (arXiv asks for 3 s)."
    )
    retry_hours: float = Field(
        1.0,
        gt=0,
        description="Wait before retrying a failed lookup; doubles after each further failure.",
    )
    max_attempts: int = Field(
        6, ge=1, description="Tries before a failing lookup is left as it is (shown unresolved)."
    )


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {value!r}; expected e.g. 'Europe/Berlin'") from e
    return value


_ADDR_SPEC = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)
_NAMED_ADDRESS = re.compile(r"^(?P<name>[^<>\r\n]*?)\s*<(?P<addr>[^<>\s]+)>$")


def split_address(value: str) -> tuple[str, str]:
    """``"Ada <ada@example.org>"`` → ``("Ada", "ada@example.org")``; a bare address has no
    name. Raises ValueError for anything else: one address per value, never a header line."""
    text = value.strip()
    named = _NAMED_ADDRESS.match(text)
    name, addr = (named["name"].strip().strip('"'), named["addr"]) if named else ("", text)
    if not _ADDR_SPEC.match(addr):
        raise ValueError(f"{value!r} is not an e-mail address (expected a@example.org)")
    return name, addr


def _mail_address(value: str) -> str:
    split_address(value)
    return value.strip()


MailAddress = Annotated[str, AfterValidator(_mail_address)]


def _subject(value: str | None) -> str | None:
    try:
        (value or "").format(title="", date="", list="")
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(
            f"cannot fill in {value!r} ({e}); use {{title}}, {{date}} and {{list}}"
        ) from None
    return value


SubjectLine = Annotated[str, AfterValidator(_subject)]
DEFAULT_LIST = "daily"  # the list that digest.to makes


class SmtpSettings(_Model):
    """How the digest is sent. The password never sits in the config file: it is read from
    the environment variable ``password_env`` names, when the digest is sent."""

    host: str | None = Field(None, description="SMTP server; unset: 'digest send' needs --dry-run.")
    port: int | None = Field(
        None, ge=1, le=65535, description="Port; default 587 (starttls), 465 (tls) or 25 (none)."
    )
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="'starttls' (upgrade a plain connection; required), 'tls' (implicit TLS, "
        "SMTPS) or 'none' (loopback relays only; no login).",
    )
    username: str | None = Field(None, description="Login name; unset: no login.")
    password_env: str = Field(
        "FEEDBOT_SMTP_PASSWORD",
        min_length=1,
        description="Environment variable holding the login password.",
    )
    timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Time allowed for each connect, read and write."
    )
    ca_file: str | None = Field(
        None, description="PEM file of the CA that signed the server's certificate (private CAs)."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and "password" in data:
            raise SettingError(
                "password",
                "never put the password in the config file; set the environment variable "
                "that digest.smtp.password_env names",
            )
        return data

    @model_validator(mode="after")
    def _login_over_tls(self) -> SmtpSettings:
        if self.username and self.security == "none":
            raise SettingError("username", "a login needs security 'starttls' or 'tls'")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "none": 25}[self.security]


class DigestListSettings(_Model):
    """One mailing list of the digest: its recipients and what they want to read."""

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="Unique id (lowercase letters, digits, '-'), used in List-Id and status.",
    )
    title: str | None = Field(None, description="Display name (default: the name).")
    recipients: list[MailAddress] = Field(
        default_factory=list, description="Addresses, each sent its own message."
    )
    topics: list[str] = Field(
        default_factory=list, description="Topic ids to include; empty: every topic and none."
    )
    min_shared_by: int = Field(1, ge=1, description="Leave out items shared by fewer sources.")
    subject: SubjectLine | None = Field(None, description="Subject line (default: digest.subject).")

    @property
    def display_name(self) -> str:
        return self.title or self.name


class DigestSettings(_Model):
    """The daily email digest: what goes in it, to whom, when and through which server."""

    subject: SubjectLine = Field(
        "{title} — {date}",
        description="Subject line; {title}, {date} and {list} (the list's title) are filled in.",
    )
    from_address: MailAddress = Field("feedbot@localhost", description="From: address.")
    to: list[MailAddress] = Field(
        default_factory=list, description="Recipients of the default list 'daily' (all topics)."
    )
    max_items_per_topic: int = Field(50, ge=1, description="Items listed per topic at most.")
    send_at: str = Field("07:00", description="Local time (HH:MM) the digest of a day is sent at.")
    timezone: str | None = Field(
        None, description="IANA time zone of send_at; default: the top-level timezone."
    )
    empty: Literal["skip", "note"] = Field(
        "skip", description="A list with nothing new: 'skip' it, or send a short 'note'."
    )
    unsubscribe_mailto: MailAddress | None = Field(
        None, description="Address for List-Unsubscribe mailto: (default: from_address)."
    )
    unsubscribe_url: str | None = Field(
        None,
        description="List-Unsubscribe URL; {list} and {email} are filled in (URL-encoded).",
    )
    unsubscribe_one_click: bool = Field(
        False,
        description="Add List-Unsubscribe-Post (RFC 8058): the URL must accept a POST.",
    )
    lists: list[DigestListSettings] = Field(
        default_factory=list, description="The [[digest.lists]]: more lists of recipients."
    )
    smtp: SmtpSettings = Field(default_factory=SmtpSettings, description="The [digest.smtp] table.")

    @field_validator("send_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", value):
            raise ValueError("expected a 24-hour time HH:MM, e.g. '07:00'")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else _zone_name(value)

    @field_validator("unsubscribe_url")
    @classmethod
    def _unsubscribe_url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @model_validator(mode="after")
    def _consistent(self) -> DigestSettings:
        names = {DEFAULT_LIST} if self.to else set()
        for i, digest_list in enumerate(self.lists):
            if digest_list.name in names:
                taken = "the default list digest.to makes" if digest_list.name == DEFAULT_LIST \
                    else "another list"  # fmt: skip
                raise SettingError(f"lists[{i}].name", f"{digest_list.name!r} is {taken}")
            names.add(digest_list.name)
        if self.unsubscribe_one_click and not (self.unsubscribe_url or "").startswith("https://"):
            raise SettingError("unsubscribe_one_click", "needs an https:// unsubscribe_url")
        return self

    @property
    def all_lists(self) -> list[DigestListSettings]:
        """The lists in force: the default one of ``to`` (when set), then ``lists``."""
        default = [DigestListSettings(name=DEFAULT_LIST, recipients=self.to)] if self.to else []
        return default + list(self.lists)

    def zone(self, default: str) -> ZoneInfo:
        """The zone of ``send_at``: ``timezone``, else the top-level one (``default``)."""
        return ZoneInfo(self.timezone or default)


class ScheduleSettings(_Model):
    """When sources are fetched by ``feedbot run`` and ``feedbot worker`` (see
    :mod:`feedbot.schedule`), and how the processes sharing the work hold their sources."""

    interval_minutes: float = Field(
        60.0, gt=0, description="How often a source is fetched (a source's interval_minutes wins)."
    )
    min_interval_minutes: float = Field(
        5.0, ge=0, description="The floor: no source is fetched more often than this."
    )
    max_interval_hours: float = Field(
        24.0, gt=0, description="Longest wait: caps the backoff and servers' hints (ttl, max-age)."
    )
    jitter: float = Field(
        0.1, ge=0, le=0.5, description="Each wait varies by up to this fraction, per source."
    )
    pause_after_hours: float = Field(
        72.0, gt=0, description="A source failing for this long is paused until resumed."
    )
    lease_seconds: float = Field(
        300.0, ge=1, description="How long a claimed source stays claimed by a silent process."
    )
    claim_batch: int = Field(100, ge=1, le=10_000, description="Sources claimed at a time.")
    tick_seconds: float = Field(
        30.0, gt=0, description="How often feedbot run and workers look for due sources."
    )
    build_debounce_seconds: float = Field(
        60.0, ge=0, description="Wait after new items before rebuilding the site (batches them)."
    )
    workers_per_host: int | Literal["cpus", "unlimited"] = Field(
        "cpus",
        description=(
            'feedbot worker processes of one database fetching at once on one machine: "cpus" '
            '(one per CPU), a number, or "unlimited". More wait as standbys and take over a '
            "slot when a worker stops or dies."
        ),
    )

    @field_validator("workers_per_host", mode="before")
    @classmethod
    def _slots(cls, value: object) -> object:
        if value in ("cpus", "unlimited") or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 1
        ):
            return value
        raise ValueError('expected a number of at least 1, "cpus" or "unlimited"')


class Settings(_Model):
    """All of feedbot's settings. Relative paths are relative to the config file's folder."""

    title: str = Field("feedbot digest", description="Name of the site, feeds and digest.")
    base_url: str = Field(
        "http://localhost:8000/",
        description="Public URL where the site is served; used for absolute links in feeds.",
    )
    timezone: str = Field("UTC", description="IANA time zone for days of the site and digest.")
    database_url: str = Field(
        "sqlite:///feedbot.db",
        description="SQLAlchemy database URL; env DATABASE_URL overrides. SQLite or PostgreSQL.",
    )
    output_dir: str = Field("site", description="Folder the site and feeds are built into.")
    home_items: int = Field(50, ge=1, description="Items on the home page.")
    page_size: int = Field(
        50, ge=1, le=10_000, description="Items per page of the site's other pages and listings."
    )
    feed_items: int = Field(100, ge=1, description="Items in each RSS/Atom/JSON feed.")
    templates_dir: str | None = Field(
        None, description="Folder of templates that override feedbot's own, by file name."
    )
    http: HttpSettings = Field(default_factory=HttpSettings, description="The [http] table.")
    links: LinkSettings = Field(default_factory=LinkSettings, description="The [links] table.")
    research: ResearchSettings = Field(
        default_factory=ResearchSettings, description="The [research] table."
    )
    digest: DigestSettings = Field(
        default_factory=DigestSettings, description="The [digest] table."
    )
    schedule: ScheduleSettings = Field(
        default_factory=ScheduleSettings, description="The [schedule] table."
    )
    topics: list[TopicSettings] = Field(
        default_factory=lambda: list(DEFAULT_TOPICS), description="The [[topics]] taxonomy."
    )
    sources: list[SourceSettings] = Field(
        default_factory=list, description="The [[sources]] to ingest."
    )

    # Where the file was read from; not a TOML key.
    config_path: Annotated[Path | None, Field(exclude=True)] = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _zone_name(value)

    @field_validator("base_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError("expected an http:// or https:// URL")
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        names: set[str] = set()
        for i, source in enumerate(self.sources):
            if source.name.casefold() in names:
                raise ValueError(f"sources[{i}].name: duplicate source name {source.name!r}")
            names.add(source.name.casefold())
        topic_ids = [t.id for t in self.topics]
        if len(set(topic_ids)) != len(topic_ids):
            raise ValueError("topics: topic ids must be unique")
        for i, source in enumerate(self.sources):
            unknown = [t for t in source.topics if t not in topic_ids]
            if unknown:
                raise ValueError(
                    f"sources[{i}].topics: unknown topic {unknown[0]!r}; "
                    f"known topics are {', '.join(topic_ids) or 'none'}"
                )
        for i, digest_list in enumerate(self.digest.lists):
            unknown = [t for t in digest_list.topics if t not in topic_ids]
            if unknown:
                raise ValueError(
                    f"digest.lists[{i}].topics: unknown topic {unknown[0]!r}; "
                    f"known topics are {', '.join(topic_ids) or 'none'}"
                )
        return self

    @property
    def base_dir(self) -> Path:
        return self.config_path.parent if self.config_path else Path.cwd()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def output_path(self) -> Path:
        return (self.base_dir / self.output_dir).resolve()

    @property
    def templates_path(self) -> Path | None:
        return (self.base_dir / self.templates_dir).resolve() if self.templates_dir else None

    def resolved_database_url(self) -> str:
        """The database URL in force: env DATABASE_URL, else the config, with SQLite paths made
        relative to the config file's folder."""
        url = os.environ.get(DATABASE_ENV) or self.database_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and url != "sqlite:///:memory:":
            path = Path(url[len(prefix) :])
            if not path.is_absolute():
                url = prefix + str((self.base_dir / path).resolve())
        return url

    def user_agent(self) -> str:
        from feedbot import __version__

        agent = self.http.user_agent.replace("{version}", __version__)
        return agent.replace("{contact}", self.http.contact_url)


def default_config_path() -> Path:
    """``$FEEDBOT_CONFIG`` if set, else ``./feedbot.toml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME)


def load_settings(path: Path) -> Settings:
    """Read and validate ``path``. Raises :class:`ConfigError` with one readable line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found (run 'feedbot init' to write a starter)"
        ) from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config file: {e.strerror or e}") from e
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: config file is not UTF-8 text ({e.reason})") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from e
    return settings_from_dict(data, path)


def settings_from_dict(data: dict[str, Any], path: Path | None = None) -> Settings:
    """Validate a parsed config mapping; ``path`` only labels errors and anchors relative paths."""
    label = str(path) if path else "config"
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{label}: {_describe(e)}") from None
    return settings.model_copy(update={"config_path": path.resolve() if path else None})


def _describe(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    location = ""
    for part in first["loc"]:
        location += f"[{part}]" if isinstance(part, int) else (f".{part}" if location else part)
    message = first["msg"].removeprefix("Value error, ")
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, SettingError):
        location += f".{cause.key}" if cause.key else ""
        message = str(cause)
    if first["type"] == "extra_forbidden":
        message = "unknown setting (check its spelling and table)"
    elif first["type"] == "missing":
        message = "required setting is missing"
    got = first.get("input")
    if first["type"] not in {"missing", "extra_forbidden"} and not isinstance(got, dict | list):
        message += f" (got {got!r})"
    more = error.error_count() - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{location}: {message}{suffix}" if location else f"{message}{suffix}"
