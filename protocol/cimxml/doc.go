// Package cimxml is wbemd's CIM-XML front door (DMTF DSP0200 operations
// over HTTP, DSP0201 encoding): it decodes a request, makes one cimom
// call, and encodes the answer. It re-checks no repository rule: cimom
// does. It also holds the codec of the client (package client):
// RequestWriter writes a method call, ReadAnswer reads the answer as it
// arrives.
//
// The door is built in three layers, one concept per file:
//
//   - the codec, pure (no cimom, no net/http) and fuzzed: tree.go and
//     scan.go read XML into a tree of elements with positions; message.go
//     reads the MESSAGE into a request (method, namespace, parameters) and
//     checks it against the CIM headers; decode.go decodes DSP0201
//     elements (values, objects, paths); params.go decodes the typed
//     request of each operation, with DSP0200's defaults; encode.go
//     writes objects, results and answers; errors.go holds the one table
//     from WBEM statuses to CIM_ERR_* codes and writes ERROR elements.
//   - the op table (ops.go): an op per intrinsic method, made by
//     intrinsic(decode, run) from the typed request's decoder and a run
//     function that makes one cimom call and hands its results to the
//     writer; pull.go holds the pull operations and their open
//     enumerations, invoke.go the extrinsic method calls. The table's
//     names are the operations Door declares.
//   - the transport (transport.go): the HTTP rules of DSP0200 (methods,
//     headers, CIMError), and the answer, buffered or, past a threshold,
//     streamed with its status in trailers.
//
// To add an intrinsic method: declare its typed request and decoder in
// params.go (reading parameters with request's param, boolParam,
// stringParam and propertyList, failing with requestError), write its run
// function (ops.go, or a file of its own for a family of operations), and
// add intrinsic(decode, run) to ops under the method's name. An error a
// run function returns becomes the ERROR element (writeError).
//
// export.go is a second door: the CIM-XML export listener (indications
// delivered to wbemd).
package cimxml
