// Package sdktest drives `recordctl emulate` with the cloud vendors'
// official SDKs, unchanged: Node.js scripts under testdata/ (their npm
// dependencies pinned by testdata/package-lock.json) run each provider's
// lifecycle against the emulator the test starts. `make sdk-test` installs
// the dependencies with `npm ci` and runs these tests with SDKTEST=1, which
// turns a missing node or node_modules into a failure instead of a skip.
package sdktest
