"""Bill document upload and its status polls: read the request, ask :class:`~..documents.Documents`, answer."""

from __future__ import annotations

from typing import Any

from bill_sdk.testing.bdc import missing
from bill_sdk.testing.documents import DONE, PROCESSING, Documents
from bill_sdk.testing.handlers.answers import Answers
from bill_sdk.testing.handlers.call import Call, Handler
from bill_sdk.testing.reply import Reply
from bill_sdk.testing.resources import Resources
from bill_sdk.testing.vocabulary import Vocabulary


class DocumentHandlers:
    def __init__(self, documents: Documents, resources: Resources, vocabulary: Vocabulary, answers: Answers) -> None:
        self.documents = documents
        self.resources = resources
        self.vocabulary = vocabulary
        self.answers = answers

    def routes(self) -> dict[str, Handler]:
        return {"uploadBillDocument": self.upload_bill_document, "getDocumentUploadStatus": self.upload_status}

    async def upload_bill_document(self, call: Call) -> Reply:
        self.resources.check_parents(call.scope, call.parents(), call.op.family)
        if not call.raw_body:
            raise missing("file")
        name = call.params.get("name") or call.query.get("name")
        if not name:
            raise missing("name")
        upload_id = self.documents.upload(call.scope, call.path_params.get("billId", ""), name, call.raw_body)
        return self.answers.respond(call.op, {"id": upload_id})

    async def upload_status(self, call: Call) -> Reply:
        wanted: list[str] = []
        for name, value in call.query.items():
            if name in ("max", "page"):
                continue
            wanted.extend(v.strip() for v in str(value).split(",") if v.strip())
        answer: list[dict[str, Any]] = []
        for upload_id in wanted:
            poll = self.documents.poll(call.scope, upload_id)
            if poll is None:
                continue
            status = self.vocabulary.item_value(call.op, "status", DONE if poll.done else PROCESSING)
            self.documents.set_status(poll, status)
            entry: dict[str, Any] = {"uploadId": upload_id}
            if poll.done:
                entry["documentId"] = poll.document_id
            if status:
                entry["status"] = status
            answer.append(entry)
        return self.answers.respond(call.op, answer)
