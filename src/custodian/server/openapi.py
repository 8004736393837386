"""The API's OpenAPI 3.1 document, served at `/v1/openapi.json` (docs/server.md)."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "description": "An error: its type is one of custodian's error classes, `exit` the"
    " exit code the CLI gives it",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_ERRORS = {str(status): _ERROR for status in (400, 401, 403, 404, 409, 413, 500, 503)}


def _post(summary: str, request: dict[str, Any], answer: dict[str, Any], auth: bool) -> Any:
    return {
        "post": {
            "summary": summary,
            "security": [{"bearer": []}] if auth else [],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object", **request}}},
            },
            "responses": {
                "200": {
                    "description": "done",
                    "content": {"application/json": {"schema": {"type": "object", **answer}}},
                },
                **_ERRORS,
            },
        }
    }


def _props(*names: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "properties": {n: {} for n in names},
        "required": list(required),
    }


_REVEAL = ("path", "field", "reason", "version", "action")  # action: "reveal" or "copy"
_SIGNED = ("path", "lease", "at", "head", "signature")
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "custodian server", "version": "1"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {
                            "type": {"type": "string"},
                            "exit": {"type": "integer"},
                            "message": {"type": "string"},
                        },
                        "required": ["type", "exit", "message"],
                    }
                },
                "required": ["error"],
            }
        },
    },
    "paths": {
        "/health": {
            "get": {
                "summary": "the process answers",
                "responses": {"200": {"description": '{"status": "ok"}'}},
            }
        },
        "/ready": {
            "get": {
                "summary": "the database answers and the log has its head",
                "responses": {
                    "200": {"description": '{"status": "ready"}'},
                    "503": {"description": '{"status": "not ready", "why": ...}'},
                },
            }
        },
        "/v1/login/key": _post(
            "the member's passphrase-locked key bundle, for the challenge signed with the"
            " login key the passphrase derives from the lock's header (`proof`)",
            _props("user", "challenge", "proof", required=("user",)),
            _props("technician_id", "locked"),
            auth=False,
        ),
        "/v1/login/challenge": _post(
            "a challenge to sign, and the header of the account's lock (`lock`: salt and"
            " key-derivation parameters) with its id",
            _props("user", required=("user",)),
            _props("challenge", "vault_id", "technician_id", "lock"),
            auth=False,
        ),
        "/v1/login/verifier": _post(
            "keep the passphrase's verifier (the login key's public half, signed with the"
            " member's own key) for an account that has none",
            _props("login_key", "signature", required=("login_key", "signature")),
            _props("kept"),
            auth=True,
        ),
        "/v1/login/failed": _post(
            "a passphrase that did not open the member's bundle (counted and logged)",
            _props("user", required=("user",)),
            _props(),
            auth=False,
        ),
        "/v1/login": _post(
            "a session token for a signed challenge",
            _props("user", "challenge", "signature", required=("user", "challenge", "signature")),
            _props("token", "expires_in", "technician_id"),
            auth=False,
        ),
        "/v1/customers": {
            "get": {
                "summary": "the customers the member may see",
                "security": [{"bearer": []}],
                "responses": {"200": {"description": "customers"}, **_ERRORS},
            }
        },
        "/v1/log": {
            "get": {
                "summary": "the access log from event `from` (at most 2000), and its head",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "from", "in": "query", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {"200": {"description": "events and head"}, **_ERRORS},
            }
        },
        "/v1/reveal/prepare": _post(
            "check a reveal; the event to sign and the log since the client's head",
            _props(*_REVEAL, "from", required=("path", "from")),
            _props("lease", "events", "head", "at", "target", "refused"),
            auth=True,
        ),
        "/v1/reveal": _post(
            "append the signed reveal event, then return the sealed version and its wrap",
            _props(*_REVEAL, "lease", "at", "head", "signature", required=_SIGNED),
            _props("target", "sealed"),
            auth=True,
        ),
        "/v1/reveal/refused": _post(
            "append the signed access event of a refused reveal; answers with the refusal",
            _props(*_REVEAL, "lease", "at", "head", "signature", required=_SIGNED),
            _props(),
            auth=True,
        ),
        "/v1/write/prepare": _post(
            "check a new version; the customer key to seal to, the current version for a"
            " reader who keeps its other fields, the log since the client's head",
            _props("path", "expected_version", "from", required=("path", "from")),
            _props("lease", "events", "head", "at", "target", "refused"),
            auth=True,
        ),
        "/v1/write": _post(
            "append the signed event and store the sealed version, in one transaction",
            _props(
                "path",
                "expected_version",
                "lease",
                "at",
                "head",
                "signature",
                "version",
                "fields",
                "sealed",
                required=(
                    "path",
                    "lease",
                    "at",
                    "head",
                    "signature",
                    "version",
                    "fields",
                    "sealed",
                ),
            ),
            _props("version"),
            auth=True,
        ),
        "/v1/write/refused": _post(
            "append the signed access event of a refused write; answers with the refusal",
            _props("path", "expected_version", "lease", "at", "head", "signature"),
            _props(),
            auth=True,
        ),
        "/v1/system/prepare": _post(
            "check a system to add (`system add`); where its event goes",
            _props("path", "kind", "notes", "target", "from", required=("path", "kind", "from")),
            _props("lease", "events", "head", "at", "customer_id", "refused"),
            auth=True,
        ),
        "/v1/system": _post(
            "append the signed `system-add` event and add the system",
            _props("path", "kind", "notes", "target", "lease", "at", "head", "signature"),
            _props("system"),
            auth=True,
        ),
        "/v1/system/refused": _post(
            "append the signed event of a refused `system add`; answers with the refusal",
            _props("path", "kind", "notes", "target", "lease", "at", "head", "signature"),
            _props(),
            auth=True,
        ),
        "/v1/credentials": _post(
            "a page of the credentials the member may see (metadata), or one customer's",
            _props("customer", "from", "after", "limit", "retired", required=("from",)),
            _props("credentials", "next", "lease", "events", "head", "at", "refused"),
            auth=True,
        ),
        "/v1/credentials/refused": _post(
            "append the signed event of a refused listing; answers with the refusal",
            _props("customer", "lease", "at", "head", "signature"),
            _props(),
            auth=True,
        ),
        "/v1/credential": _post(
            "a credential's versions (`what`: history) or details (show), with the log up to"
            " the head it was read at; who can open it is the client's to build",
            _props("what", "path", "from", required=("what", "path", "from")),
            _props(
                "events",
                "head",
                "at",
                "customer_id",
                "credential_id",
                "detail",
                "lease",
                "refused",
            ),
            auth=True,
        ),
        "/v1/credential/refused": _post(
            "append the signed event of a refused `cred history|show`; answers with the refusal",
            _props("what", "path", "lease", "at", "head", "signature"),
            _props(),
            auth=True,
        ),
        "/v1/edit/prepare": _post(
            "make a change (`kind`: credential or system) and undo it: the event to sign",
            _props("path", "kind", "change", "from", required=("path", "kind", "change", "from")),
            _props("lease", "events", "head", "at", "event", "refused"),
            auth=True,
        ),
        "/v1/edit": _post(
            "make the change and append its signed event; answers with the path after it",
            _props("path", "kind", "change", "lease", "at", "head", "signature"),
            _props("path"),
            auth=True,
        ),
        "/v1/edit/refused": _post(
            "append the signed event of a refused change; answers with the refusal",
            _props("path", "kind", "change", "lease", "at", "head", "signature"),
            _props(),
            auth=True,
        ),
        "/v1/delete/prepare": _post(
            "delete a credential or a system (admins) and undo it: the event to sign, with"
            " its key-directory changes",
            _props("path", "from", required=("path", "from")),
            _props("lease", "events", "head", "at", "event", "refused"),
            auth=True,
        ),
        "/v1/delete": _post(
            "delete, append the signed event, shred; answers with what was destroyed",
            _props("path", "lease", "at", "head", "signature"),
            _props("destroyed"),
            auth=True,
        ),
        "/v1/delete/refused": _post(
            "append the signed event of a refused deletion; answers with the refusal",
            _props("path", "lease", "at", "head", "signature"),
            _props(),
            auth=True,
        ),
        "/v1/log/verify": _post(
            "where an auditor's verification goes (after their client verified the log)",
            _props("from", required=("from",)),
            _props("lease", "events", "head", "at", "refused"),
            auth=True,
        ),
        "/v1/log/verified": _post(
            "append the signed `log-verify` event",
            _props("ok", "through", "lease", "at", "head", "signature"),
            _props(),
            auth=True,
        ),
        "/v1/log/verify/refused": _post(
            "append the signed event of a refused verification; answers with the refusal",
            _props("lease", "at", "head", "signature"),
            _props(),
            auth=True,
        ),
        "/v1/log/review/check": _post(
            "whether a review of the log (`log`, `log report`, `log alerts`) is allowed;"
            " refused, the refusal for the client to sign (the client reviews the log it"
            " fetched from /v1/log and verified itself)",
            _props("action", "customer", "from", required=("action", "from")),
            _props("customer", "lease", "events", "head", "at", "refused"),
            auth=True,
        ),
        "/v1/log/review/prepare": _post(
            "where a report's or an alerts run's event goes",
            _props("action", "customer", "alerts", "from", required=("action", "from")),
            _props("lease", "events", "head", "at", "refused"),
            auth=True,
        ),
        "/v1/log/reviewed": _post(
            "append the signed `log-report` or `log-alerts` event",
            _props("action", "customer", "alerts", "lease", "at", "head", "signature"),
            _props(),
            auth=True,
        ),
        "/v1/log/review/refused": _post(
            "append the signed event of a refused review; answers with the refusal",
            _props("action", "customer", "lease", "at", "head", "signature"),
            _props(),
            auth=True,
        ),
        "/v1/lease/release": _post(
            "a prepared signer that will not commit frees the signing slot",
            _props("lease", required=("lease",)),
            _props(),
            auth=True,
        ),
    },
}
