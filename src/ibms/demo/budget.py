"""The demo province's budget for the current year: library projects, 两上两下, approval, indicators."""


def load_demo_budget() -> dict[str, int]:
    return {}
