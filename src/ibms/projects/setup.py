"""Set-up data this app needs in every deployment (approval chains, value sets, rules), idempotent."""


def setup_app(years: list[int]) -> None:
    return None
