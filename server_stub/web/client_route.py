"""``GET /socket.io/socket.io.js`` (and the other dist files): the browser client over HTTP.

Answered like the Node server's ``serveClient``: the same file names, ``ETag`` = the
quoted version with ``If-None-Match`` (strong or weak) answered 304, ``Cache-Control:
public, max-age=0``, JavaScript or JSON (source maps) in UTF-8, compressed when the
browser accepts it. When the file cannot be had the answer is 503 with a script that
says why and how to get it (a browser does not run a failed script, but a person opening
the URL reads it, and our own page shows it), and the server logs the same sentence.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from server_stub.web.client_bundle import CLIENT_FILES, BundleError, ClientBundle

log = logging.getLogger(__name__)


def unavailable_script(sentence: str) -> str:
    """A script that logs and throws ``sentence`` (JSON-quoted, so any text is safe)."""
    quoted = json.dumps(sentence)
    return (f"// {sentence.replace(chr(10), ' ')}\n"
            f"console.error({quoted});\n"
            f"throw new Error({quoted});\n")


class ClientRoute:
    """The request handler, bound to one :class:`ClientBundle`."""

    def __init__(self, bundle: ClientBundle) -> None:
        self.bundle = bundle

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in CLIENT_FILES:
            raise web.HTTPNotFound()
        etag = self.bundle.etag
        if request.headers.get("If-None-Match") in (etag, f"W/{etag}"):
            return web.Response(status=304, headers={"ETag": etag})
        try:
            files = await self.bundle.get()
        except BundleError as exc:
            sentence = (f"sockdesk-server cannot serve the socket.io client "
                        f"{self.bundle.version}: {exc}. To fix it, "
                        f"{self.bundle.how_to_get()}.")
            log.warning("%s", sentence)
            return web.Response(status=503, text=unavailable_script(sentence),
                                content_type="application/javascript", charset="utf-8",
                                headers={"Cache-Control": "no-store"})
        body = files.get(name)
        if body is None:  # a release without that file (older ones had fewer)
            raise web.HTTPNotFound()
        kind = "application/json" if name.endswith(".map") else "application/javascript"
        response = web.Response(body=body, content_type=kind, charset="utf-8", headers={
            "ETag": etag, "Cache-Control": "public, max-age=0"})
        response.enable_compression()
        return response
