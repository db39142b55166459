package calendar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// Overrides are days whose status differs from lunar-go's data: a year the
// library does not know yet, or a local decision (a district giving a day
// off, a schedule change announced late). Dates are "2027-01-01".
//
// A YAML file holding them looks like:
//
//	holidays: ["2028-01-03"]
//	workdays: ["2028-01-08"]
type Overrides struct {
	Holidays []string `yaml:"holidays"`
	Workdays []string `yaml:"workdays"`
}

// Validate rejects dates that do not parse as YYYY-MM-DD (including
// impossible ones such as February 30) and dates listed both as holiday and
// as workday, naming the entry so an operator can find it in the file.
func (o Overrides) Validate() error {
	seen := make(map[day]string, len(o.Holidays))
	for i, s := range o.Holidays {
		d, err := parseOverride(s)
		if err != nil {
			return fmt.Errorf("calendar: overrides: holidays[%d] %q: %w", i, s, err)
		}
		seen[d] = s
	}
	for i, s := range o.Workdays {
		d, err := parseOverride(s)
		if err != nil {
			return fmt.Errorf("calendar: overrides: workdays[%d] %q: %w", i, s, err)
		}
		if h, dup := seen[d]; dup {
			return fmt.Errorf("calendar: overrides: workdays[%d] %q is also listed in holidays as %q", i, s, h)
		}
	}
	return nil
}

// parseOverride hides time.Parse's layout-heavy message, which confuses the
// people who edit these files.
func parseOverride(s string) (day, error) {
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return 0, errors.New("not a valid YYYY-MM-DD date")
	}
	return parseDay(s)
}

// LoadOverrides reads Overrides from a YAML file and validates them. An
// empty path means no overrides, so the setting can simply be left out of
// the configuration. Unknown keys are errors because a misspelt "holiday:"
// would otherwise drop a whole list without a word.
func LoadOverrides(path string) (Overrides, error) {
	var o Overrides
	if path == "" {
		return o, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Overrides{}, fmt.Errorf("calendar: overrides: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	// An empty file (or one with only comments) is a valid "nothing yet".
	if err := dec.Decode(&o); err != nil && !errors.Is(err, io.EOF) {
		return Overrides{}, fmt.Errorf("calendar: overrides %s: %w", path, err)
	}
	if err := o.Validate(); err != nil {
		return Overrides{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return o, nil
}
