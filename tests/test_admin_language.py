def test_admin_pages_offer_language_switch(admin_client):
    response = admin_client.get("/admin/")

    assert response.status_code == 200
    assert b'id="admin-language"' in response.content
    assert b'name="language"' in response.content


def test_admin_switches_to_english(admin_client):
    admin_client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})

    response = admin_client.get("/admin/")

    assert b"Westgarden staff administration" in response.content
