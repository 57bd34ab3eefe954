//go:build js

package gpu

// In the browser the autotune results live in memory only, so each page
// load would tune again; on a software adapter (SwiftShader, the fallback
// of machines without a GPU) that costs more than it saves, and the
// heuristic choice runs untimed.
const tuneSoftware = false

func defaultTunePath() string { return "" }

func loadTuneFile(string, map[string]map[string]string) {}

func saveTuneFile(string, map[string]map[string]string) {}
