// Package indication delivers the events of DMTF indication subscriptions
// (CIM_IndicationSubscription instances in the interop namespace, see
// cimom's indication model) to their CIM-XML listeners, at least once and
// in revision order, surviving a restart of wbemd.
//
// One worker runs per enabled subscription. It reads the subscription's
// events from the CIMOM's change feed (cimom.IndicationEvents) from its
// cursor, and POSTs each as an ExportIndication to the destination, one at
// a time, carrying SequenceContext and SequenceNumber. A failed export is
// retried every DeliveryRetryInterval, DeliveryRetryAttempts times; then
// the subscription's OnFatalErrorPolicy applies (Ignore keeps trying at
// the same interval with the subscription Enabled Degraded, Disable
// disables it, Remove deletes it). Only after the listener's 200 without
// ERROR is the cursor advanced; it is written to the store at most every
// 50 ms or 256 deliveries while events flow, and within a second when
// they stop, so that a kill sends again at most that much, with the same
// SequenceNumbers.
//
// The cursor is a record of its own in the store:
//
//	d 0 <ns> 0 <subscription keys>    {Context, Seq, Rev, N, Created} (JSON)
//
// Rev and N say which events were delivered (every event up to revision
// Rev, and the first N of Rev's, counted among the subscription's), Seq is
// the SequenceNumber of the next indication, Context the SequenceContext,
// Created the revision of the subscription it belongs to. The change feed
// is the buffer: nothing is queued in memory beyond the event in flight,
// so a kill of wbemd loses nothing that the feed still holds. When the
// feed no longer holds the cursor's revision, the worker logs an error,
// starts a new SequenceContext from the current revision and disables the
// subscription (SubscriptionState 4): re-enabling it delivers from there.
package indication
