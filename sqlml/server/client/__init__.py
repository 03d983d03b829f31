"""One client connection of ``sqlml serve``: start-up, authentication, then the simple and extended
query protocols.

Every failure a client can cause ends here: a SQL error becomes an ErrorResponse and the session
goes on; a protocol violation, an oversized message or a stalled read ends this connection only.
Nothing a client sends can stop the server or reach another client's session.

:class:`ClientSession` (``loop``) is the protocol state machine: its life cycle, the message loop
and the simple query protocol. Its other parts are mixed in from modules of their own: ``startup``
(TLS, the startup packet, authentication), ``extended`` (Parse, Bind, Describe, Execute, Close,
Sync), ``statements`` (running one statement: SET, SHOW and transactions answered here, the rest on
the engine; notices and DataRows); ``results`` holds what a statement produced and its command tag.
"""

from sqlml.server.client.loop import ClientSession

__all__ = ["ClientSession"]
