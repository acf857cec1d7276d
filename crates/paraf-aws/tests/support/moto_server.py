"""moto_server for paraf's tests, with DynamoDB requests applied one at a time.

DynamoDB applies every write to an item atomically: two concurrent `ADD next :1`
updates on one counter return 1 and 2, never 1 and 1. moto keeps its tables in
Python objects that its threaded server changes without a lock, so under load two
concurrent increments can read the same old value. paraf's atomic counters (official
numbers, the last-admin guard) rely on DynamoDB's guarantee, and their contract tests
race a hundred requests; this launcher serialises DynamoDB requests (and only those:
Step Functions calls moto's own Lambda over HTTP, which must stay concurrent) so the
tests check paraf's code against the guarantee AWS gives, not moto's race.

Usage: python moto_server.py -H 127.0.0.1 -p PORT   (the options of moto_server)
"""

import threading

import moto.server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_dynamodb = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _call(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with _dynamodb:
            # Produce the whole body inside the lock: WSGI bodies may be lazy.
            return list(_dispatch(self, environ, start_response))
    return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _call

if __name__ == "__main__":
    moto.server.main()
