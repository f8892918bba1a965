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
//     <Method>_INPUT and answer <Method>_OUTPUT.
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
package wsman
