"""ReportLab reads only the fonts and the app's static files while it makes a PDF, and no
URL: an image tag that reached Paragraph markup unescaped cannot read the server's files
or reach its network (issue 13), while the logo (bytes) and the fonts still work."""

from __future__ import annotations

import http.server
import io
import threading
from pathlib import Path

import pypdf
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader, open_for_read
from reportlab.platypus import Paragraph, SimpleDocTemplate

from saas.billing.documents import pdf, pdf_sandbox
from tests.unit.test_pdf import image_sizes, logo_png, printable, text


@pytest.fixture(autouse=True, scope="module")
def confined() -> None:
    pdf.register_fonts()  # what every PDF builder calls first


def build(markup: str) -> bytes:
    out = io.BytesIO()
    paragraph = Paragraph(markup, pdf._styles(pdf.DEFAULT_COLOR).body)
    SimpleDocTemplate(out, pagesize=A4).build([paragraph])
    return out.getvalue()


@pytest.fixture()
def a_png_outside(tmp_path) -> Path:
    """A real image outside the allowed directories (a secret the server keeps)."""
    path = tmp_path / "secret.png"
    Image.new("RGB", (20, 20), (200, 0, 0)).save(path, format="PNG")
    return path


@pytest.fixture()
def local_server():
    """A web server on loopback that counts the requests it gets."""
    hits: list[str] = []
    png = logo_png()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("src", ["/etc/passwd", "file:///etc/passwd",
                                 "../../../../etc/passwd"])
def test_an_image_tag_naming_a_server_file_is_refused(src):
    with pytest.raises(OSError, match="refused"):
        build(f'<img src="{src}" width="10" height="10"/>')


def test_an_image_file_outside_the_allowed_directories_is_refused(a_png_outside):
    with pytest.raises(OSError, match="refused"):
        build(f'<img src="{a_png_outside}" width="10" height="10"/>')
    with pytest.raises(OSError, match="refused"):  # through a symlink in the static dir
        link = pdf_sandbox.static_dir() / "test-sandbox-link.png"
        link.symlink_to(a_png_outside)
        try:
            open_for_read(str(link))
        finally:
            link.unlink()


def test_an_image_tag_naming_a_url_is_refused_without_a_request(local_server):
    base, hits = local_server
    for url in (f"{base}/x.png", base.replace("http:", "https:") + "/x.png",
                "data:image/png;base64,iVBORw0KGgo="):
        with pytest.raises(OSError, match="refused"):
            build(f'<img src="{url}" width="10" height="10"/>')
    with pytest.raises(OSError, match="refused"):
        ImageReader(f"{base}/direct.png")
    assert hits == []  # the server was never asked


def test_the_apps_static_files_and_in_memory_images_are_read():
    static = sorted(path for path in pdf_sandbox.static_dir().rglob("*") if path.is_file())
    assert static
    with open_for_read(str(static[0])) as read:
        assert read.read() == static[0].read_bytes()
    assert ImageReader(io.BytesIO(logo_png())).getSize() == (240, 80)


def test_the_logo_and_the_fonts_still_work():
    data = pdf.render_pdf(printable(logo=logo_png(), logo_mime="image/png", bank_accounts=()))
    assert image_sizes(data) == [(240, 80)]  # the logo, handed over as bytes
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in pypdf.PdfReader(io.BytesIO(data)).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("SourceSansPro" in name for name in fonts), fonts
    assert "Seller Ltd" in text(data)
