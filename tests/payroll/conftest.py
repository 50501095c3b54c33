import pytest


@pytest.fixture
def budget(user):
    return user("fin_budget")


@pytest.fixture
def clerk(user):
    return user("school_clerk")


@pytest.fixture
def reviewer(user):
    return user("school_reviewer")


@pytest.fixture
def head(user):
    return user("school_head")
