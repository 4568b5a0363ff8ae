"""Publishing: the static site, the RSS/Atom/JSON feeds and the email digest.

Each builds every page's context first, then writes; the site is written into a temporary folder
and swapped in, so a failed build leaves the previous site intact.
"""
