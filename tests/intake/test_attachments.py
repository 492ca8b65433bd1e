"""Files on a case: the customer sends photos from the tracking page, staff attach files to
notes and messages. Judged by content, not name; limited in size and number; stored outside the
web root; served only to who may see them."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from complaints import customer_actions, services
from complaints.attachments import sniff
from complaints.errors import InvalidInput
from complaints.models import Attachment, CaseEvent

from ..factories import CustomerFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64


def upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def tracked(client, agent):
    received = services.case_receive(
        by=agent,
        customer=CustomerFactory(),
        channel="phone",
        category="product_quality",
        description="The kettle leaks.",
        desired_outcome="A new kettle.",
    )
    assert client.get(f"/t/{received.tracking_token}").status_code == 303
    return received.case


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (PDF, "application/pdf"),
        (b"GIF89a" + b"\x00" * 10, "image/gif"),
        (WEBP, "image/webp"),
        (b"<html><script>alert(1)</script>", None),
        (b"MZ\x90\x00", None),
        (b"", None),
    ],
)
def test_a_files_type_is_read_from_its_content(content, expected):
    assert sniff(content[:16]) == expected


def test_the_customer_sends_a_photo_with_a_message(client, tracked):
    response = client.post(
        "/t/message/",
        {"body": "Here it is.", "files": [upload("leak.png", PNG)]},
        follow=True,
    )

    assert response.status_code == 200
    [attachment] = Attachment.objects.filter(case=tracked)
    assert (attachment.name, attachment.content_type, attachment.size) == (
        "leak.png",
        "image/png",
        len(PNG),
    )
    assert attachment.event.kind == CaseEvent.Kind.CUSTOMER_MESSAGE
    assert "leak.png" in response.content.decode()


def test_a_photo_alone_is_a_message(client, tracked):
    client.post("/t/message/", {"body": "", "files": [upload("leak.jpg", JPEG)]})

    assert Attachment.objects.filter(case=tracked).count() == 1


def test_a_file_named_like_a_photo_but_not_one_is_refused(client, tracked):
    response = client.post(
        "/t/message/",
        {"body": "Photo", "files": [upload("leak.png", b"<script>alert(1)</script>")]},
    )

    assert response.status_code == 400
    assert "is not a file we can take" in response.content.decode()
    assert not Attachment.objects.exists()
    assert not tracked.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


def test_a_file_over_the_size_limit_is_refused(client, tracked, settings):
    settings.ATTACHMENT_MAX_BYTES = 50

    response = client.post("/t/message/", {"body": "Big", "files": [upload("big.png", PNG)]})

    assert response.status_code == 400
    assert "too big" in response.content.decode()
    assert not Attachment.objects.exists()


def test_a_case_takes_only_so_many_files(tracked, settings):
    settings.ATTACHMENTS_PER_CASE = 2

    with pytest.raises(InvalidInput):
        customer_actions.case_customer_message(
            case=tracked, body="", files=[upload(f"{i}.png", PNG) for i in range(3)]
        )

    assert not Attachment.objects.exists()


def test_the_stored_file_has_a_random_name_outside_the_web_root(tracked, settings):
    customer_actions.case_customer_message(
        case=tracked, body="", files=[upload("../../etc/x.png", PNG)]
    )

    attachment = Attachment.objects.get()
    assert attachment.name == "x.png"
    assert "x.png" not in attachment.file.name and ".." not in attachment.file.name
    assert attachment.file.path.startswith(str(settings.ATTACHMENTS_ROOT))
    assert not attachment.file.path.startswith(str(settings.STATIC_ROOT))


def test_the_customer_downloads_their_file_through_the_cookie(client, tracked):
    customer_actions.case_customer_message(case=tracked, body="", files=[upload("leak.pdf", PDF)])
    attachment = Attachment.objects.get()

    response = client.get(f"/t/files/{attachment.pk}/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"


def test_without_the_cookie_the_file_is_not_found(client, tracked):
    customer_actions.case_customer_message(case=tracked, body="", files=[upload("leak.png", PNG)])
    client.cookies.clear()

    assert client.get(f"/t/files/{Attachment.objects.get().pk}/").status_code == 404


def test_a_file_on_an_internal_note_is_never_served_to_the_customer(client, tracked, agent):
    services.case_add_note(case=tracked, by=agent, body="Invoice", files=[upload("i.pdf", PDF)])

    assert client.get(f"/t/files/{Attachment.objects.get().pk}/").status_code == 404
    assert "i.pdf" not in client.get("/t/").content.decode()


def test_another_cases_file_is_not_found(client, tracked, agent):
    other = services.case_receive(
        by=agent,
        customer=CustomerFactory(),
        channel="phone",
        category="safety",
        description="Other.",
        desired_outcome="Other.",
    )
    customer_actions.case_customer_message(case=other.case, body="", files=[upload("o.png", PNG)])

    assert client.get(f"/t/files/{Attachment.objects.get().pk}/").status_code == 404


def test_staff_attach_a_file_to_a_message_and_the_customer_gets_it(client, tracked, agent):
    services.case_add_note(
        case=tracked,
        by=agent,
        body="Your repair report.",
        customer_visible=True,
        files=[upload("report.pdf", PDF)],
    )
    attachment = Attachment.objects.get()

    assert "report.pdf" in client.get("/t/").content.decode()
    assert client.get(f"/t/files/{attachment.pk}/").status_code == 200


def test_staff_upload_from_the_case_page(client, tracked, agent):
    client.force_login(agent)

    response = client.post(
        f"/cases/{tracked.reference}/notes/",
        {"body": "Photo from the site visit", "files": [upload("site.jpg", JPEG)]},
    )

    assert response.status_code == 302
    attachment = Attachment.objects.get()
    page = client.get(f"/cases/{tracked.reference}/").content.decode()
    assert f"/cases/{tracked.reference}/files/{attachment.pk}/" in page


def test_staff_download_needs_access_to_the_case(client, tracked, agent, outsider):
    customer_actions.case_customer_message(case=tracked, body="", files=[upload("leak.png", PNG)])
    url = f"/cases/{tracked.reference}/files/{Attachment.objects.get().pk}/"

    client.force_login(agent)
    assert client.get(url).status_code == 200
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
