// Package tencent is the tencent provider: client, signer and emulator.
package tencent
