"""#14's acceptance: against genai-prices on 3,000 seeded random standard-tier records over
every token-priced model it has for the providers llmaudit prices (each logged with its
provider), llmaudit agrees within 0.01% on at least 99%. The differences left are the ones
docs/pricing.md lists, each with the price fact behind it."""

from __future__ import annotations

from oracle import compare

SEED = 2026
# Models genai-prices reaches only by a prefix rule, with no exact name: llmaudit, which
# matches exact names only, cannot be asked about them by a name genai-prices resolves
# (docs/pricing.md, "Against genai-prices").
NO_EXACT_NAME = ["mistral/magistral-small"]


def test_llmaudit_agrees_with_genai_prices_on_3000_records():
    outcomes, unnamed = compare(SEED, 3000)
    assert unnamed == NO_EXACT_NAME
    assert len(outcomes) == 3000
    disagree = [o for o in outcomes if not o.agrees]
    share = 1 - len(disagree) / len(outcomes)
    assert share >= 0.99, [(o.provider, o.name, o.theirs, o.ours, o.note) for o in disagree[:20]]
    # every route is in the sample, each priced at its own price
    assert {o.provider for o in outcomes} == {
        "openai", "anthropic", "google", "mistral", "deepseek", "xai", "cohere", "groq",
        "bedrock", "azure", "together", "fireworks", "openrouter",
    }  # fmt: skip
    assert disagree == []
