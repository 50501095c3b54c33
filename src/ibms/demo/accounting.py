"""The demo province's books: account sets for the demo units and the finance bureau, with vouchers."""


def load_demo_books() -> dict[str, int]:
    return {}
