package hlsgen

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// Sentinel errors for missing external dependencies; New wraps them with the remedy.
var (
	// ErrFFmpegMissing means the ffmpeg program could not be found.
	ErrFFmpegMissing = errors.New("ffmpeg not found")
	// ErrFontMissing means the font file for the burned-in clock does not exist.
	ErrFontMissing = errors.New("font file not found")
)

// checkTools resolves the ffmpeg program and checks the clock font, returning errors that
// say which Debian package to install.
func checkTools(cfg *Config) (ffmpeg string, err error) {
	ffmpeg, err = exec.LookPath(cfg.FFmpegPath)
	if err != nil {
		return "", fmt.Errorf("hls.ffmpegPath: %w: %q (%v); install it with `apt-get install ffmpeg` (Debian package ffmpeg) or set hls.ffmpegPath",
			ErrFFmpegMissing, cfg.FFmpegPath, err)
	}
	if *cfg.Clock {
		st, err := os.Stat(cfg.FontFile)
		if err != nil || !st.Mode().IsRegular() {
			return "", fmt.Errorf("hls.fontFile: %w: %s; install it with `apt-get install fonts-dejavu-core` (Debian package fonts-dejavu-core), set hls.fontFile to another .ttf, or set hls.clock to false",
				ErrFontMissing, cfg.FontFile)
		}
	}
	return ffmpeg, nil
}
