"""The published site: a static site of every configuration's confidence (site.py), its
pages (pages.py) and badges (badge.py)."""
