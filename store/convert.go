package store

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// toInt reads an integer reply that may be missing (nil) or a string.
func toInt(v any) int64 {
	switch x := v.(type) {
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	case int64:
		return x
	}
	return 0
}

func unmarshalString(s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	return nil
}
