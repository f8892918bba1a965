// Package rest is wbemd's JSON door: the repository as resources under
// /api/v1/, in the JSON form of package cim/cimjson, for the web console
// and for scripts.
//
// Like the other doors it decodes a request, makes one cimom.Services
// call and encodes the answer; authentication, limits, timeouts, logging
// and metrics are the filters of internal/httpstack. The resources:
//
//	GET    /api/v1/namespaces                                   namespaces the caller may enter
//	GET    /api/v1/namespaces/{ns}/rights                       the caller's rights there
//	GET    /api/v1/namespaces/{ns}/classes?superclass=C         immediate subclasses (the class tree)
//	GET    /api/v1/namespaces/{ns}/classes/{class}              a class (?format=mof: its MOF text)
//	GET    /api/v1/namespaces/{ns}/classes/{class}/instances    a page of instances (?limit=, ?after=)
//	POST   /api/v1/namespaces/{ns}/classes/{class}/instances    create an instance
//	POST   /api/v1/namespaces/{ns}/classes/{class}/methods/{m}  call a static method
//	GET    /api/v1/namespaces/{ns}/instances/{path}             an instance, with its ETag
//	PUT    /api/v1/namespaces/{ns}/instances/{path}             PutInstance (?mode=, ?properties=)
//	PATCH  /api/v1/namespaces/{ns}/instances/{path}             update the properties given
//	DELETE /api/v1/namespaces/{ns}/instances/{path}             delete
//	POST   /api/v1/namespaces/{ns}/instances/{path}/methods/{m} call a method
//	GET    /api/v1/namespaces/{ns}/query?q=WQL                  a query's results and plan
//	GET    /api/v1/providers                                    the providers' state
//	GET    /api/v1/openapi.json                                 the OpenAPI 3 description
//
// {ns} and {path} are single path segments: "/" in them is escaped
// (root%2Fcimv2). Every instance carries its version (the store revision
// that last wrote it) in the ETag header and in its "__VERSION" member; a
// write with If-Match is refused with 412 and WBEM_E_TRANSACTION_CONFLICT
// when the instance changed meanwhile. Errors are JSON objects with the
// WBEM status, its name, the message and the extended status.
//
// Browsers: an unsafe request (POST, PUT, PATCH, DELETE) must carry the
// header X-WBEM-Client (any value), which a page of another origin cannot
// send without a CORS preflight that this door never grants, and an
// Origin header, when sent, must be the door's own. A request carrying
// X-WBEM-Client is answered 401 without a Basic challenge, so that a page
// asks for credentials itself rather than the browser's dialog.
package rest
