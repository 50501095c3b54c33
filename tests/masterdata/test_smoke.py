from ibms.core.verify import run_all


def test_demo_base_is_consistent(db):
    results = run_all()
    assert all(not problems for problems in results.values()), results


def test_unit_user_sees_only_own_unit(client_as):
    resp = client_as("school_clerk").get("/api/v1/masterdata/units/")
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == 1 and body["items"][0]["code"] == "001001"
