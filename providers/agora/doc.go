// Package agora is the agora provider: client, signer and emulator.
package agora
