from tests.factories import TenantFactory, member


def test_member_sees_dashboard(make_client, db_session):
    tenant = TenantFactory(name="Smoke AS")
    user = member(tenant)
    response = make_client(user).get(f"/t/{tenant.slug}/")
    assert response.status_code == 200
    assert "Smoke AS" in response.get_data(as_text=True)
