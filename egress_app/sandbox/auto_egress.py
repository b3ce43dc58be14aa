"""LiveKit's own auto egress: CreateRoom's `egress` (`RoomEgress{room, participant, tracks}`).

As livekit/livekit (L:) does it:
- L:pkg/service/roommanager.go getOrCreateRoom: the `room` composite is started once the room is
  created (and only then: CreateRoom on a room that exists starts nothing), its room name forced
  to the room's; LiveKit failing to start it fails CreateRoom.
- L:pkg/service/roomallocator.go CreateRoom: `participant` and `tracks` are kept with the room
  (its RoomInternal) for the session.
- L:pkg/rtc/room.go onTrackPublished: a participant's egress starts when it publishes its first
  track (not when it joins); a track's egress for every track a non-egress participant
  publishes.
- L:pkg/rtc/egress.go startParticipantEgress / startTrackEgress / getFilePath: the requests
  built from the options; one LiveKit fails to start is reported by an egress_ended webhook
  with EGRESS_FAILED, its error and its request, never by CreateRoom.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from livekit.protocol import egress, models, room, webhook

from egress_app.sandbox.egresses import EgressManager
from egress_app.sandbox.errors import TwirpError
from egress_app.sandbox.webhooks import WebhookSender
from egress_app.sandbox.world import WorldEvent

# L:pkg/rtc/egress.go startTrackEgress copies these three (an aliOSS upload is dropped).
UPLOADS = ("s3", "gcp", "azure")


@dataclass
class _Session:
    sid: str
    participant: egress.AutoParticipantEgress | None
    tracks: egress.AutoTrackEgress | None
    published: set[str] = field(default_factory=set)  # identities that published a track


def track_filepath(filepath: str) -> str:
    """L:pkg/rtc/egress.go getFilePath: a name without `{track_id}` gets it before its
    extension (a folder, ending in /, is left as it is)."""
    if not filepath or filepath.endswith("/") or "{track_id}" in filepath:
        return filepath
    stem, dot, extension = filepath.partition(".")
    return f"{stem}-{{track_id}}{dot}{extension}"


class AutoEgress:
    """The rooms created with auto egress, and the egress their participants' tracks start."""

    def __init__(self, egresses: EgressManager, webhooks: WebhookSender) -> None:
        self.egresses = egresses
        self.webhooks = webhooks
        self.sessions: dict[str, _Session] = {}

    def room_created(self, created: models.Room, wanted: room.RoomEgress) -> None:
        participant = wanted.participant if wanted.HasField("participant") else None
        tracks = wanted.tracks if wanted.HasField("tracks") else None
        if participant is not None or tracks is not None:
            self.sessions[created.name] = _Session(created.sid, participant, tracks)
        if wanted.HasField("room"):
            request = egress.RoomCompositeEgressRequest()
            request.CopyFrom(wanted.room)
            request.room_name = created.name
            self.egresses.start(request)

    def on_world_event(self, event: WorldEvent) -> None:
        session = self.sessions.get(event.room.name)
        if session is None or session.sid != event.room.sid:
            return
        if event.name == "room_finished":
            del self.sessions[event.room.name]
        elif event.name == "track_published" and event.participant and event.track:
            self._published(session, event.room, event.participant, event.track)

    def _published(
        self,
        session: _Session,
        where: models.Room,
        participant: models.ParticipantInfo,
        track: models.TrackInfo,
    ) -> None:
        first = participant.identity not in session.published
        session.published.add(participant.identity)
        if first and session.participant is not None:
            self._start(
                where, "participant", _participant_request(session.participant, where, participant)
            )
        if session.tracks is not None:
            self._start(where, "track", _track_request(session.tracks, where, track))

    def _start(
        self,
        where: models.Room,
        field_name: str,
        request: egress.ParticipantEgressRequest | egress.TrackEgressRequest,
    ) -> None:
        try:
            self.egresses.start(request)
        except TwirpError as error:
            info = egress.EgressInfo(
                room_id=where.sid,
                room_name=where.name,
                status=egress.EgressStatus.EGRESS_FAILED,
                error=error.msg,
            )
            getattr(info, field_name).CopyFrom(request)
            self.webhooks.notify("egress_ended", webhook.WebhookEvent(egress_info=info))

    def reset(self) -> None:
        self.sessions.clear()


def _participant_request(
    options: egress.AutoParticipantEgress, where: models.Room, who: models.ParticipantInfo
) -> egress.ParticipantEgressRequest:
    request = egress.ParticipantEgressRequest(
        room_name=where.name,
        identity=who.identity,
        file_outputs=list(options.file_outputs),
        segment_outputs=list(options.segment_outputs),
    )
    if options.WhichOneof("options") == "advanced":
        request.advanced.CopyFrom(options.advanced)
    elif options.WhichOneof("options") == "preset":
        request.preset = options.preset
    return request


def _track_request(
    options: egress.AutoTrackEgress, where: models.Room, track: models.TrackInfo
) -> egress.TrackEgressRequest:
    output = egress.DirectFileOutput(filepath=track_filepath(options.filepath))
    which = options.WhichOneof("output")
    if which in UPLOADS:
        getattr(output, which).CopyFrom(getattr(options, which))
    return egress.TrackEgressRequest(room_name=where.name, track_id=track.sid, file=output)
