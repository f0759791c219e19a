package tracker

import (
	"encoding/json"
)

// Config is wt-tracker's configuration: the top-level keys servers, tracker and
// websocketsAccess. (Stub: the tracker issue fills it in.)
type Config struct{}

// DecodeConfig takes the tracker's top-level keys out of sections, decodes and validates them.
func DecodeConfig(sections map[string]json.RawMessage, unknown func(key string)) (Config, error) {
	return Config{}, nil
}
