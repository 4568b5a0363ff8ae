"""Links: from the URLs posts carry to one row per article."""
