// Package daemon is `recordctl run`: a long-running reconciler next to a
// spec directory. It reconciles at start and then sleeps until the earliest
// of the next window edge (computed from the documents, never polled), a
// change under the directory (fsnotify, debounced), the resync tick, or an
// explicit Trigger (SIGHUP).
//
// Safety rules, in the order they apply:
//   - A file that stops parsing or validating keeps its last valid version
//     in force (see docs.go for how Build errors are attributed to files).
//   - While any document has an error, no task is stopped or deleted
//     because its documents vanished (plan actions with Removed set).
//   - A plan whose Removed stops and deletes exceed half of the live
//     managed tasks has those actions held back (the rest is applied) until
//     the documents come back or Config.AllowMassStop is set.
//   - On shutdown no new action starts; calls under way finish within
//     Config.Grace; recordings are never stopped because the daemon exits.
//
// Open recordings of command providers that cannot be observed are
// re-asserted (engine Finish) at start, on the resync tick and on Trigger,
// not at every window edge or file change.
//
// /healthz, /readyz and /metrics are served on Config.Listen.
package daemon
