//go:build !linux

// Package epoll is Linux-only; elsewhere it is empty and its users fall back to goroutines.
package epoll
