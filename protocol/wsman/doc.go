// Package wsman serves WS-Management (DSP0226) at /wsman: the WS-Man door
// of wbemd, for WinRM-style clients (pywinrm, wsl, openwsman, PowerShell's
// CIM cmdlets).
//
// It answers SOAP 1.2 envelopes (and SOAP 1.1 ones, in kind) with Basic
// authentication checked before anything is decoded:
//
//   - Identify (wsmid), anonymous only when the Handler allows it;
//   - WS-Transfer Get, Put (whole instance, a subset of properties, or a
//     FragmentTransfer/XmlFragment), Create (ResourceCreated with an EPR)
//     and Delete;
//   - WS-Enumeration Enumerate, Pull and Release, optimized or not, with
//     MaxElements, MaxEnvelopeSize (wsman:EncodingLimit when one item does
//     not fit), OperationTimeout, the EnumerateEPR and EnumerateObjectAndEPR
//     modes and enumeration contexts that expire; filters in WQL, the
//     DSP0227 selector filter and the DSP0227 association filter;
//   - custom actions (<ResourceURI>/<Method>) that invoke CIM methods with
//     <Method>_INPUT and answer <Method>_OUTPUT;
//   - WS-Eventing Subscribe in the Pull, Push, PushWithAck and Events
//     delivery modes, with bookmarks (the store revision), the earliest
//     bookmark and heartbeats; Renew, GetStatus and Unsubscribe
//     (eventing.go, push.go); kept in the repository with a cursor, so
//     that they survive a restart of wbemd (durable.go).
//
// Resource URIs come in the DMTF style
// (http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Class, the namespace
// in the __cimnamespace selector), the WMI style
// (http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Class), the
// all-classes URI http://schemas.dmtf.org/wbem/wscim/1/* for filtered
// enumerations, and any other base whose last path segment names the class.
//
// Like every wbemd door, the package only decodes a request, calls
// cimom.Services and encodes the answer; every WMI rule stays in cimom.
// Failures are *cim.Error values whose WBEM status becomes a SOAP fault
// through one table (faults.go). Enumerations are streamed: each Pull
// writes its items as the enumerator produces them.
//
// The door is built in three layers, one concept per file:
//
//   - the codec: xml.go and fast.go read XML into a tree of elements;
//     envelope.go reads the SOAP envelope and its WS-Addressing and WS-Man
//     headers (pure and fuzzed, as is params.go, which decodes the typed
//     request of the actions whose body needs no schema); uri.go reads
//     resource URIs; decode.go reads instances, parameters and selectors
//     as their class types them; encode.go writes answers and WS-CIM
//     objects; faults.go holds the fault table; duration.go xs:duration.
//   - the op table (ops.go), keyed by wsa:Action URI: each op is made by
//     answered (an answer in one piece, held to the envelope limit) or
//     streamed (the action writes its answer) from the decoder of its
//     typed request and a run function; the op says whether the action
//     addresses a resource, whose namespace is then opened for the caller
//     (request.svc). Identify (identify.go) and the custom method actions
//     (invoke.go) are found by their body and their URI. transfer.go
//     serves WS-Transfer, enum.go WS-Enumeration.
//   - the transport (transport.go): POST, the envelope limits, the
//     operation timeout, and faults as answers.
//
// To add an action: declare its action URI beside the others (envelope.go),
// its typed request and decoder in params.go (failing with newFault),
// and its run function as a Handler method in a file for its protocol;
// then add answered(op{name: ..., resource: ...}, decode, (*Handler).run)
// to ops under the action URI. The op's name is the operation's in logs
// and metrics; Door declares it. A header the action acts on goes to
// envelope.go's understood set (or is read there).
package wsman
