"""The API's contract and its checks (auth, uploads, history), in process, without running any scan."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from tests.report.helpers import astronaut_video
from tests.web.webtools import auth

from mimica.scan.result import ScanResult

SOME_ID = "0" * 32


def png(w: int = 64, h: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), 120, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def gif() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="GIF")
    return buf.getvalue()


def upload(client, token: str | None, data: bytes, name: str = "a.png", field: str = "file"):  # type: ignore[no-untyped-def]
    return client.post("/api/scans", files={field: (name, data, "application/octet-stream")},
                       headers=auth(token) if token else {})


def test_healthz_needs_no_credentials(make_client):
    client, _ = make_client()
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/scans"), ("GET", f"/api/scans/{SOME_ID}"), ("GET", f"/api/scans/{SOME_ID}/report"),
    ("DELETE", f"/api/scans/{SOME_ID}"), ("POST", "/api/scans"), ("GET", "/openapi.json"),
])
@pytest.mark.parametrize("token", [None, "mimica_wrong", ""])
def test_api_answers_401_without_valid_credentials(make_client, method, path, token):
    client, _ = make_client()
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    r = client.request(method, path, headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert isinstance(r.json()["detail"], str)


def test_revoked_token_is_refused(make_client):
    client, token = make_client()
    assert client.get("/api/scans", headers=auth(token)).status_code == 200
    store = client.app.state.store
    store.revoke_token(store.verify_token(token))
    assert client.get("/api/scans", headers=auth(token)).status_code == 401


@pytest.mark.parametrize("path", ["/", "/docs", f"/scans/{SOME_ID}", "/?q=a%20b"])
def test_pages_send_you_to_sign_in(make_client, path):
    client, _ = make_client()
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_sign_in_opens_a_signed_httponly_session(make_client):
    client, token = make_client()
    r = client.post("/login", data={"token": "mimica_nope", "next": "/"}, follow_redirects=False)
    assert r.status_code == 401 and "not valid" in r.text
    r = client.post("/login", data={"token": token, "next": "/?q=x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?q=x"
    cookie = r.headers["set-cookie"]
    assert "mimica_session=" in cookie and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert client.get("/").status_code == 200
    assert client.get("/api/scans").status_code == 200  # the session works for the API too
    # a cookie-authenticated write from another site is refused; from our own pages it goes through
    assert upload_with_origin(client, "http://evil.example").status_code == 403
    assert upload_with_origin(client, "http://testserver").status_code == 202
    client.post("/logout")
    assert client.get("/api/scans").status_code == 401


def upload_with_origin(client, origin: str):  # type: ignore[no-untyped-def]
    return client.post("/api/scans", files={"file": ("a.png", png(), "image/png")}, headers={"Origin": origin})


def test_tampered_session_cookie_is_ignored(make_client):
    client, token = make_client()
    client.post("/login", data={"token": token})
    value = client.cookies["mimica_session"]
    client.cookies.set("mimica_session", value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"))
    assert client.get("/api/scans").status_code == 401


def test_revoking_a_token_ends_its_browser_sessions(make_client):
    client, token = make_client()
    client.post("/login", data={"token": token})
    assert client.get("/api/scans").status_code == 200
    store = client.app.state.store
    store.revoke_token(store.verify_token(token))
    assert client.get("/api/scans").status_code == 401


@pytest.mark.parametrize("next_url", ["//evil.example/", "https://evil.example/", "javascript:alert(1)", "/\\evil"])
def test_sign_in_never_redirects_off_site(make_client, next_url):
    client, token = make_client()
    r = client.post("/login", data={"token": token, "next": next_url}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_upload_is_judged_by_content_and_stored_under_our_name(make_client):
    client, token = make_client()
    r = upload(client, token, png(), name="../../etc/passwd.txt")
    assert r.status_code == 202, r.text
    scan_id = r.json()["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", scan_id) and r.headers["location"] == f"/api/scans/{scan_id}"
    body = client.get(f"/api/scans/{scan_id}", headers=auth(token)).json()
    assert body["status"] == "queued" and body["filename"] == "passwd.txt"
    assert body["result"] is None and body["error"] is None
    data_dir = client.app.state.settings.data_dir
    assert sorted(p.name for p in (data_dir / "uploads").iterdir()) == [f"{scan_id}.png"]
    assert not (data_dir.parent / "etc").exists()


@pytest.mark.parametrize("data, why", [
    (b"just some text, not media\n" * 10, "not an image or video"),
    (gif(), "GIF is not supported"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, "HEIC/AVIF"),
    (b"%PDF-1.7\n" + b"x" * 100, "not an image or video"),
])
def test_wrong_type_is_415(make_client, data, why):
    client, token = make_client()
    r = upload(client, token, data, name="holiday.mp4")  # the extension claims a video: it does not matter
    assert r.status_code == 415, r.text
    assert why in r.json()["detail"]
    assert not any((client.app.state.settings.data_dir / "uploads").iterdir())


def test_not_multipart_is_415(make_client):
    client, token = make_client()
    r = client.post("/api/scans", content=png(), headers={**auth(token), "Content-Type": "image/png"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]


@pytest.mark.parametrize("data, field, why", [
    (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x01" * 500, "file", "holiday.mp4"),
    (png()[:60], "file", "holiday.mp4"),  # a PNG cut short
    (b"", "file", "empty"),
    (png(), "upload", "no file in the form field 'file'"),
])
def test_unreadable_or_missing_file_is_422(make_client, data, field, why):
    client, token = make_client()
    r = upload(client, token, data, name="holiday.mp4", field=field)
    assert r.status_code == 422, r.text
    assert why in r.json()["detail"]
    assert "uploads" not in r.json()["detail"]  # our storage path never leaks into messages
    assert not any((client.app.state.settings.data_dir / "uploads").iterdir())


def test_oversize_upload_is_413_and_leaves_nothing(make_client):
    client, token = make_client(max_upload_bytes=2000)
    r = upload(client, token, png(400, 400) + b"\x00" * 5000)
    assert r.status_code == 413 and "2000" not in r.json()["detail"] and "MB limit" in r.json()["detail"]
    # announced too large: refused before the body is read
    r = client.post("/api/scans", content=b"x" * 100_000,
                    headers={**auth(token), "Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413
    assert not any((client.app.state.settings.data_dir / "uploads").iterdir())


def test_streamed_upload_without_length_is_cut_at_the_limit(make_client):
    """A chunked body (no Content-Length) is counted as it streams in."""
    client, token = make_client(max_upload_bytes=10_000)
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()

    def body():  # type: ignore[no-untyped-def]
        yield head
        for _ in range(100):
            yield b"\x00" * 1000
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post("/api/scans", content=body(),
                    headers={**auth(token), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413


def test_resolution_and_duration_limits_are_413(make_client, tmp_path):
    client, token = make_client(max_pixels=100_000, max_duration_s=0.5)
    r = upload(client, token, png(400, 300), name="big.png")
    assert r.status_code == 413 and "400x300" in r.json()["detail"]
    video = astronaut_video(tmp_path / "v.mp4", seconds=1.0, fps=10, size=96)
    r = upload(client, token, video.read_bytes(), name="long.mp4")
    assert r.status_code == 413 and "longer than the 0.5 s limit" in r.json()["detail"]


def test_queue_full_is_503(make_client):
    client, token = make_client(max_queue=1)
    assert upload(client, token, png()).status_code == 202
    r = upload(client, token, png())
    assert r.status_code == 503 and r.headers["retry-after"]


def test_history_search_and_delete(make_client):
    client, token = make_client()
    ids = {name: upload(client, token, png(), name=name).json()["id"]
           for name in ("beach_party.png", "interview 100%.png", "news_clip.png")}
    store = client.app.state.store
    for name, verdict in (("beach_party.png", "fake"), ("news_clip.png", "real")):
        store.claim(ids[name])
        p = 0.9 if verdict == "fake" else 0.1
        store.finish(ids[name], ScanResult(path=name, verdict=verdict, probability=p).model_dump_json(),
                     verdict, p, None)

    def names(**params):  # type: ignore[no-untyped-def]
        r = client.get("/api/scans", params=params, headers=auth(token))
        assert r.status_code == 200, r.text
        return [i["filename"] for i in r.json()["items"]]

    assert sorted(names()) == sorted(ids)
    assert names(q="CLIP") == ["news_clip.png"]
    assert names(q="100%") == ["interview 100%.png"]  # LIKE wildcards are literal
    assert names(q="_") == ["news_clip.png", "beach_party.png"]
    assert names(verdict="fake") == ["beach_party.png"]
    assert names(status="queued") == ["interview 100%.png"]
    assert client.get("/api/scans", params={"verdict": "maybe"}, headers=auth(token)).status_code == 422
    page = client.get("/", params={"q": "beach"}, headers=auth(token)).text
    assert "beach_party.png" in page and "news_clip.png" not in page
    # the list says the verdict in the results page's words: no reliability measured, so never a bare "fake"
    assert '<span class="pill fake" data-verdict="fake">leans fake &middot; score 0.90</span>' in page
    # the filter offers the same words (the shipped model is weak): no bare "fake" or "real" to choose from
    options = re.findall(r'<option value="([a-z-]*)"[^>]*>([^<]+)</option>', page.split('name="verdict"', 1)[1]
                         .split("</select>", 1)[0])
    assert options == [("", "any verdict"), ("fake", "leans fake"), ("uncertain", "uncertain"),
                       ("real", "leans real"), ("no-face", "no face")]

    gone = ids["interview 100%.png"]
    assert client.delete(f"/api/scans/{gone}", headers=auth(token)).status_code == 204
    assert client.get(f"/api/scans/{gone}", headers=auth(token)).status_code == 404
    assert client.delete(f"/api/scans/{gone}", headers=auth(token)).status_code == 404
    assert not list((client.app.state.settings.data_dir / "uploads").glob(f"{gone}.*"))
    # a finished scan without a report says why; a queued one is not ready
    assert client.get(f"/api/scans/{ids['news_clip.png']}/report", headers=auth(token)).status_code == 404


def test_history_filter_follows_the_model(make_client, tmp_path):
    """A model measured reliable may offer the bare words; the words come from mimica.scan.aggregate.verdict_text."""
    from tests.report.helpers import tiny_model, video_metrics

    card = tiny_model(tmp_path / "m", name="good", metrics=video_metrics(0.95, (0.9, 0.98), n=300))
    client, token = make_client(model=str(card))
    page = client.get("/", headers=auth(token)).text
    assert '<option value="fake">fake</option>' in page and '<option value="real">real</option>' in page


def test_unknown_or_malformed_ids_are_404(make_client):
    client, token = make_client()
    for scan_id in (SOME_ID, "../../etc/passwd", "x" * 32):
        assert client.get(f"/api/scans/{scan_id}", headers=auth(token)).status_code == 404


def test_openapi_documents_the_contract(make_client):
    client, token = make_client()
    spec = client.get("/openapi.json", headers=auth(token)).json()
    post = spec["paths"]["/api/scans"]["post"]
    assert "file" in post["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"202", "401", "413", "415", "422"} <= set(post["responses"])
    assert {"/healthz", "/api/scans/{scan_id}", "/api/scans/{scan_id}/report"} <= set(spec["paths"])
    status = spec["components"]["schemas"]["ScanOut"]["properties"]["status"]
    assert set(status["enum"]) == {"queued", "running", "done", "failed"}
    assert any(s.get("scheme") == "bearer" for s in spec["components"]["securitySchemes"].values())
    assert "/login" not in spec["paths"] and "/" not in spec["paths"]
    docs = client.get("/docs", headers=auth(token))
    assert docs.status_code == 200
    # Swagger UI is served from the package, not a CDN: the page works offline
    assert "cdn" not in docs.text.lower() and "/swagger-ui/swagger-ui-bundle.js" in docs.text
    js = client.get("/swagger-ui/swagger-ui-bundle.js", headers=auth(token))
    assert js.status_code == 200 and len(js.content) > 100_000


def test_security_headers(make_client):
    client, token = make_client()
    r = client.get("/", headers=auth(token))
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_no_auth_mode_needs_no_token(make_client):
    client, _ = make_client(auth=False)
    assert client.get("/api/scans").status_code == 200
    assert client.get("/").status_code == 200
    assert upload(client, None, png()).status_code == 202


def test_page_upload_shows_errors_in_the_page(make_client):
    client, token = make_client()
    client.post("/login", data={"token": token})
    r = client.post("/scans", files={"file": ("notes.txt", b"hello" * 50, "text/plain")})
    assert r.status_code == 415 and "not an image or video" in r.text and "<form" in r.text
    r = client.post("/scans", files={"file": ("a.png", png(), "image/png")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/scans/")
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "a.png" in page.text and 'data-poll="' in page.text


def test_a_session_does_not_outlive_its_database(make_client, tmp_path):
    """A new database whose token 1 is someone else's must not honour a cookie signed for the old token 1."""
    client, token = make_client()
    client.post("/login", data={"token": token})
    assert client.get("/api/scans").status_code == 200
    store = client.app.state.store
    with store.connect() as con:
        # token 1 is now a different token (a hash that already starts with "f" gets a "0": no flaky no-op)
        con.execute("UPDATE tokens SET hash = (CASE WHEN hash LIKE 'f%' THEN '0' ELSE 'f' END) || substr(hash, 2)")
    assert client.get("/api/scans").status_code == 401


