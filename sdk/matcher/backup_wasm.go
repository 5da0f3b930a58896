//go:build wasm

package matcher

// A plugin VM is single-threaded: the backup store needs no lock.

func loadBackup(key string) string { return ruleBackup[key] }

func storeBackup(key, ruleJSON string) { ruleBackup[key] = ruleJSON }
