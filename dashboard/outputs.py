"""A finished job's outputs on its page: what the store holds for each (a HEAD, an image
listing), the dashboard's own links to play and download them, and the signed URLs those links
redirect to. The page only ever holds the dashboard's links: each request checks who asks and
signs a fresh URL, so a page left open never holds an expired one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

from egress_app import actions, job_outputs
from egress_app.job_outputs import NoStore, Output
from egress_app.models import EgressJob
from egress_app.storage import objects
from egress_app.storage.objects import Found, ObjectError, Store

URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')


@dataclass
class Shown:
    """One output as the page shows it."""

    output: Output
    found: Found | None = None
    thumbnails: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def playable(self) -> bool:
        return self.found is not None and bool(self.found.size) and not self.error


def object_url(job: EgressJob, key: str) -> str:
    """The dashboard's link to one object of the job (a segment, a thumbnail): the key is
    signed with the job so only keys the dashboard handed out for it can be asked for."""
    token = signing.dumps(key, salt=_salt(job.pk))
    return reverse("dashboard-job-object", args=[job.pk, token])


def object_key(job: EgressJob, token: str) -> str | None:
    try:
        return str(signing.loads(token, salt=_salt(job.pk)))
    except signing.BadSignature:
        return None


def _salt(pk: int) -> str:
    return f"dashboard.outputs.object:{pk}"


def signed(store: Store, key: str, *, download: bool = False) -> str:
    return objects.signed_url(store, key, seconds=settings.SIGNED_URL_SECONDS, download=download)


def shown_outputs(job: EgressJob) -> dict[str, Any]:
    """The outputs part of the job page: each output with what the store says of it."""
    found = job_outputs.outputs(job)
    if not found:
        return {"job": job, "shown": []}
    try:
        store = job_outputs.store(job)
    except NoStore as reason:
        return {"job": job, "shown": [Shown(o) for o in found], "no_store": str(reason)}
    heads = objects.heads(store, [o.key for o in found if o.kind != "images"])
    shown = [_shown(job, store, o, heads) for o in found]
    sizes = {o.key: heads[o.key].size for o in found if o.kind == "file" and not heads[o.key].error}
    if sizes:
        actions.record_output_sizes(job, sizes)
    return {"job": job, "shown": shown}


def _shown(job: EgressJob, store: Store, output: Output, heads: dict[str, Found]) -> Shown:
    if output.kind != "images":
        return Shown(output, heads[output.key])
    try:
        keys = objects.keys(store, output.key, job_outputs.IMAGES_SHOWN * 2)
    except ObjectError as error:
        return Shown(output, error=str(error))
    images = [key for key in keys if job_outputs.is_image(key)][: job_outputs.IMAGES_SHOWN]
    return Shown(output, Found(len(images)), [object_url(job, key) for key in images])


def playlist(job: EgressJob, store: Store, output: Output) -> str:
    """The HLS playlist with each segment (and map) URI made the dashboard's own link."""
    text = objects.read_small(store, output.key).decode("utf-8", errors="replace")

    def link(uri: str) -> str:
        key = job_outputs.segment_key(output.key, uri)
        return uri if key is None else object_url(job, key)

    lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            lines.append(URI_ATTRIBUTE.sub(lambda m: f'URI="{link(m.group(1))}"', line))
        else:
            lines.append(link(line.strip()) if line.strip() else line)
    return "\n".join(lines) + "\n"


def media_origin(job: EgressJob) -> str | None:
    """The origin the job's signed URLs point at, for the page's Content-Security-Policy
    (the media, thumbnails and HLS requests follow redirects there); None without a store.
    A running job's page gets it too: its recordings appear there when it ends."""
    if job.storage_profile_id is None:
        return None
    try:
        return objects.origin(job_outputs.store(job))
    except NoStore:
        return None
