// Package aliyun is the aliyun provider: client, signer and emulator.
package aliyun
