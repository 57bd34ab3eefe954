//go:build js

package gpu

// In the browser the autotune results live in memory only.

func defaultTunePath() string { return "" }

func loadTuneFile(string, map[string]map[string]string) {}

func saveTuneFile(string, map[string]map[string]string) {}
