#!/usr/bin/python3
"""One WS-Management operation through pywinrm's low-level Protocol, for
wbemd's interop tests (run it with Debian's /usr/bin/python3, which has
python3-winrm).

usage: winrm_op.py ENDPOINT USER PASSWORD OP JSON
  OP is identify, get, put, create, delete, enumerate or invoke; JSON holds
  its arguments: uri, selectors {name: value}, props {name: value},
  method, mode ("", "epr", "objepr"), optimize (bool), max, pull, wql or cql
  (a filter), polymorphism (wsmb:PolymorphismMode).
Prints one JSON object: {"ok": true, "answers": [xml, ...]} or
{"ok": false, "error": class name, "text": message, "fault": the fault
envelope pywinrm received, when it read one}.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

import xmltodict
from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMTransportError
from winrm.protocol import Protocol

WXF = 'http://schemas.xmlsoap.org/ws/2004/09/transfer'
WSEN = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration'
NSMAP = {'n': WSEN, 'w': 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd'}


def header(p, action, uri, selectors=None):
    env = {'env:Envelope': p._get_soap_header(action=action, resource_uri=uri)}
    if selectors:
        env['env:Envelope']['env:Header']['w:SelectorSet'] = {
            'w:Selector': [{'@Name': k, '#text': v} for k, v in selectors.items()]}
    return env


def instance_body(uri, props, suffix=''):
    cls = uri.rstrip('/').split('/')[-1] + suffix
    body = {'@xmlns:p': uri}
    for k, v in props.items():
        body['p:' + k] = v
    return {'p:' + cls: body}


def run(p, op, a):
    uri = a.get('uri', '')
    if op == 'identify':
        return [p.send_message(
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
            '<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>')]
    if op in ('get', 'delete'):
        env = header(p, WXF + ('/Get' if op == 'get' else '/Delete'), uri, a.get('selectors'))
        if not a.get('nobody'):
            env['env:Envelope']['env:Body'] = {}
        return [p.send_message(xmltodict.unparse(env))]
    if op == 'put':
        env = header(p, WXF + '/Put', uri, a.get('selectors'))
        env['env:Envelope']['env:Body'] = instance_body(uri, a['props'])
        return [p.send_message(xmltodict.unparse(env))]
    if op == 'create':
        env = header(p, WXF + '/Create', uri)
        env['env:Envelope']['env:Body'] = instance_body(uri, a['props'])
        return [p.send_message(xmltodict.unparse(env))]
    if op == 'invoke':
        env = header(p, uri + '/' + a['method'], uri, a.get('selectors'))
        body = {'@xmlns:p': uri}
        for k, v in a.get('props', {}).items():
            body['p:' + k] = v
        env['env:Envelope']['env:Body'] = {'p:%s_INPUT' % a['method']: body}
        return [p.send_message(xmltodict.unparse(env))]
    if op == 'enumerate':
        env = header(p, WSEN + '/Enumerate', uri, a.get('selectors'))
        en = {}
        if a.get('optimize'):
            en['w:OptimizeEnumeration'] = None
            en['w:MaxElements'] = str(a.get('max', 1))
        mode = {'epr': 'EnumerateEPR', 'objepr': 'EnumerateObjectAndEPR'}.get(a.get('mode', ''))
        if mode:
            en['w:EnumerationMode'] = mode
        if a.get('wql'):
            en['w:Filter'] = {'@Dialect': 'http://schemas.microsoft.com/wbem/wsman/1/WQL', '#text': a['wql']}
        if a.get('cql'):
            en['w:Filter'] = {'@Dialect': 'http://schemas.dmtf.org/wbem/cql/1/dsp0202.pdf', '#text': a['cql']}
        if a.get('polymorphism'):
            env['env:Envelope']['env:Header']['b:PolymorphismMode'] = {
                '@xmlns:b': 'http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd',
                '@env:mustUnderstand': 'true', '#text': a['polymorphism']}
        env['env:Envelope']['env:Body'] = {'n:Enumerate': en or None}
        answers = [p.send_message(xmltodict.unparse(env))]
        while True:
            root = ET.fromstring(answers[-1])
            ctx = root.find('.//n:EnumerationContext', NSMAP)
            if ctx is None or not ctx.text or len(answers) > 1000:
                return answers
            env = header(p, WSEN + '/Pull', uri)
            env['env:Envelope']['env:Body'] = {'n:Pull': {'n:EnumerationContext': ctx.text,
                                                          'n:MaxElements': str(a.get('pull', 1))}}
            answers.append(p.send_message(xmltodict.unparse(env)))
    raise ValueError('unknown operation ' + op)


def main():
    endpoint, user, password, op, args = sys.argv[1:6]
    # $WBEMD_CA names the certificate of wbemd's HTTPS listener: requests
    # lets the environment's CA bundle override an unverified session, so
    # the certificate is checked rather than ignored.
    ca = os.environ.get('WBEMD_CA')
    p = Protocol(endpoint=endpoint, transport='basic' if endpoint.startswith('http:') else 'ssl',
                 username=user, password=password, message_encryption='never',
                 server_cert_validation='validate' if ca else 'ignore', ca_trust_path=ca or 'legacy_requests')
    try:
        answers = run(p, op, json.loads(args) or {})
        out = {'ok': True, 'answers': [a.decode() if isinstance(a, bytes) else a for a in answers]}
    except (InvalidCredentialsError, WinRMTransportError, WinRMError) as e:
        out = {'ok': False, 'error': type(e).__name__, 'text': str(e)}
        # pywinrm raises its WinRMError for a SOAP fault from the transport
        # error that holds the envelope.
        cause = e.__context__ if isinstance(e, WinRMError) else e
        fault = getattr(cause, 'response_text', None)
        if fault:
            out['fault'] = fault.decode() if isinstance(fault, bytes) else fault
    print(json.dumps(out))


if __name__ == '__main__':
    main()