def test_results_page_words_score_and_what_the_model_never_saw(make_client):
    """The results page shows the wording function's words, "score" (not "p ="), and, for a verdict that leans
    real, the kinds of fakes the model's card says it was never measured on."""
    from mimica.models.reliability import Reliability

    client, token = make_client()
    job = upload(client, token, png(), name="portrait.png").json()["id"]
    store = client.app.state.store
    store.claim(job)
    rel = Reliability(level="weak", auc=0.7, not_measured_on=["fully generated faces"])
    result = ScanResult(path="portrait.png", verdict="real", probability=0.2, reliability=rel,
                        reason="decided by the one face in the picture")
    store.finish(job, result.model_dump_json(), "real", 0.2, None)
    page = client.get(f"/scans/{job}", headers=auth(token)).text
    verdict = page.split('id="verdict"', 1)[1].split("</p>", 1)[0]
    assert ">LEANS REAL <span>score 0.20</span>" in verdict and "p =" not in page
    assert "never measured on fully generated faces" in page.split('id="not-measured"', 1)[1].split("</p>", 1)[0]


def test_results_page_names_each_detector_and_the_deciding_one(make_client):
    from mimica.scan.result import DetectorVerdict

    client, token = make_client()
    scan_id = upload(client, token, png(), name="talking.png").json()["id"]
    store = client.app.state.store
    store.claim(scan_id)
    found = [DetectorVerdict(name="mimica-sbi-v2", label="blend detector", probability=0.3, verdict="real",
                             words="no sign of a pasted face"),
             DetectorVerdict(name="mimica-gen-v1", label="generated-face detector", probability=0.95,
                             verdict="fake", words="likely generated")]
    result = ScanResult(path="talking.png", verdict="fake", probability=0.95, detectors=found,
                        decided_by="mimica-gen-v1")
    store.finish(scan_id, result.model_dump_json(), "fake", 0.95, None)
    page = client.get(f"/scans/{scan_id}", headers=auth(token)).text
    assert 'id="detectors"' in page
    assert "generated-face detector:</strong> likely generated (score 0.95) &mdash; this one set the verdict" in page
    assert "blend detector:</strong> no sign of a pasted face (score 0.30)</li>" in page
