"""Curation: the domain logic behind the studio (one small module per concept; the tabs only call these)."""
