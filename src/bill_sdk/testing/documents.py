"""Bill documents: raw-bytes upload, then asynchronous processing observed through the upload status.

``uploadBillDocument`` answers a temporary upload id (``0du...``). The first status poll of that id reports it
still processing (IN_PROGRESS); the next reports UPLOADED with the finished document's id (``00h...``), which
from then on is listed under the bill and readable with ``getDocument``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bill_sdk.testing.schemas import now_iso
from bill_sdk.testing.state import Record, State

UPLOADS = "documents/uploads"
DOCUMENTS = "documents/bills"
PROCESSING = ("IN_PROGRESS", "IVA_PROCESSING")
DONE = ("UPLOADED",)


@dataclass
class Poll:
    """One status poll of an upload: still processing, or done with its document."""

    upload_id: str
    done: bool
    document_id: str | None
    record: Record


class Documents:
    def __init__(self, state: State) -> None:
        self.state = state

    def upload(self, scope: str, bill_id: str, name: str, content: bytes) -> str:
        """Keep an uploaded file; its upload id."""
        upload_id = self.state.new_id(UPLOADS)
        self.state.add(
            scope,
            UPLOADS,
            {"id": upload_id, "uploadId": upload_id, "billId": bill_id, "name": name},
            meta={"polls": 0, "size": len(content), "bytes": content},
            record_id=upload_id,
        )
        return upload_id

    def poll(self, scope: str, upload_id: str) -> Poll | None:
        """Count a status poll: the first says processing, later ones finish the document. None: unknown id."""
        record = self.state.record(scope, UPLOADS, upload_id)
        if record is None:
            return None
        record.meta["polls"] += 1
        if record.meta["polls"] == 1:
            return Poll(upload_id, False, None, record)
        document_id = record.data.get("documentId") or self._finish(scope, record.data["billId"], record.data["name"])
        record.data["documentId"] = document_id
        return Poll(upload_id, True, document_id, record)

    def set_status(self, poll: Poll, status: str | None) -> None:
        """The status the upload was last reported with."""
        poll.record.data["status"] = status

    def _finish(self, scope: str, bill_id: str, name: str) -> str:
        document_id = self.state.new_id(DOCUMENTS)
        now = now_iso()
        self.state.add(
            scope,
            DOCUMENTS,
            {"id": document_id, "name": name, "createdTime": now, "updatedTime": now, "archived": False},
            parents={"billId": bill_id},
            record_id=document_id,
        )
        return document_id
