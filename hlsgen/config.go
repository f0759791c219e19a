package hlsgen

import (
	"encoding/json"

	"swarmcast/internal/jsonconf"
)

// Config is the optional "hls" section of config.json. (Stub: the hlsgen issue fills it in.)
type Config struct{}

// DecodeConfig takes the "hls" key out of the top-level sections of config.json, decodes and
// validates it. It returns nil when the key is absent (no generator). unknown is called with
// the path of every key it does not know.
func DecodeConfig(sections map[string]json.RawMessage, unknown func(key string)) (*Config, error) {
	raw, ok := sections["hls"]
	if !ok {
		return nil, nil
	}
	delete(sections, "hls")
	var c Config
	if err := jsonconf.Decode(raw, "hls", &c, unknown); err != nil {
		return nil, err
	}
	return &c, nil
}
