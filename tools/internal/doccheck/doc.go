// Package doccheck keeps the pages under docs/ true to the tree: its test
// reads docs/architecture.md and fails when a file or package path the page
// names does not exist in the repository.
package doccheck
