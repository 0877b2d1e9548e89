"""A small browser-like HTTP client for the integration tests: cookies and CSRF."""

import http.cookiejar
import re
import urllib.parse
import urllib.request

HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


class Client:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str]:
        with self.opener.open(self.base_url + path, timeout=30) as response:
            return response.status, response.read().decode()

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, str, str]:
        """POST a form; return the status, the final URL and the body."""
        request = urllib.request.Request(
            self.base_url + path,
            data=urllib.parse.urlencode(fields).encode(),
            headers={"Referer": self.base_url + path},
        )
        with self.opener.open(request, timeout=30) as response:
            return response.status, response.url, response.read().decode()


def submit_report(
    client: Client, *, category_id: int, place_code: str, text: str
) -> str:
    """Fill in the public report form as a resident would; return the result page."""
    status, page = client.get(f"/report/?place={place_code}")
    assert status == 200
    fields = dict(HIDDEN_INPUT.findall(page))
    fields.update(
        category=str(category_id),
        place=place_code,
        description=text,
        website="",
        hide_name="on",
    )
    status, url, body = client.post("/report/", fields)
    assert status == 200
    assert url.endswith("/report/done/"), body[:2000]
    return body
