"""Before deploy: offline token counts, cost estimates of prompts, and the CI cost gate."""
