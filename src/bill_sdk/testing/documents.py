"""Bill documents: raw-bytes upload, then asynchronous processing observed through the upload status.

``uploadBillDocument`` answers a temporary upload id (``0du...``). The first status poll of that id reports it
still processing (IN_PROGRESS); the next reports UPLOADED with the finished document's id (``00h...``), which
from then on is listed under the bill and readable with ``getDocument``.
"""

from __future__ import annotations

from typing import Any

from bill_sdk.testing.bdc import missing
from bill_sdk.testing.calls import Call, Reply
from bill_sdk.testing.schemas import now_iso

UPLOADS = "documents/uploads"
DOCUMENTS = "documents/bills"
PROCESSING = ("IN_PROGRESS", "IVA_PROCESSING")
DONE = ("UPLOADED",)


async def upload_bill_document(call: Call) -> Reply:
    engine = call.fake.engine
    engine.check_parents(call)
    if not call.raw_body:
        raise missing("file")
    name = call.params.get("name") or call.query.get("name")
    if not name:
        raise missing("name")
    upload_id = call.fake.state.new_id(UPLOADS)
    bill_id = call.path_params.get("billId", "")
    call.fake.state.add(
        call.scope,
        UPLOADS,
        {"id": upload_id, "uploadId": upload_id, "billId": bill_id, "name": name},
        meta={"polls": 0, "size": len(call.raw_body), "bytes": call.raw_body},
        record_id=upload_id,
    )
    return engine.respond(call, {"id": upload_id})


async def upload_status(call: Call) -> Reply:
    engine = call.fake.engine
    state = call.fake.state
    wanted: list[str] = []
    for name, value in call.query.items():
        if name in ("max", "page"):
            continue
        wanted.extend(v.strip() for v in str(value).split(",") if v.strip())
    answer: list[dict[str, Any]] = []
    for upload_id in wanted:
        record = state.record(call.scope, UPLOADS, upload_id)
        if record is None:
            continue
        record.meta["polls"] += 1
        entry: dict[str, Any] = {"uploadId": upload_id}
        if record.meta["polls"] == 1:
            status = _first_allowed(call, PROCESSING)
        else:
            status = _first_allowed(call, DONE)
            document_id = record.data.get("documentId") or _finish(call, record.data)
            record.data["documentId"] = document_id
            entry["documentId"] = document_id
        if status:
            entry["status"] = status
        record.data["status"] = status
        answer.append(entry)
    return engine.respond(call, answer)


def _first_allowed(call: Call, wanted: tuple[str, ...]) -> str | None:
    schema = call.op.response_schema()
    tools = call.fake.engine.tools
    item = tools.items(schema) if schema is not None else None
    prop = tools.property_schema(item, "status") if item is not None else None
    allowed = tools.enum(prop) if prop is not None else None
    if allowed is None:
        return wanted[0]
    if wanted[0] not in allowed:
        note = f"{call.op.operation_id} status: the spec's enum {allowed} lacks {wanted[0]!r}"
        if note not in call.fake.spec_gaps:
            call.fake.spec_gaps.append(note)
    return next((value for value in wanted if value in allowed), None)


def _finish(call: Call, upload: dict[str, Any]) -> str:
    state = call.fake.state
    document_id = state.new_id(DOCUMENTS)
    now = now_iso()
    state.add(
        call.scope,
        DOCUMENTS,
        {"id": document_id, "name": upload["name"], "createdTime": now, "updatedTime": now, "archived": False},
        parents={"billId": upload["billId"]},
        record_id=document_id,
    )
    return document_id


HANDLERS = {"uploadBillDocument": upload_bill_document, "getDocumentUploadStatus": upload_status}
