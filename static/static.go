// Package static holds the web client's files, embedded in the binary so an instance serves
// them with nothing else installed.
package static

import (
	"embed"
	"io/fs"
)

//go:embed web
var files embed.FS

// Files is the web client's document root.
func Files() fs.FS {
	sub, err := fs.Sub(files, "web")
	if err != nil {
		panic("static: embedded web directory missing: " + err.Error()) // a build without it cannot serve anything
	}
	return sub
}
