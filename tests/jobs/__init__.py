"""Egress job actions against the sandbox: shared secrets, configurations and helpers."""

from __future__ import annotations

import json
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from livekit.protocol import egress

from egress_app import actions
from egress_app.livekit import get_livekit_client
from egress_app.models import EgressJob, StorageProfile, StreamDestination
from egress_app.sandbox.testing import RunningSandbox

S3_SECRETS = {
    "access_key": "SECRET-jobs-accesskey-XYZ123",
    "secret": "SECRET-jobs-secret-XYZ123-abcdef",
    "proxy_password": "SECRET-jobs-proxypass-XYZ123",
}
STREAM_KEY = "SECRET-jobs-rtmp-key-XYZ123"
OTHER_KEY = "SECRET-jobs-other-key-XYZ123"
ADHOC_KEY = "SECRET-jobs-adhoc-key-XYZ123"
ADHOC = f"rtmp://live.example.com/app/{ADHOC_KEY}"
SECRETS = [*S3_SECRETS.values(), STREAM_KEY, OTHER_KEY, ADHOC_KEY]
BUCKET = "jobs-recordings"


def new_token() -> str:
    return str(uuid.uuid4())


def make_profile(actor: Any) -> StorageProfile:
    return actions.create_storage_profile(
        actor,
        name="Recordings",
        provider="s3",
        config={
            "bucket": BUCKET,
            "region": "eu-west-1",
            "proxy_url": "http://proxy.example.com:3128",
            "proxy_username": "rec",
        },
        secrets=S3_SECRETS,
    )


def make_destination(actor: Any, name: str = "YouTube", key: str = STREAM_KEY) -> StreamDestination:
    return actions.create_stream_destination(
        actor, name=name, server_url="rtmp://a.rtmp.youtube.com/live2", stream_key=key
    )


def file_config(profile: StorageProfile, room: str = "town-hall", **outputs: Any) -> dict[str, Any]:
    """A room composite recorded to an MP4 through `profile` (plus any other `outputs`)."""
    return {
        "api": "v1",
        "kind": "room_composite",
        "room_name": room,
        "room_composite": {"layout": "grid"},
        "outputs": {"file": {"filepath": "rec/{room_name}.mp4"}, **outputs},
        "storage_profile_id": profile.pk,
    }


def stream_config(*destinations: StreamDestination, room: str = "town-hall") -> dict[str, Any]:
    """A room composite streamed live, to the `destinations` and any ad-hoc URLs given."""
    return {
        "api": "v1",
        "kind": "room_composite",
        "room_name": room,
        "room_composite": {"layout": "grid"},
        "outputs": {"stream": {"destination_ids": [d.pk for d in destinations], "adhoc": []}},
    }


def start(actor: Any, config: dict[str, Any], **kwargs: Any) -> EgressJob:
    return actions.start_egress(actor, config, launch_token=new_token(), **kwargs)


def live(sandbox: RunningSandbox, job: EgressJob) -> EgressJob:
    """The job once LiveKit reports it ACTIVE."""
    assert job.egress_id
    info = sandbox.control.wait_for_status(job.egress_id, "ACTIVE")
    folded = actions.observe(info).job
    assert folded is not None
    return folded


def ended(sandbox: RunningSandbox, job: EgressJob, status: str = "COMPLETE") -> EgressJob:
    assert job.egress_id
    folded = actions.observe(sandbox.control.wait_for_status(job.egress_id, status)).job
    assert folded is not None
    return folded


def stopped(sandbox: RunningSandbox, actor: Any, job: EgressJob) -> EgressJob:
    """The job once it runs, stopped by `actor` and over (a finished job to retry)."""
    return ended(sandbox, actions.stop_egress(actor, live(sandbox, job)))


def stop_in_livekit(egress_id: str) -> egress.EgressInfo:
    """Stop an egress behind the dashboard's back."""
    return async_to_sync(get_livekit_client().stop_egress)(egress_id)


def started_outside(sandbox: RunningSandbox, room: str = "town-hall") -> EgressJob:
    """A recording started and stopped through LiveKit behind the dashboard's back (as auto
    egress or the CLI would), as the dashboard then knows it: an external job."""
    request = egress.RoomCompositeEgressRequest(
        room_name=room,
        layout="grid",
        file_outputs=[egress.EncodedFileOutput(filepath="elsewhere/{room_name}.mp4")],
    )
    info = async_to_sync(get_livekit_client().start_room_composite_egress)(request)
    sandbox.control.wait_for_status(info.egress_id, "ACTIVE")
    stop_in_livekit(info.egress_id)
    job = actions.observe(sandbox.control.wait_for_status(info.egress_id, "COMPLETE")).job
    assert job is not None
    assert job.external
    return job


def stored_text(job: EgressJob) -> str:
    """Everything a job keeps in the clear."""
    job.refresh_from_db()
    kept = [job.config, job.info, job.results, job.details, job.error, job.adhoc_outputs]
    return json.dumps(kept)


def assert_no_secrets(job: EgressJob) -> None:
    text = stored_text(job)
    for secret in SECRETS:
        assert secret not in text
