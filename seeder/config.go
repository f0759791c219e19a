package seeder

import (
	"encoding/json"

	"swarmcast/internal/jsonconf"
)

// Config is the optional "seeder" section of config.json. (Stub: the seeder issues fills it in.)
type Config struct{}

// DecodeConfig takes the "seeder" key out of the top-level sections of config.json, decodes and
// validates it. It returns nil when the key is absent (no seeder). unknown is called with
// the path of every key it does not know.
func DecodeConfig(sections map[string]json.RawMessage, unknown func(key string)) (*Config, error) {
	raw, ok := sections["seeder"]
	if !ok {
		return nil, nil
	}
	delete(sections, "seeder")
	var c Config
	if err := jsonconf.Decode(raw, "seeder", &c, unknown); err != nil {
		return nil, err
	}
	return &c, nil
}
