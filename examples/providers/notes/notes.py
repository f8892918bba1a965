#!/usr/bin/python3
"""notes: an example wbemd provider in Python, standard library only.

It serves Example_Note instances (notes.mof) from memory. wbemd starts it
with one end of the provider wire on file descriptor 3: frames of a 4-byte
big-endian length and a JSON message (PROVIDERS.md documents them). This
file is the whole protocol as a provider needs it: hello, get, enumerate
(and query, answered as an enumeration: wbemd filters), put, delete,
invoke, with the stream window ("more") and cancellation.
"""
import collections
import json
import socket
import struct
import sys

WIRE = socket.socket(fileno=3)
PROVIDER = "NoteProvider"
notes = {"welcome": {"Title": "welcome", "Text": "Hello from a Python provider"}}
queued = collections.deque()  # calls that arrived while a stream waited
credit = collections.Counter()  # items each stream may still send
cancelled = set()


class Fail(Exception):
    """A WBEM error to answer, e.g. Fail("WBEM_E_NOT_FOUND", "no note x")."""

    def __init__(self, status, text):
        super().__init__(text)
        self.status = status


def recv_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = WIRE.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def read():
    (n,) = struct.unpack(">I", recv_exact(4))
    return json.loads(recv_exact(n))


def send(msg):
    body = json.dumps(msg).encode()
    WIRE.sendall(struct.pack(">I", len(body)) + body)


def view(note):
    """A note as wbemd sees it: Length is computed."""
    return dict(note, Length=len(note.get("Text") or ""))


def find(keys):
    title = keys.get("Title")
    if title not in notes:
        raise Fail("WBEM_E_NOT_FOUND", "no note %r" % title)
    return notes[title]


def get(m):
    return {"instance": view(find(m["keys"]))}


def enumerate_(m):
    call = m["id"]
    credit[call] += m["window"]
    for note in list(notes.values()):
        while credit[call] == 0 and call not in cancelled:
            wait()  # for "more"; other calls wait in the queue
        if call in cancelled:
            raise Fail("WBEM_E_CALL_CANCELLED", "cancelled")
        send({"type": "instance", "id": call, "instance": view(note)})
        credit[call] -= 1
    return {}


def put(m):
    inst, title = m["instance"], m["instance"].get("Title")
    exists = title in notes
    if m.get("createOnly") and exists:
        raise Fail("WBEM_E_ALREADY_EXISTS", "note %r exists" % title)
    if m.get("updateOnly") and not exists:
        raise Fail("WBEM_E_NOT_FOUND", "no note %r" % title)
    note = dict(notes.get(title, {}))
    for name in m.get("properties") or ["Title", "Text"]:
        if name in inst:
            note[name] = inst[name]
    notes[title] = note
    return {"instance": view(note)}


def delete(m):
    del notes[find(m["keys"])["Title"]]
    return {}


def invoke(m):
    method, args = m["method"].lower(), m.get("in") or {}
    if method == "append":  # on an instance: add text, answer the length
        note = find(m["keys"])
        note["Text"] = (note.get("Text") or "") + (args.get("More") or "")
        return {"out": {"ReturnValue": 0, "Length": len(note["Text"])}}
    if method == "stats":  # static: how many notes, the longest title
        longest = max(notes, key=len, default="")
        return {"out": {"ReturnValue": 0, "Count": len(notes), "Longest": longest}}
    raise Fail("WBEM_E_METHOD_NOT_IMPLEMENTED", "no method %s" % m["method"])


CALLS = {"get": get, "enumerate": enumerate_, "query": enumerate_, "put": put, "delete": delete, "invoke": invoke}


def wait():
    """Reads one message while a stream waits for credit."""
    msg = read()
    if msg["type"] == "more":
        credit[msg["id"]] += msg["count"]
    elif msg["type"] == "cancel":
        cancelled.add(msg["id"])
    else:
        queued.append(msg)


def main():
    while True:
        try:
            msg = queued.popleft() if queued else read()
        except EOFError:
            return  # wbemd closed the wire: stop
        kind = msg.get("type")
        if kind == "hello":
            if 1 in msg.get("versions", []):
                send({"type": "hello", "version": 1, "providers": [PROVIDER]})
            else:
                send({"type": "error", "status": "WBEM_E_PROVIDER_LOAD_FAILURE", "description": "wire version 1 only"})
        elif kind in CALLS:
            try:
                answer = CALLS[kind](msg)
                answer.update(type="result", id=msg["id"])
            except Fail as f:
                answer = {"type": "error", "id": msg["id"], "status": f.status, "description": str(f)}
            except Exception as e:  # a bug here is the provider's failure, not wbemd's
                answer = {"type": "error", "id": msg["id"], "status": "WBEM_E_PROVIDER_FAILURE", "description": repr(e)}
            credit.pop(msg["id"], None)
            cancelled.discard(msg["id"])
            send(answer)
        # "more" and "cancel" for calls that are over need nothing.


if __name__ == "__main__":
    sys.exit(main())
