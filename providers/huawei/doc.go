// Package huawei is the huawei provider: client, signer and emulator.
package huawei
