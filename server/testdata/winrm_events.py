#!/usr/bin/python3
"""One WS-Eventing operation (DSP0226 §10, Pull delivery mode) as a raw
envelope sent through pywinrm's low-level Protocol, for wbemd's interop
tests (run it with Debian's /usr/bin/python3, which has python3-winrm).

usage: winrm_events.py ENDPOINT USER PASSWORD OP JSON
  OP is subscribe, pull, renew, getstatus or unsubscribe; JSON holds its
  arguments: uri, ns (the __cimnamespace selector), wql, expires, bookmark, sendbookmarks (bool),
  heartbeats, endto (where SubscriptionEnd goes), mode (a delivery mode URI; Pull by default), notifyto (the
  push modes' receiver), id (the subscription's wse:Identifier, also its
  EnumerationContext), max, maxtime.
Prints one JSON object: {"ok": true, "answer": xml} or
{"ok": false, "error": class name, "text": message}.
"""
import json
import sys

import xmltodict
from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMTransportError
from winrm.protocol import Protocol

WSE = 'http://schemas.xmlsoap.org/ws/2004/08/eventing'
WSEN = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration'
WQL = 'http://schemas.microsoft.com/wbem/wsman/1/WQL'
PULL = 'http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull'


def envelope(p, action, uri, ident=None, ns=None):
    env = {'env:Envelope': p._get_soap_header(action=action, resource_uri=uri)}
    env['env:Envelope']['@xmlns:e'] = WSE
    env['env:Envelope']['@xmlns:n'] = WSEN
    if ns:
        env['env:Envelope']['env:Header']['w:SelectorSet'] = {'w:Selector': [{'@Name': '__cimnamespace', '#text': ns}]}
    if ident:
        env['env:Envelope']['env:Header']['e:Identifier'] = {'@a:IsReferenceParameter': 'true', '#text': ident}
    return env


def run(p, op, a):
    uri = a.get('uri', '')
    if op == 'subscribe':
        env = envelope(p, WSE + '/Subscribe', uri, ns=a.get('ns'))
        delivery = {'@Mode': a.get('mode', PULL)}
        if a.get('notifyto'):
            delivery['e:NotifyTo'] = {'a:Address': a['notifyto']}
        if a.get('heartbeats'):
            delivery['w:Heartbeats'] = a['heartbeats']
        sub = {}
        if a.get('endto'):
            sub['e:EndTo'] = {'a:Address': a['endto']}
        sub['e:Delivery'] = delivery
        if a.get('expires'):
            sub['e:Expires'] = a['expires']
        sub['w:Filter'] = {'@Dialect': WQL, '#text': a['wql']}
        if a.get('sendbookmarks'):
            sub['w:SendBookmarks'] = None
        if a.get('bookmark'):
            sub['w:Bookmark'] = a['bookmark']
        env['env:Envelope']['env:Body'] = {'e:Subscribe': sub}
    elif op == 'pull':
        env = envelope(p, WSEN + '/Pull', uri)
        pull = {'n:EnumerationContext': a['id'], 'n:MaxElements': str(a.get('max', 10))}
        if a.get('maxtime'):
            pull['n:MaxTime'] = a['maxtime']
        env['env:Envelope']['env:Body'] = {'n:Pull': pull}
    elif op == 'renew':
        env = envelope(p, WSE + '/Renew', uri, a['id'])
        env['env:Envelope']['env:Body'] = {'e:Renew': {'e:Expires': a['expires']}}
    elif op == 'getstatus':
        env = envelope(p, WSE + '/GetStatus', uri, a['id'])
        env['env:Envelope']['env:Body'] = {'e:GetStatus': None}
    elif op == 'unsubscribe':
        env = envelope(p, WSE + '/Unsubscribe', uri, a['id'])
        env['env:Envelope']['env:Body'] = {'e:Unsubscribe': None}
    else:
        raise ValueError('unknown operation ' + op)
    return p.send_message(xmltodict.unparse(env))


def main():
    endpoint, user, password, op, args = sys.argv[1:6]
    p = Protocol(endpoint=endpoint, transport='basic', username=user, password=password,
                 message_encryption='never')
    try:
        answer = run(p, op, json.loads(args) or {})
        out = {'ok': True, 'answer': answer.decode() if isinstance(answer, bytes) else answer}
    except (InvalidCredentialsError, WinRMTransportError, WinRMError) as e:
        out = {'ok': False, 'error': type(e).__name__, 'text': str(e)}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
