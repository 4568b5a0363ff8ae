"""The Jinja2 environment shared by the site and the digest.

Users may override any template: a ``templates_dir`` in the config is searched first; ours stay
reachable as ``default:NAME`` so an override can extend the original.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)
from markupsafe import Markup

from feedbot.resources import resource_dir
from feedbot.sanitize import clean_html


def make_environment(zone: ZoneInfo, user_templates: Path | None = None) -> Environment:
    ours = FileSystemLoader(str(resource_dir("templates")))
    loaders: list[BaseLoader] = [FileSystemLoader(str(user_templates))] if user_templates else []
    loaders += [PrefixLoader({"default": ours}, delimiter=":"), ours]
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(("html", "xml"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # one build reads each template once; no stat() per page
        # Compiled templates kept between runs (in a private folder under the system's temp
        # folder, by template and source checksum): compiling them costs more than a small
        # incremental build.
        bytecode_cache=FileSystemBytecodeCache(),
    )

    def local(value: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(zone).strftime(fmt)

    env.filters["local"] = local
    env.filters["clean_html"] = lambda fragment: Markup(clean_html(fragment or ""))
    return env
