//go:build !wasm

package matcher

import "sync"

// Native tests may parse configurations from several goroutines, so the
// backup store is locked outside WebAssembly.
var ruleBackupMu sync.Mutex

func loadBackup(key string) string {
	ruleBackupMu.Lock()
	defer ruleBackupMu.Unlock()
	return ruleBackup[key]
}

func storeBackup(key, ruleJSON string) {
	ruleBackupMu.Lock()
	defer ruleBackupMu.Unlock()
	ruleBackup[key] = ruleJSON
}
