"""The guide as structured text and the facts the rules need, validated at load.

Everything the bot says about calves and ankles comes from here: the cleaned guide
(:mod:`knowledge.guide`) and typed data that names the guide section it comes from
(:mod:`knowledge.facts`).
"""

from knowledge.guide import Guide, Section, load_guide

__all__ = ["Guide", "Section", "load_guide"]
