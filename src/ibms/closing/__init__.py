"""Year end (年终结账): the fiscal year's life cycle per region, carry-over (结转) and recall (结余), year-end
accounting, next year's books, and the final accounts (决算)."""
