// Package httpstack is the chain of HTTP filters in front of every wbemd
// front door (CIM-XML, WS-Management, the indication listener): written
// once, so that a door decodes a request, makes its call and encodes the
// answer, and never authenticates, limits, times, logs or counts anything
// itself.
//
// The filters are ordinary wrappers, in the style of
// http.MaxBytesHandler:
//
//   - Observer.Observe gives each request a Record (its id, returned in
//     the X-Request-Id header), and when the door is done writes one access
//     log line and updates the request metrics;
//   - Authenticate puts the caller into the Record, or answers 401;
//   - Timeout bounds the time an operation may run;
//   - MaxBytes bounds the request body.
//
// Stack composes them in that order. A door reads the caller with
// PrincipalFrom and tells the filters what it did through the Record
// (SetOperation, Fail), so that logging and counting happen once, outside
// the door.
package httpstack
