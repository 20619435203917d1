"""The domain: the usage record, rejects, token categories, interchange field names and money.

The bottom of the house: every other package imports it, and it imports none of theirs.
"""
